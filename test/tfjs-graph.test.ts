import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../src/errors.js';
import { getInts, type Graph } from '../src/ir/index.js';
import { resolveModel } from '../src/model/index.js';
import {
  decodeWeights,
  readTfjsArtifacts,
  samePads,
  tfjsArtifactsToGraph,
  type ModelJson,
  type TfjsArtifacts,
} from '../src/tfjs-graph/index.js';
import { maxAbsDiff, runInOrt, runInTfjs, seededUniform } from './tfjs-helpers.js';

const TINY_GRAPH = 'test/fixtures/tfjs-graph/tiny-graph';

await tf.setBackend('cpu');

/** Imports, runs in onnxruntime and in TF.js on one seeded [0,1] input; returns the max difference. */
async function agreement(art: TfjsArtifacts, batch: number): Promise<{ graph: Graph; maxAbs: number }> {
  const graph = tfjsArtifactsToGraph(art);
  const shape = graph.inputs[0]!.type.shape.map((d, i) => (i === 0 ? batch : d)) as number[];
  const data = seededUniform(shape.reduce((a, b) => a * b, 1), 3);
  const [[ours], [ref]] = [await runInOrt(graph, data, shape), await runInTfjs(art, data, shape)];
  return { graph, maxAbs: maxAbsDiff(ours, ref) };
}

describe('TF.js weight decoding', () => {
  it('expands uint8 and uint16 quantization as q·scale + min, float16 as IEEE half, int32 as is', () => {
    const manifest = [{
      paths: ['x'],
      weights: [
        { name: 'u8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
        { name: 'u16', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 2 } },
        { name: 'f16', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
        { name: 'i32', shape: [2], dtype: 'int32' },
        { name: 'f32', shape: [1], dtype: 'float32' },
      ],
    }];
    const bytes = Buffer.concat([
      Buffer.from([0, 2, 255]),
      Buffer.from(Uint16Array.of(0, 1000).buffer),
      // 1.0, -2.5, 2^-24 (the smallest subnormal half)
      Buffer.from(Uint16Array.of(0x3c00, 0xc100, 0x0001).buffer),
      Buffer.from(Int32Array.of(-7, 224).buffer),
      Buffer.from(Float32Array.of(0.1).buffer),
    ]);
    const w = decodeWeights(manifest, bytes, 'test');
    assert.deepEqual([...w.get('u8')!.float32()], [-1, 0, 126.5]);
    assert.deepEqual([...w.get('u16')!.float32()], [2, 252]);
    assert.deepEqual([...w.get('f16')!.float32()], [1, -2.5, Math.fround(2 ** -24)]);
    assert.deepEqual(w.get('i32')!.integers(), [-7, 224]);
    assert.equal(w.get('f32')!.float32()[0], Math.fround(0.1));
  });

  it('says which weight the shards end before', () => {
    const manifest = [{ paths: ['x'], weights: [{ name: 'big', shape: [4], dtype: 'float32' }] }];
    assert.throws(() => decodeWeights(manifest, new Uint8Array(8), 'm.json'), (e) => e instanceof UserError && /before weight 'big'/.test(e.message));
  });
});

describe('TF SAME padding', () => {
  it('puts the odd pixel at the end, as TF does', () => {
    // 224, 3×3, stride 2 → 112 outputs need 1 padded pixel: after, not before.
    assert.deepEqual(samePads([224, 224], [3, 3], [2, 2], [1, 1]), [0, 0, 1, 1]);
    assert.deepEqual(samePads([5, 6], [3, 3], [2, 2], [1, 1]), [1, 0, 1, 1]);
    assert.deepEqual(samePads([7, 7], [3, 3], [1, 1], [2, 2]), [2, 2, 2, 2]);
  });
});

describe('graph-model importer (hand-made model)', () => {
  const art = readTfjsArtifacts(TINY_GRAPH);

  it('maps each TF op to IR nodes: fused conv → Conv + Clip, depthwise → grouped Conv, asymmetric SAME pads', () => {
    const graph = tfjsArtifactsToGraph(art);
    const byName = new Map(graph.nodes.map((n) => [n.name, n]));
    assert.deepEqual(graph.inputs[0]!.type.shape, ['N', 6, 6, 2], 'the input stays NHWC');
    assert.equal(graph.nodes[0]!.op, 'Transpose');
    assert.deepEqual(getInts(byName.get('conv/Relu6/conv')!.attrs, 'pads'), [0, 0, 1, 1]);
    assert.equal(byName.get('conv/Relu6')!.op, 'Clip');
    const dw = byName.get('dw/Relu/conv')!;
    assert.equal(dw.attrs['group']?.value, 4);
    assert.deepEqual(graph.initializers.get(dw.inputs[1]!)!.dims, [8, 1, 3, 3]);
    assert.equal(byName.get('fc/BiasAdd')!.op, 'Gemm');
  });

  it('runs in onnxruntime as TF.js runs it', async () => {
    const { maxAbs } = await agreement(art, 3);
    assert.ok(maxAbs < 1e-5, `max |ORT − TF.js| = ${maxAbs}`);
  });

  it('rejects an unsupported op with one line naming the op and the node', () => {
    const topo = structuredClone(art.modelJson.modelTopology) as { node: { name: string; op: string }[] };
    topo.node.find((n) => n.name === 'prob')!.op = 'Erf';
    const bad: TfjsArtifacts = { ...art, modelJson: { ...art.modelJson, modelTopology: topo } as ModelJson };
    assert.throws(() => tfjsArtifactsToGraph(bad), (e) => e instanceof UserError && e.message === "unsupported operator 'Erf' (node 'prob')");
  });
});

describe('layers-model importer (Keras layers)', () => {
  it('runs a small functional model (ZeroPadding, Conv SAME/VALID, depthwise, BN, ReLU6, Add, Concatenate, pools, Flatten, Dense) as TF.js does', async () => {
    const input = tfl.input({ shape: [9, 9, 3] });
    const padded = tfl.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(input) as tfl.SymbolicTensor;
    const c1 = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }).apply(padded) as tfl.SymbolicTensor;
    const bn = tfl.layers.batchNormalization({ epsilon: 1e-3 }).apply(c1) as tfl.SymbolicTensor;
    const r6 = tfl.layers.reLU({ maxValue: 6 }).apply(bn) as tfl.SymbolicTensor;
    const dw = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 1, activation: 'relu' }).apply(r6) as tfl.SymbolicTensor;
    const sum = tfl.layers.add().apply([r6, dw]) as tfl.SymbolicTensor;
    const c2 = tfl.layers.conv2d({ filters: 4, kernelSize: 2, strides: 2, padding: 'same', activation: 'relu' }).apply(sum) as tfl.SymbolicTensor;
    const mp = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(sum) as tfl.SymbolicTensor;
    const ap = tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(sum) as tfl.SymbolicTensor;
    const cat = tfl.layers.concatenate({ axis: -1 }).apply([c2, mp, ap]) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten().apply(cat) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 5, activation: 'softmax' }).apply(flat) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    // BatchNormalization's moving statistics start at 0 and 1: give them values worth checking.
    const [gamma, beta, mean, variance] = model.layers[3]!.getWeights();
    model.layers[3]!.setWeights([tf.add(gamma!, 0.5), tf.add(beta!, 0.1), tf.add(mean!, 0.2), tf.mul(variance!, 2)]);
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save({ save: async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }) });
    const art: TfjsArtifacts = {
      source: 'tiny-keras',
      modelJson: { format: 'layers-model', modelTopology: saved!.modelTopology, weightsManifest: [{ paths: ['w'], weights: saved!.weightSpecs! }] } as ModelJson,
      weights: decodeWeights([{ paths: ['w'], weights: saved!.weightSpecs! }], new Uint8Array(saved!.weightData as ArrayBuffer), 'tiny-keras'),
      weightData: new Uint8Array(saved!.weightData as ArrayBuffer),
    };
    const { graph, maxAbs } = await agreement(art, 2);
    assert.ok(graph.nodes.some((n) => n.op === 'Pad') && graph.nodes.some((n) => n.op === 'Concat'));
    assert.ok(maxAbs < 1e-5, `max |ORT − TF.js| = ${maxAbs}`);
  });
});

describe('nsfwjs bundled models', () => {
  it('MobileNetV2 (Keras layers-model, uint8-quantized) imports and matches TF.js on a seeded input', async () => {
    const art = readTfjsArtifacts('nsfwjs:mobilenet_v2');
    const { graph, maxAbs } = await agreement(art, 1);
    assert.equal(graph.nodes.filter((n) => n.op === 'Conv').length, 52);
    assert.ok(maxAbs < 1e-5, `max |ORT − TF.js| = ${maxAbs} on softmax outputs`);
  });

  it('resolveModel accepts nsfwjs:, model.json files and folders', () => {
    assert.equal(resolveModel('nsfwjs:mobilenet_v2_mid').source, 'tfjs');
    assert.equal(resolveModel(`${TINY_GRAPH}/model.json`).graph.outputs.length, 1);
    assert.equal(resolveModel(TINY_GRAPH).source, 'tfjs');
    assert.throws(() => resolveModel('nsfwjs:resnet'), (e) => e instanceof UserError && /unknown nsfwjs model/.test(e.message));
  });
});

describe('CLI with TF.js models', () => {
  it('a model with a free input size needs @HxW: refused with the hint without it, analysed with it', () => {
    const model = 'node_modules/@upscalerjs/esrgan-slim/models/x2/model.json';
    const bare = spawnSync('node', ['dist/src/cli/main.js', 'analyze', model], { encoding: 'utf8' });
    assert.equal(bare.status, 2);
    assert.equal(bare.stderr.trim().split('\n').length, 1, bare.stderr);
    assert.match(bare.stderr, /input 'LR' leaves its height and width free .*hint: give them after the model: .*model\.json@<height>x<width>/);
    const sized = spawnSync('node', ['dist/src/cli/main.js', 'analyze', `${model}@16x24`, '--json'], { encoding: 'utf8' });
    assert.equal(sized.status, 0, sized.stderr);
    // 2× upscaling: the output is 32×48×3.
    const { layers } = JSON.parse(sized.stdout) as { layers: { outputShape: number[] }[] };
    assert.deepEqual(layers[layers.length - 1]!.outputShape, [1, 32, 48, 3]);
    const zero = spawnSync('node', ['dist/src/cli/main.js', 'analyze', `${model}@0x16`], { encoding: 'utf8' });
    assert.equal(zero.status, 2);
    assert.match(zero.stderr, /an input size is 1 to 4096 pixels a side, got 0x16/);
  });

  it('a bad model.json is one line on stderr and exit 2', () => {
    const r = spawnSync('node', ['dist/src/cli/main.js', 'analyze', 'test/fixtures/tfjs-graph/bad/model.json'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^formbench: error: .*model\.json is not a TF\.js model/);
  });
});
