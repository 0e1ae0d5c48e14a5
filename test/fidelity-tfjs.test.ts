import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../src/errors.js';
import type { Engine, EngineSession, IdiomaticRun } from '../src/engines/engine.js';
import { ortEngine } from '../src/engines/ort.js';
import { tfjsCpuEngine, tfjsWasmEngine } from '../src/engines/tfjs.js';
import { attr, type Graph } from '../src/ir/index.js';
import { median } from '../src/measure/stats.js';
import { prepareModel, resolveModel } from '../src/model/index.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { seededNormal } from '../src/weights/index.js';
import { graphOf, ints, node, weight } from './onnx-helpers.js';

// tf.memory() needs a backend registered before the first session counts tensors.
await tfjsWasmEngine.availability();

const DIMS = [1, 3, 32, 32];
const INPUT = seededNormal(1, 'input', DIMS.reduce((a, b) => a * b, 1), 1);

/** A session on `graph` and its idiomatic run, both disposed after `body`; no tensor outlives them. */
async function withBothSides(engine: Engine, options: Record<string, string>, graph: Graph, body: (session: EngineSession, idiomatic: IdiomaticRun) => Promise<void>): Promise<void> {
  const tensorsBefore = tf.memory().numTensors;
  const session = await engine.load({ spec: graph.name, graph, onnx: toOnnxBytes(graph) }, options);
  try {
    const idiomatic = await session.idiomatic!();
    try {
      await body(session, idiomatic);
    } finally {
      await idiomatic.dispose();
    }
  } finally {
    await session.dispose();
  }
  assert.equal(tf.memory().numTensors, tensorsBefore, `${engine.name} on ${graph.name}: tensors left after both sides were disposed`);
}

/** The largest difference between the two outputs over the engine's largest magnitude. */
function relativeError(engineOut: Float32Array, idiomaticOut: Float32Array): number {
  assert.equal(idiomaticOut.length, engineOut.length, 'output lengths');
  const scale = engineOut.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(scale > 0 && Number.isFinite(scale), `engine output magnitude ${scale}`);
  return engineOut.reduce((m, v, i) => Math.max(m, Math.abs(v - idiomaticOut[i]!)), 0) / scale;
}

async function agree(engine: Engine, options: Record<string, string>, spec: string): Promise<string> {
  let description = '';
  await withBothSides(engine, options, await prepareModel(resolveModel(spec)), async (session, idiomatic) => {
    const engineOut = Float32Array.from(await session.run(INPUT, DIMS));
    const idiomaticOut = Float32Array.from(await idiomatic.run(INPUT, DIMS));
    assert.ok(relativeError(engineOut, idiomaticOut) < 1e-4, `${engine.name} on ${spec}: relative error ${relativeError(engineOut, idiomaticOut)}`);
    // Reusable, like the session: the same output again.
    assert.deepEqual(await idiomatic.run(INPUT, DIMS), idiomaticOut);
    description = idiomatic.description;
  });
  return description;
}

describe('fidelity: the TF.js idiomatic model (a tfjs-converter GraphModel) computes what the engine computes', () => {
  // grouped: 32 channels in groups of 8, so that the four groups are real (the default group
  // width of 16 leaves w16 one group, a plain convolution).
  const specs = ['standard', 'factorized', 'bottleneck', 'depthwise-separable', 'depthwise-bottleneck'].map((p) => `${p}/d2/w16/r32`).concat('grouped/d2/w32/r32/group-width=8');
  for (const spec of specs) {
    it(`${spec} on tfjs-wasm`, async () => {
      const description = await agree(tfjsWasmEngine, { threads: '1' }, spec);
      assert.match(description, /^tfjs-converter GraphModel \(tfjs-converter 4\.\d+\.\d+; BN folded, bias\+ReLU fused as the converter emits them: .*\) execute\(\) on the wasm backend$/);
      // What the converter emits for Conv2D + BatchNormalization + ReLU (ReLU6 in MobileNetV2's block).
      const fusedActivation = spec.startsWith('depthwise-bottleneck') ? 'Relu6' : 'Relu';
      assert.match(description, new RegExp(`_FusedConv2D\\[BiasAdd,${fusedActivation}\\]`));
      assert.doesNotMatch(description, /BatchNorm/, 'every BatchNormalization is folded');
      if (spec.startsWith('grouped')) assert.match(description, /Split, .*ConcatV2/);
      if (spec.startsWith('depthwise')) assert.match(description, new RegExp(`FusedDepthwiseConv2dNative\\[BiasAdd,${fusedActivation}\\]`));
    });
  }

  it('depthwise-bottleneck/d2/w16/r32 on tfjs-cpu', async () => {
    assert.match(await agree(tfjsCpuEngine, {}, 'depthwise-bottleneck/d2/w16/r32'), /execute\(\) on the cpu backend$/);
  });

  it('mobilenet_v2/r32, resnet18/r32 and resnet50/r32 (stride-2 zero padding, projection shortcuts) on tfjs-wasm', async () => {
    for (const spec of ['mobilenet_v2/r32', 'resnet18/r32', 'resnet50/r32']) assert.match(await agree(tfjsWasmEngine, { threads: '1' }, spec), /Pad, /);
  });

  it('rejects a network with an operator it has no GraphModel form for, naming the operator and the node', async () => {
    // DARTS's and NASNet's factorized reductions shift a path by a pixel with Slice.
    const graph = graphOf({
      nodes: [
        node('conv', 'Conv', ['x', 'w'], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) }),
        node('shift', 'Slice', ['conv', 'starts', 'ends', 'axes']),
        node('gap', 'GlobalAveragePool', ['shift']),
      ],
      initializers: { w: weight(4, 3, 3, 3), starts: ints(1, 1), ends: ints(1000, 1000), axes: ints(2, 3) },
    });
    const tensorsBefore = tf.memory().numTensors;
    const session = await tfjsWasmEngine.load({ spec: 'slice', graph, onnx: toOnnxBytes(graph) }, { threads: '1' });
    try {
      await assert.rejects(session.idiomatic!(), (e) => e instanceof UserError && /no tfjs-converter GraphModel form for operator 'Slice' \(node 'shift'\)/.test(e.message));
      // The engine itself still runs it.
      assert.equal((await session.run(Float32Array.from({ length: 3 * 64 }, (_, i) => i / 64), [1, 3, 8, 8])).length, 4);
    } finally {
      await session.dispose();
    }
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors left after the rejection');
  });

  it('rejects a max pool with padding on a possibly negative input: zero padding would change its output', async () => {
    const graph = graphOf({
      nodes: [
        node('conv', 'Conv', ['x', 'w'], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) }),
        node('pool', 'MaxPool', ['conv'], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
      ],
      initializers: { w: weight(4, 3, 3, 3) },
    });
    const session = await tfjsWasmEngine.load({ spec: 'pool', graph, onnx: toOnnxBytes(graph) }, { threads: '1' });
    try {
      await assert.rejects(session.idiomatic!(), (e) => e instanceof UserError && /node 'pool' \(MaxPool\).*non-negative input/.test(e.message));
    } finally {
      await session.dispose();
    }
  });
});

describe('fidelity: the onnxruntime idiomatic session (a bare InferenceSession.create)', () => {
  it('bottleneck/d2/w16/r32: the same output as the engine session, with onnxruntime defaults', async () => {
    const graph = await prepareModel(resolveModel('bottleneck/d2/w16/r32'));
    await withBothSides(ortEngine, { opt: 'all', threads: '1', execution: 'sequential', precision: 'fp32' }, graph, async (session, idiomatic) => {
      const error = relativeError(Float32Array.from(await session.run(INPUT, DIMS)), Float32Array.from(await idiomatic.run(INPUT, DIMS)));
      assert.ok(error < 1e-4, `relative error ${error}`);
      assert.match(idiomatic.description, /^ort\.InferenceSession\.create\(model\) with onnxruntime defaults \(no session options(, which chose \d+ intra-op threads?)?\)$/);
    });
  });
});

describe('fidelity: timing guard', () => {
  it('tfjs-wasm runs a small network at most 1.5× as long as its GraphModel (median of interleaved runs)', async () => {
    const spec = 'depthwise-bottleneck/d4/w32/r64';
    const dims = [1, 3, 64, 64];
    const input = seededNormal(2, 'input', 3 * 64 * 64, 1);
    await withBothSides(tfjsWasmEngine, { threads: '1' }, await prepareModel(resolveModel(spec)), async (session, idiomatic) => {
      const sides = [(x: Float32Array) => session.run(x, dims), (x: Float32Array) => idiomatic.run(x, dims)] as const;
      for (let i = 0; i < 3; i++) for (const run of sides) await run(input);
      const ms: [number[], number[]] = [[], []];
      // Interleaved, each side first in turn, so that drift and neighbours' load fall on both.
      for (let i = 0; i < 40; i++) {
        for (const k of i % 2 ? [0, 1] : [1, 0]) {
          const t0 = performance.now();
          await sides[k]!(input);
          ms[k]!.push(performance.now() - t0);
        }
      }
      const ratio = median(ms[0]) / median(ms[1]);
      assert.ok(ratio <= 1.5, `${spec}: engine ${median(ms[0]).toFixed(2)} ms over idiomatic ${median(ms[1]).toFixed(2)} ms = ${ratio.toFixed(2)}`);
    });
  });
});
