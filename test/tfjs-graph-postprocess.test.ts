import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../src/analysis/index.js';
import { UserError } from '../src/errors.js';
import { decodeWeights, tfjsArtifactsToGraph, type ModelJson, type TfjsArtifacts } from '../src/tfjs-graph/index.js';
import { maxAbsDiff, runInOrt, runInTfjs } from './tfjs-helpers.js';

type Attr = Record<string, unknown>;
interface Weight {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  values: number[];
}

/** A graph-model in memory: nodes as the TF.js converter writes them, constants from `weights`. */
function graphModel(source: string, nodes: { name: string; op: string; input?: string[]; attr?: Attr }[], weights: Weight[]): TfjsArtifacts {
  const constNodes = weights.map((w) => ({ name: w.name, op: 'Const', attr: { value: { tensor: { dtype: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } }, dtype: { type: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } }));
  const manifest = [{ paths: ['w'], weights: weights.map(({ name, dtype, shape }) => ({ name, dtype, shape })) }];
  const weightData = new Uint8Array(Buffer.concat(weights.map((w) => Buffer.from((w.dtype === 'int32' ? Int32Array.from(w.values) : Float32Array.from(w.values)).buffer))));
  const modelJson = { format: 'graph-model', modelTopology: { node: [...constNodes, ...nodes], versions: { producer: 1 } }, weightsManifest: manifest } as unknown as ModelJson;
  return { source, modelJson, weights: decodeWeights(manifest as never, weightData, source), weightData };
}

const F = { T: { type: 'DT_FLOAT' } };
const I = { T: { type: 'DT_INT32' } };
const scalarInt = (name: string, v: number): Weight => ({ name, dtype: 'int32', shape: [], values: [v] });

/**
 * Keypoint/box decoding as trained models end: x [2, 4, 4, 3] (NHWC) → Prelu (per-channel slope)
 * → AddN → SquaredDifference → Reshape [2, 48] → ArgMax, TopKV2 (values and indices), integer
 * FloorDiv/FloorMod (on negative values too), Cast int→float and bool→float, Equal, Pack, Unpack
 * (reading its second and third outputs), ExpandDims, GatherV2, GatherNd on the image tensor,
 * ConcatV2 with a constant part: one [2, 17] output.
 */
function decodingModel(): TfjsArtifacts {
  const nodes = [
    { name: 'x', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '2' }, { size: '4' }, { size: '4' }, { size: '3' }] } }, dtype: { type: 'DT_FLOAT' } } },
    { name: 'prelu', op: 'Prelu', input: ['x', 'alpha'], attr: F },
    { name: 'addn', op: 'AddN', input: ['prelu', 'x', 'prelu'], attr: { ...F, N: { i: '3' } } },
    { name: 'sqd', op: 'SquaredDifference', input: ['addn', 'x'], attr: F },
    { name: 'flat', op: 'Reshape', input: ['sqd', 'flatShape'], attr: { ...F, Tshape: { type: 'DT_INT32' } } },
    { name: 'am', op: 'ArgMax', input: ['flat', 'one'], attr: { ...F, Tidx: { type: 'DT_INT32' }, output_type: { type: 'DT_INT32' } } },
    { name: 'shifted', op: 'Sub', input: ['am', 'offset'], attr: I },
    { name: 'fd', op: 'FloorDiv', input: ['shifted', 'seven'], attr: I },
    { name: 'fm', op: 'FloorMod', input: ['shifted', 'seven'], attr: I },
    { name: 'fdf', op: 'Cast', input: ['fd'], attr: { SrcT: { type: 'DT_INT32' }, DstT: { type: 'DT_FLOAT' } } },
    { name: 'fmf', op: 'Cast', input: ['fm'], attr: { SrcT: { type: 'DT_INT32' }, DstT: { type: 'DT_FLOAT' } } },
    { name: 'packed', op: 'Pack', input: ['fdf', 'fmf'], attr: { ...F, N: { i: '2' }, axis: { i: '1' } } },
    { name: 'top', op: 'TopKV2', input: ['flat', 'three'], attr: { ...F, sorted: { b: true } } },
    { name: 'cols', op: 'Unpack', input: ['top'], attr: { ...F, num: { i: '3' }, axis: { i: '1' } } },
    { name: 'second', op: 'ExpandDims', input: ['cols:1', 'minusOne'], attr: { ...F, Tdim: { type: 'DT_INT32' } } },
    { name: 'third', op: 'ExpandDims', input: ['cols:2', 'minusOne'], attr: { ...F, Tdim: { type: 'DT_INT32' } } },
    { name: 'gathered', op: 'GatherV2', input: ['flat', 'top:1', 'one'], attr: { Tparams: { type: 'DT_FLOAT' }, Tindices: { type: 'DT_INT32' }, Taxis: { type: 'DT_INT32' }, batch_dims: { i: '0' } } },
    { name: 'gatheredFlat', op: 'Reshape', input: ['gathered', 'gatheredShape'], attr: { ...F, Tshape: { type: 'DT_INT32' } } },
    { name: 'gnd', op: 'GatherNd', input: ['x', 'ndIndices'], attr: { Tparams: { type: 'DT_FLOAT' }, Tindices: { type: 'DT_INT32' } } },
    { name: 'isZero', op: 'Equal', input: ['fm', 'zero'], attr: I },
    { name: 'isZeroF', op: 'Cast', input: ['isZero'], attr: { SrcT: { type: 'DT_BOOL' }, DstT: { type: 'DT_FLOAT' } } },
    { name: 'isZeroCol', op: 'ExpandDims', input: ['isZeroF', 'minusOne'], attr: { ...F, Tdim: { type: 'DT_INT32' } } },
    { name: 'out', op: 'ConcatV2', input: ['packed', 'second', 'third', 'gatheredFlat', 'gnd', 'isZeroCol', 'bias', 'one'], attr: { ...F, N: { i: '7' }, Tidx: { type: 'DT_INT32' } } },
  ];
  return graphModel('decoding-model', nodes, [
    { name: 'alpha', dtype: 'float32', shape: [3], values: [0.1, -0.5, 2] },
    { name: 'flatShape', dtype: 'int32', shape: [2], values: [2, 48] },
    scalarInt('one', 1),
    scalarInt('offset', 30),
    scalarInt('seven', 7),
    scalarInt('three', 3),
    scalarInt('minusOne', -1),
    scalarInt('zero', 0),
    { name: 'gatheredShape', dtype: 'int32', shape: [2], values: [2, 6] },
    // GatherNd over [N, H, W, C] by (n, h, w): two channel vectors, [2, 3].
    { name: 'ndIndices', dtype: 'int32', shape: [2, 3], values: [0, 1, 2, 1, 3, 0] },
    { name: 'bias', dtype: 'float32', shape: [2, 3], values: [1, 2, 3, 4, 5, 6] },
  ]);
}

describe('TF.js post-processing operators', () => {
  it('decode like TF.js: ArgMax, TopKV2, integer FloorDiv/FloorMod, casts, Pack/Unpack, gathers, AddN, Prelu, SquaredDifference', async () => {
    const art = decodingModel();
    const graph = tfjsArtifactsToGraph(art);
    const ops = new Set(graph.nodes.map((n) => n.op));
    for (const op of ['PRelu', 'ArgMax', 'TopK', 'Gather', 'GatherND', 'Mod', 'Cast', 'Equal', 'Split', 'Unsqueeze']) assert.ok(ops.has(op), `${op} in ${[...ops].join(' ')}`);
    assert.deepEqual(graph.outputs[0]!.type.shape, [2, 17]);
    let negativeQuotients = 0;
    for (const seed of [1, 2, 3]) {
      const data = Float32Array.from({ length: 96 }, (_, i) => Math.sin(i * 0.37 * seed + seed));
      const [[ours], [ref]] = [await runInOrt(graph, data, [2, 4, 4, 3]), await runInTfjs(art, data, [2, 4, 4, 3])];
      assert.equal(ref!.length, 34);
      assert.ok(maxAbsDiff(ours!, ref!) < 1e-5, `seed ${seed}: ORT ${[...ours!].join(' ')} vs TF.js ${[...ref!].join(' ')}`);
      // Column 0 of each row is ⌊(ArgMax − 30) / 7⌋.
      negativeQuotients += [ref![0]!, ref![17]!].filter((q) => q < 0).length;
    }
    assert.ok(negativeQuotients > 0, 'some floor division had a negative dividend');
    // Static cost: PReLU one op per output element, ArgMax and TopK one per element searched.
    const cost = analyzeGraph(graph, { batch: 2 });
    assert.equal(cost.layers.find((l) => l.op === 'PRelu')!.elementwiseOps, 96);
    assert.equal(cost.layers.find((l) => l.op === 'ArgMax')!.elementwiseOps, 96);
    assert.equal(cost.layers.find((l) => l.op === 'TopK')!.elementwiseOps, 96);
  });

  it('an int32 image input read through a Cast to float becomes a float32 input, disclosed in the metadata', async () => {
    const nodes = [
      { name: 'img', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '1' }, { size: '2' }, { size: '2' }, { size: '3' }] } }, dtype: { type: 'DT_INT32' } } },
      { name: 'f', op: 'Cast', input: ['img'], attr: { SrcT: { type: 'DT_INT32' }, DstT: { type: 'DT_FLOAT' } } },
      { name: 'y', op: 'Mul', input: ['f', 'k'], attr: F },
    ];
    const art = graphModel('int-input', nodes, [{ name: 'k', dtype: 'float32', shape: [], values: [1 / 255] }]);
    const graph = tfjsArtifactsToGraph(art);
    assert.equal(graph.inputs[0]!.type.dtype, 'float32');
    assert.match(graph.metadata['formbench.input-type']!, /img: DT_INT32 read as float32/);
    assert.ok(!graph.nodes.some((n) => n.op === 'Cast'));
    const data = Float32Array.from({ length: 12 }, (_, i) => i * 20);
    const [[ours], [ref]] = [await runInOrt(graph, data, [1, 2, 2, 3]), await runInTfjs(art, data, [1, 2, 2, 3], { int32: true })];
    assert.ok(maxAbsDiff(ours!, ref!) < 1e-6);
  });

  it('refuses batch_dims on GatherV2 and an unknown output index, naming the node', () => {
    const art = decodingModel();
    const topo = structuredClone(art.modelJson.modelTopology) as { node: { name: string; input?: string[]; attr?: Record<string, unknown> }[] };
    topo.node.find((n) => n.name === 'gathered')!.attr!['batch_dims'] = { i: '1' };
    assert.throws(() => tfjsArtifactsToGraph({ ...art, modelJson: { ...art.modelJson, modelTopology: topo } as ModelJson }), (e: Error) => e instanceof UserError && /'GatherV2' \(node 'gathered'\): batch_dims/.test(e.message));
    const topo2 = structuredClone(art.modelJson.modelTopology) as typeof topo;
    topo2.node.find((n) => n.name === 'second')!.input![0] = 'cols:5';
    assert.throws(() => tfjsArtifactsToGraph({ ...art, modelJson: { ...art.modelJson, modelTopology: topo2 } as ModelJson }), (e: Error) => e instanceof UserError && /reads output 5 of 'cols', which has no such output/.test(e.message));
  });
});
