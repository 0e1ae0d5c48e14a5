import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { analyzeGraph } from '../src/analysis/index.js';
import { tfjsCpuEngine } from '../src/engines/tfjs.js';
import { UserError } from '../src/errors.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { decodeWeights, tfjsArtifactsToGraph, type ModelJson, type TfjsArtifacts } from '../src/tfjs-graph/index.js';
import { runOnce } from '../src/weights/ort-run.js';
import { maxAbsDiff, runInTfjs } from './tfjs-helpers.js';

await tf.setBackend('cpu');

/**
 * Elementwise TF ops that trained models use beyond the conv-net core, in a hand-made graph
 * model: x → Maximum(x, lo) → Minimum(·, hi) → Square → Add(·, eps) → Rsqrt → Mul(x, ·) →
 * Sqrt(Exp(·)) → Pow(·, two) → Cast(float→float) → ConcatV2 on axis −1 with x → StridedSlice
 * [:, 10::-3] → StridedSlice [:, 2] (shrunk), plus Sum of the slice's rows: a [N] output.
 */
const SLICES: Record<string, number[]> = { b1: [0, 10], e1: [0, 0], s1: [1, -3], b2: [0, 2], e2: [0, 3], s2: [1, 1] };

function elementwiseModel(): TfjsArtifacts {
  const consts: Record<string, number> = { lo: -0.5, hi: 0.75, eps: 0.1, two: 2, axis: -1 };
  const constNode = (name: string) => ({
    name,
    op: 'Const',
    attr: { value: { tensor: { dtype: name === 'axis' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: {} } }, dtype: { type: name === 'axis' ? 'DT_INT32' : 'DT_FLOAT' } },
  });
  const op = (name: string, o: string, input: string[], attr: Record<string, unknown> = {}) => ({ name, op: o, input, attr: { T: { type: 'DT_FLOAT' }, ...attr } });
  const nodes = [
    { name: 'x', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '6' }] } }, dtype: { type: 'DT_FLOAT' } } },
    ...Object.keys(consts).map(constNode),
    op('max', 'Maximum', ['x', 'lo']),
    op('min', 'Minimum', ['max', 'hi']),
    op('sq', 'Square', ['min']),
    op('addeps', 'AddV2', ['sq', 'eps']),
    op('rs', 'Rsqrt', ['addeps']),
    op('norm', 'Mul', ['x', 'rs']),
    op('ex', 'Exp', ['norm']),
    op('root', 'Sqrt', ['ex']),
    op('pow', 'Pow', ['root', 'two']),
    op('cast', 'Cast', ['pow'], { SrcT: { type: 'DT_FLOAT' }, DstT: { type: 'DT_FLOAT' } }),
    op('cat', 'ConcatV2', ['cast', 'x', 'axis'], { N: { i: '2' }, Tidx: { type: 'DT_INT32' } }),
    // [:, 10::-3] (reversed and strided, to the start), then [:, 2] (shrunk): a [N] output.
    ...Object.keys(SLICES).map((name) => ({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '2' }] } } }, dtype: { type: 'DT_INT32' } } })),
    op('sl', 'StridedSlice', ['cat', 'b1', 'e1', 's1'], { Index: { type: 'DT_INT32' }, begin_mask: { i: '1' }, end_mask: { i: '3' } }),
    op('pick', 'StridedSlice', ['sl', 'b2', 'e2', 's2'], { Index: { type: 'DT_INT32' }, begin_mask: { i: '1' }, end_mask: { i: '1' }, shrink_axis_mask: { i: '2' } }),
    // + the row sums of the [N, 4] slice (Sum over axis 1, keep_dims false): [N].
    op('rowsum', 'Sum', ['sl', 'axis'], { Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } }),
    op('out', 'AddV2', ['pick', 'rowsum']),
  ];
  const weights = [
    ...Object.keys(consts).map((name) => ({ name, shape: [], dtype: name === 'axis' ? 'int32' : 'float32' })),
    ...Object.keys(SLICES).map((name) => ({ name, shape: [2], dtype: 'int32' })),
  ];
  const weightData = new Uint8Array(
    Buffer.concat([
      ...Object.entries(consts).map(([name, v]) => Buffer.from((name === 'axis' ? Int32Array.of(v) : Float32Array.of(v)).buffer)),
      ...Object.values(SLICES).map((v) => Buffer.from(Int32Array.from(v).buffer)),
    ]),
  );
  const manifest = [{ paths: ['w'], weights }];
  const modelJson = { format: 'graph-model', modelTopology: { node: nodes, versions: { producer: 1 } }, weightsManifest: manifest } as unknown as ModelJson;
  return { source: 'elementwise-model', modelJson, weights: decodeWeights(manifest as never, weightData, 'test'), weightData };
}

/** x [N, 4, 4, 2] → ResizeBilinear 6×8 (half-pixel) → ResizeNearestNeighbor 3×4 (align_corners) → nearest 6×8 (legacy) → bilinear 3×4 (legacy). */
function resizeModel(): TfjsArtifacts {
  const sizes: Record<string, number[]> = { s1: [6, 8], s2: [3, 4], s3: [6, 8], s4: [3, 4] };
  const nodes = [
    { name: 'x', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '4' }, { size: '4' }, { size: '2' }] } }, dtype: { type: 'DT_FLOAT' } } },
    ...Object.keys(sizes).map((name) => ({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '2' }] } } }, dtype: { type: 'DT_INT32' } } })),
    { name: 'r1', op: 'ResizeBilinear', input: ['x', 's1'], attr: { T: { type: 'DT_FLOAT' }, align_corners: { b: false }, half_pixel_centers: { b: true } } },
    { name: 'r2', op: 'ResizeNearestNeighbor', input: ['r1', 's2'], attr: { T: { type: 'DT_FLOAT' }, align_corners: { b: true }, half_pixel_centers: { b: false } } },
    { name: 'r3', op: 'ResizeNearestNeighbor', input: ['r2', 's3'], attr: { T: { type: 'DT_FLOAT' } } },
    { name: 'r4', op: 'ResizeBilinear', input: ['r3', 's4'], attr: { T: { type: 'DT_FLOAT' } } },
  ];
  const manifest = [{ paths: ['w'], weights: Object.keys(sizes).map((name) => ({ name, shape: [2], dtype: 'int32' })) }];
  const weightData = new Uint8Array(Buffer.concat(Object.values(sizes).map((v) => Buffer.from(Int32Array.from(v).buffer))));
  const modelJson = { format: 'graph-model', modelTopology: { node: nodes, versions: { producer: 1 } }, weightsManifest: manifest } as unknown as ModelJson;
  return { source: 'resize-model', modelJson, weights: decodeWeights(manifest as never, weightData, 'test'), weightData };
}

/** tf.cond on a constant flag, as converters leave it: x → Switch(x, true) → Relu on the taken branch, Neg on the dead one → Merge. */
function condModel(flag: boolean, predicate = 'flag'): TfjsArtifacts {
  const t = { T: { type: 'DT_FLOAT' } };
  const nodes = [
    { name: 'x', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '6' }] } }, dtype: { type: 'DT_FLOAT' } } },
    { name: 'flag', op: 'Const', attr: { value: { tensor: { dtype: 'DT_BOOL', tensorShape: {} } }, dtype: { type: 'DT_BOOL' } } },
    { name: 'sw', op: 'Switch', input: ['x', predicate], attr: t },
    { name: 'taken', op: 'Relu', input: ['sw:1'], attr: t },
    { name: 'other', op: 'Neg', input: ['sw'], attr: t },
    { name: 'merge', op: 'Merge', input: ['other', 'taken'], attr: { ...t, N: { i: '2' } } },
  ];
  const manifest = [{ paths: ['w'], weights: [{ name: 'flag', shape: [], dtype: 'bool' }] }];
  const weightData = Uint8Array.of(flag ? 1 : 0);
  const modelJson = { format: 'graph-model', modelTopology: { node: nodes, versions: { producer: 1 } }, weightsManifest: manifest } as unknown as ModelJson;
  return { source: 'cond-model', modelJson, weights: decodeWeights(manifest as never, weightData, 'test'), weightData };
}

const INPUT = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i * 1.7));

async function inTfjs(art: TfjsArtifacts, data = INPUT, shape = [2, 6]): Promise<Float32Array> {
  return (await runInTfjs(art, data, shape))[0]!;
}

describe('TF.js graph-model operators beyond the conv-net core', () => {
  const art = elementwiseModel();

  it('imports Maximum, Minimum, Square, Rsqrt, Exp, Sqrt, Pow, Cast, ConcatV2 on axis −1, StridedSlice and Sum, computing what TF.js computes (ort and the tfjs engine)', async () => {
    const graph = tfjsArtifactsToGraph(art);
    const ops = graph.nodes.map((n) => n.op);
    for (const op of ['Max', 'Min', 'Pow', 'Sqrt', 'Exp', 'Concat', 'Slice', 'Squeeze', 'ReduceSum']) assert.ok(ops.includes(op), `${op} in ${ops.join(' ')}`);
    const reference = await inTfjs(art);
    const out = graph.outputs[0]!.name;
    const ort = (await runOnce(graph, { name: graph.inputs[0]!.name, dims: [2, 6], data: INPUT }, [out])).get(out)!;
    assert.equal(reference.length, 2);
    assert.ok(maxAbsDiff(reference, ort) < 1e-5, `ort vs TF.js: ${maxAbsDiff(reference, ort)}`);
    const session = await tfjsCpuEngine.load({ spec: art.source, graph, onnx: toOnnxBytes(graph) }, {});
    try {
      assert.ok(maxAbsDiff(reference, await session.run(INPUT, [2, 6])) < 1e-5);
    } finally {
      await session.dispose();
    }
    // The rule for elementwise work: one operation per output element of each such node.
    const cost = analyzeGraph(graph, { batch: 2 });
    assert.equal(cost.macs, 0);
    assert.equal(cost.layers.find((l) => l.op === 'Pow')!.elementwiseOps, 12);
  });

  it('imports ResizeBilinear and ResizeNearestNeighbor in each of TF\'s coordinate modes as TF.js computes them', async () => {
    const resize = resizeModel();
    const graph = tfjsArtifactsToGraph(resize);
    assert.equal(graph.nodes.filter((n) => n.op === 'Resize').length, 4);
    const data = Float32Array.from({ length: 2 * 4 * 4 * 2 }, (_, i) => Math.cos(i * 0.9));
    const reference = await inTfjs(resize, data, [2, 4, 4, 2]);
    const out = graph.outputs[0]!.name;
    const ort = (await runOnce(graph, { name: graph.inputs[0]!.name, dims: [2, 4, 4, 2], data }, [out])).get(out)!;
    assert.ok(maxAbsDiff(reference, ort) < 1e-5, `ort vs TF.js: ${maxAbsDiff(reference, ort)}`);
    const session = await tfjsCpuEngine.load({ spec: resize.source, graph, onnx: toOnnxBytes(graph) }, {});
    try {
      assert.ok(maxAbsDiff(reference, await session.run(data, [2, 4, 4, 2])) < 1e-5);
    } finally {
      await session.dispose();
    }
    assert.equal(analyzeGraph(graph, { batch: 1 }).layers.find((l) => l.name === 'r1')!.elementwiseOps, 6 * 8 * 2);
  });

  it('resolves Switch/Merge on a constant predicate to the branch it takes, as TF.js computes it', async () => {
    for (const flag of [true, false]) {
      const cond = condModel(flag);
      const graph = tfjsArtifactsToGraph(cond);
      assert.deepEqual(graph.nodes.map((n) => n.op), [flag ? 'Relu' : 'Neg'], `flag ${flag}: only the taken branch is imported`);
      const reference = await inTfjs(cond);
      const out = graph.outputs[0]!.name;
      const ort = (await runOnce(graph, { name: graph.inputs[0]!.name, dims: [2, 6], data: INPUT }, [out])).get(out)!;
      assert.ok(maxAbsDiff(reference, ort) < 1e-6);
    }
  });

  it('refuses a Switch on a computed predicate and loop frames, naming the operator', () => {
    assert.throws(() => tfjsArtifactsToGraph(condModel(true, 'x')), (e: Error) => e instanceof UserError && /unsupported operator 'Switch' \(node 'sw'\): its predicate is computed from the input/.test(e.message));
    const looped = condModel(true);
    (looped.modelJson.modelTopology as { node: { op: string; name: string }[] }).node.find((n) => n.name === 'taken')!.op = 'Enter';
    assert.throws(() => tfjsArtifactsToGraph(looped), (e: Error) => e instanceof UserError && /unsupported operator 'Enter' \(node 'taken'\): loops/.test(e.message));
  });

  it('refuses a cast to a type the IR does not hold, naming the operator and the type', () => {
    const bad = structuredClone(art.modelJson.modelTopology) as { node: { name: string; attr?: Record<string, { type?: string }> }[] };
    bad.node.find((n) => n.name === 'cast')!.attr!['DstT'] = { type: 'DT_STRING' };
    assert.throws(
      () => tfjsArtifactsToGraph({ ...art, modelJson: { ...art.modelJson, modelTopology: bad } as ModelJson }),
      (e: Error) => e instanceof UserError && /unsupported operator 'Cast' \(node 'cast'\): a cast to DT_STRING/.test(e.message),
    );
  });
});
