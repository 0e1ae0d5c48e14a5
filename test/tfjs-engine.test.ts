import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../src/errors.js';
import { parseEngineChoice, registerEngine, type Engine } from '../src/engines/index.js';
import { tfjsCpuEngine, tfjsWasmEngine } from '../src/engines/tfjs.js';
import { attr, type Graph } from '../src/ir/index.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { calibrateBatchNorm, seededNormal } from '../src/weights/index.js';
import { buildZooModel } from '../src/zoo/index.js';
import { graphOf, ints, node, positive, scalar, weight } from './onnx-helpers.js';

const ENGINES: Engine[] = [tfjsCpuEngine, tfjsWasmEngine];
// So that option parsing sees them whether or not the registry lists them yet (a no-op once it does).
for (const engine of ENGINES) registerEngine(engine);

/** The first output through ort (opt=disabled), the reference. */
async function runOrt(graph: Graph, onnx: Uint8Array, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const { engine, options } = parseEngineChoice('ort:opt=disabled');
  const session = await engine.load({ spec: graph.name, graph, onnx }, options);
  try {
    return Float32Array.from(await session.run(input, dims));
  } finally {
    await session.dispose();
  }
}

/** Runs `graph` through ort and the given TF.js engines; asserts agreement within 1e-3 of the output's magnitude. */
async function agree(graph: Graph, dims: number[], engines: Engine[] = ENGINES, seed = 1): Promise<void> {
  const onnx = toOnnxBytes(graph);
  const input = seededNormal(seed, 'input', dims.reduce((a, b) => a * b, 1), 1);
  const expected = await runOrt(graph, onnx, input, dims);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(scale > 0 && Number.isFinite(scale), `${graph.name}: reference output magnitude ${scale}`);
  for (const engine of engines) {
    const { options } = parseEngineChoice(engine.name);
    const before = tf.memory().numTensors;
    const session = await engine.load({ spec: graph.name, graph, onnx }, options);
    const loaded = tf.memory().numTensors;
    try {
      const out = await session.run(input, dims);
      assert.ok(out instanceof Float32Array);
      assert.equal(out.length, expected.length, `${engine.name} on ${graph.name}: output length`);
      // Twice: sessions are reusable and keep no state between runs.
      const again = await session.run(input, dims);
      assert.deepEqual(again, out);
      assert.equal(tf.memory().numTensors, loaded, `${engine.name} on ${graph.name}: tensors leaked by run`);
      const worst = out.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
      assert.ok(worst / scale < 1e-3, `${engine.name} on ${graph.name}: relative error ${worst / scale}`);
    } finally {
      await session.dispose();
    }
    assert.equal(tf.memory().numTensors, before, `${engine.name} on ${graph.name}: tensors left after dispose`);
  }
}

async function zoo(spec: string): Promise<Graph> {
  const model = buildZooModel(spec);
  return calibrateBatchNorm(model.graph, { gains: model.bnGains });
}

describe('tfjs engines: availability', () => {
  // First in the file, while no backend is current: `formbench engines` asks every engine at once,
  // and the two TF.js probes once raced on TF.js's one global backend.
  it('both backends answer available when asked at the same time', async () => {
    const answers = await Promise.all([tfjsWasmEngine.availability(), tfjsCpuEngine.availability(), tfjsWasmEngine.availability()]);
    for (const a of answers) assert.ok(a.available, a.available ? '' : a.reason);
  });

  it('tfjs-cpu initialises its backend and says so', async () => {
    const a = await tfjsCpuEngine.availability();
    assert.ok(a.available, a.available ? '' : a.reason);
    assert.match(a.version, /^4\.\d+\.\d+/);
    assert.equal(a.details?.['backend'], 'cpu');
  });

  it('tfjs-wasm initialises its backend and reports SIMD and threads', async () => {
    const a = await tfjsWasmEngine.availability();
    assert.ok(a.available, a.available ? '' : a.reason);
    assert.equal(a.details?.['backend'], 'wasm');
    assert.match(a.details?.['simd'] ?? '', /^(yes|no)$/);
    assert.ok(a.details?.['threads']);
  });

  it('tfjs-wasm accepts only one thread', async () => {
    // The registry refuses it when the choice is made (engines receive parsed options only), and
    // says why in the hint.
    assert.throws(() => parseEngineChoice('tfjs-wasm:threads=2'), (e: UserError) => /not one of 1/.test(e.message) && /multithreading is not available in Node/.test(e.hint ?? ''));
  });
});

describe('tfjs engines: zoo models agree with ort', () => {
  for (const spec of [
    'standard/d2/w16/r32',
    'factorized/d2/w16/r32',
    'bottleneck/d2/w16/r32',
    'depthwise-separable/d2/w16/r32',
    'depthwise-bottleneck/d2/w16/r32',
    'grouped/d2/w32/r32',
  ]) {
    it(spec, async () => agree(await zoo(spec), [2, 3, 32, 32]));
  }
  // Reference networks only on wasm: the cpu backend is pure JS and slow.
  it('mobilenet_v2/r32 (Clip, depthwise, residual Add) on wasm', async () => agree(await zoo('mobilenet_v2/r32'), [1, 3, 32, 32], [tfjsWasmEngine]));
  it('inception_v3/r75 (AveragePool count_include_pad, Concat, asymmetric kernels) on wasm', async () =>
    agree(await zoo('inception_v3/r75'), [1, 3, 75, 75], [tfjsWasmEngine]));
  it('resnext50_32x4d/r32 (32-group convolutions) on wasm', async () => agree(await zoo('resnext50_32x4d/r32'), [1, 3, 32, 32], [tfjsWasmEngine]));
});

describe('tfjs engines: operators agree with ort', () => {
  it('convolutions: bias, asymmetric pads, strides, dilations, depthwise multiplier, groups; broadcast constants', async () => {
    const graph = graphOf(
      {
        nodes: [
          node('c1', 'Conv', ['x', 'w1', 'b1'], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 1]), pads: attr.ints([1, 0, 2, 1]) }),
          node('dw', 'Conv', ['c1', 'w2', 'b2'], { group: attr.int(8), pads: attr.ints([2, 2, 2, 2]), dilations: attr.ints([2, 2]) }),
          node('g', 'Conv', ['dw', 'w3'], { group: attr.int(4), kernel_shape: attr.ints([3, 1]), pads: attr.ints([1, 0, 1, 0]) }),
          node('mul', 'Mul', ['g', 'k1']),
          node('add', 'Add', ['mul', 'k2']),
          node('sub', 'Sub', ['add', 'k3']),
          node('div', 'Div', ['sub', 'k4']),
          node('bn', 'BatchNormalization', ['div', 's', 'bb', 'm', 'v'], { epsilon: attr.float(1e-3) }),
          node('hs', 'HardSwish', ['bn']),
          node('lr', 'LeakyRelu', ['bn'], { alpha: attr.float(0.1) }),
          node('hsg', 'HardSigmoid', ['bn'], { alpha: attr.float(0.3), beta: attr.float(0.4) }),
          node('sg', 'Sigmoid', ['bn']),
          node('cat', 'Concat', ['hs', 'lr', 'hsg', 'sg'], { axis: attr.int(1) }),
          node('both', 'Add', ['cat', 'cat2']),
          node('out', 'Conv', ['both', 'w4'], { kernel_shape: attr.ints([1, 1]) }),
        ],
        initializers: {
          w1: weight(8, 3, 3, 3),
          b1: weight(8),
          w2: weight(16, 1, 3, 3),
          b2: weight(16),
          w3: weight(8, 4, 3, 1),
          k1: weight(8, 1, 1),
          k2: weight(1, 8, 1, 1),
          k3: scalar(0.25),
          k4: positive(9),
          s: positive(8),
          bb: weight(8),
          m: weight(8),
          v: positive(8),
          cat2: weight(32, 1, 1),
          w4: weight(5, 32, 1, 1),
        },
      },
      ['N', 3, 9, 10],
    );
    await agree(graph, [2, 3, 9, 10]);
  });

  it('pooling: max and average with pads, ceil mode and count_include_pad; global pools', async () => {
    const pool = (k: number, s: number, pads: number[], extra: Record<string, ReturnType<typeof attr.int>> = {}) => ({
      kernel_shape: attr.ints([k, k]),
      strides: attr.ints([s, s]),
      pads: attr.ints(pads),
      ...extra,
    });
    const graph = graphOf(
      {
        nodes: [
          node('mp', 'MaxPool', ['x'], pool(3, 2, [1, 1, 1, 1], { ceil_mode: attr.int(1) })),
          node('ap0', 'AveragePool', ['mp'], pool(3, 1, [1, 0, 1, 2])),
          node('ap1', 'AveragePool', ['ap0'], pool(3, 2, [1, 1, 1, 1], { count_include_pad: attr.int(1) })),
          node('ap2', 'AveragePool', ['x'], pool(3, 2, [0, 0, 0, 0], { ceil_mode: attr.int(1), count_include_pad: attr.int(1) })),
          node('ap3', 'AveragePool', ['x'], pool(3, 3, [1, 1, 1, 1], { ceil_mode: attr.int(1) })),
          node('gap', 'GlobalAveragePool', ['ap1']),
          node('gmp', 'GlobalMaxPool', ['ap2']),
          node('gap3', 'GlobalAveragePool', ['ap3']),
          node('mp2', 'MaxPool', ['ap3'], pool(2, 1, [0, 0, 0, 0])),
          node('f0', 'Flatten', ['mp2']),
          node('f1', 'Flatten', ['gap']),
          node('f2', 'Flatten', ['gmp']),
          node('f3', 'Flatten', ['gap3']),
          node('out', 'Concat', ['f0', 'f1', 'f2', 'f3'], { axis: attr.int(1) }),
        ],
      },
      ['N', 3, 12, 12],
    );
    await agree(graph, [2, 3, 12, 12]);
  });

  it('layout-sensitive ops: Slice, Pad, Transpose, Softmax, Reshape, Flatten, Gemm, MatMul, ReduceMean', async () => {
    const graph = graphOf(
      {
        nodes: [
          node('sl', 'Slice', ['x', 'st', 'en', 'ax', 'sp']),
          node('pc', 'Pad', ['sl', 'pads1', 'pv'], { mode: attr.string('constant') }),
          node('pr', 'Pad', ['pc', 'pads2'], { mode: attr.string('reflect') }),
          node('tr', 'Transpose', ['pr'], { perm: attr.ints([0, 2, 3, 1]) }),
          node('sm', 'Softmax', ['tr'], { axis: attr.int(-1) }),
          node('tb', 'Transpose', ['sm'], { perm: attr.ints([0, 3, 1, 2]) }),
          node('sm1', 'Softmax', ['tb'], { axis: attr.int(2) }),
          node('fl', 'Flatten', ['sm1']),
          node('rs', 'Reshape', ['fl', 'shape4']),
          node('rm', 'ReduceMean', ['rs'], { axes: attr.ints([2, 3]), keepdims: attr.int(0) }),
          node('rk', 'ReduceMean', ['rs'], { axes: attr.ints([1]), keepdims: attr.int(1) }),
          node('rkf', 'Reshape', ['rk', 'shape2']),
          node('gm', 'Gemm', ['rkf', 'gw', 'gb'], { alpha: attr.float(0.5), beta: attr.float(2) }),
          node('mm', 'MatMul', ['rm', 'mw']),
          node('cat', 'Concat', ['gm', 'mm'], { axis: attr.int(1) }),
          node('out', 'Softmax', ['cat'], { axis: attr.int(1) }),
        ],
        initializers: {
          st: ints(1, 0),
          en: ints(Number.MAX_SAFE_INTEGER, -1),
          ax: ints(2, 3),
          sp: ints(1, 2),
          pads1: ints(0, 0, 1, 2, 0, 0, 2, 1),
          pv: scalar(0.5),
          pads2: ints(0, 0, 1, 1, 0, 0, 1, 1),
          // After slicing (8×4) and padding (+3, then +2) the value is [N, 3, 13, 9]: 351 per row.
          shape4: ints(0, 3, 9, 13),
          shape2: ints(0, -1),
          gw: weight(117, 7),
          gb: weight(7),
          mw: weight(3, 4),
        },
      },
      ['N', 3, 9, 9],
    );
    await agree(graph, [2, 3, 9, 9]);
  });

  it('a 4-D output comes back in N×C×H×W order', async () => {
    const graph = graphOf(
      {
        nodes: [
          node('c', 'Conv', ['x', 'w'], { pads: attr.ints([1, 1, 1, 1]) }),
          node('r', 'Relu', ['c']),
          node('clip', 'Clip', ['r', 'lo', 'hi']),
          node('out', 'Identity', ['clip']),
        ],
        initializers: { w: weight(4, 3, 3, 3), lo: scalar(0.1), hi: scalar(0.6) },
      },
      ['N', 3, 6, 7],
    );
    await agree(graph, [1, 3, 6, 7]);
  });
});

describe('tfjs engines: convolutions run as a converted GraphModel runs them', () => {
  const bn = (name: string, x: string) => node(name, 'BatchNormalization', [x, `${name}.s`, `${name}.b`, `${name}.m`, `${name}.v`], { epsilon: attr.float(1e-3) });
  const bnParams = (name: string, c: number) => ({ [`${name}.s`]: positive(c), [`${name}.b`]: weight(c), [`${name}.m`]: weight(c), [`${name}.v`]: positive(c) });
  const graph = graphOf(
    {
      nodes: [
        node('c1', 'Conv', ['x', 'w1', 'b1'], { pads: attr.ints([1, 1, 1, 1]) }),
        bn('bn1', 'c1'),
        node('r1', 'Relu', ['bn1']),
        node('dw', 'Conv', ['r1', 'w2'], { group: attr.int(8), strides: attr.ints([2, 2]), pads: attr.ints([1, 0, 2, 1]) }),
        bn('bn2', 'dw'),
        node('r6', 'Clip', ['bn2', 'lo', 'hi']),
        node('g', 'Conv', ['r6', 'w3'], { group: attr.int(2) }),
        bn('bn3', 'g'),
        // c4's output has a second reader: its BatchNormalization cannot be folded away.
        node('c4', 'Conv', ['bn3', 'w4']),
        bn('bn4', 'c4'),
        node('side', 'Relu', ['c4']),
        node('out', 'Add', ['bn4', 'side']),
      ],
      initializers: {
        w1: weight(8, 3, 3, 3),
        b1: weight(8),
        w2: weight(8, 1, 3, 3),
        w3: weight(8, 4, 1, 1),
        w4: weight(4, 8, 1, 1),
        lo: scalar(0),
        hi: scalar(6),
        ...bnParams('bn1', 8),
        ...bnParams('bn2', 8),
        ...bnParams('bn3', 8),
        ...bnParams('bn4', 4),
      },
    },
    ['N', 3, 9, 10],
  );

  it('folded and fused (bias, depthwise with asymmetric pads, groups, ReLU6; a Conv read twice left apart) agree with ort', async () => agree(graph, [2, 3, 9, 10]));

  it('the profile times each fused unit once, naming every IR node it covers, its Conv first', async () => {
    const dims = [1, 3, 9, 10];
    for (const engine of ENGINES) {
      const session = await engine.load({ spec: graph.name, graph, onnx: toOnnxBytes(graph) }, parseEngineChoice(engine.name).options);
      try {
        const { layers } = await session.profile!(seededNormal(1, 'input', 270, 1), dims, 2);
        const units = Object.fromEntries(layers.filter((l) => l.kind === 'compute').map((l) => [l.name, { op: l.op, nodes: l.nodes }]));
        assert.deepEqual(units, {
          c1: { op: 'FusedConv2D', nodes: ['c1', 'bn1', 'r1'] },
          dw: { op: 'FusedDepthwiseConv2D', nodes: ['dw', 'bn2', 'r6'] },
          g: { op: 'FusedConv2D', nodes: ['g', 'bn3'] },
          c4: { op: 'Conv', nodes: ['c4'] },
          bn4: { op: 'BatchNormalization', nodes: ['bn4'] },
          side: { op: 'Relu', nodes: ['side'] },
          out: { op: 'Add', nodes: ['out'] },
        }, engine.name);
      } finally {
        await session.dispose();
      }
    }
  });
});

describe('tfjs engines: what they cannot run', () => {
  it('an unsupported operator fails the load with a message naming it and its node', async () => {
    // Boolean logic is the IR's in-graph statistics' (the activation check), not the engines'.
    const graph = graphOf({
      nodes: [node('relu', 'Relu', ['x']), node('pos', 'Greater', ['relu', 'zero']), node('not_it', 'Not', ['pos'])],
      initializers: { zero: scalar(0) },
    });
    for (const engine of ENGINES) {
      await assert.rejects(
        engine.load({ spec: 'not', graph, onnx: new Uint8Array() }, parseEngineChoice(engine.name).options),
        (e: unknown) => e instanceof UserError && /'Not'/.test(e.message) && /not_it/.test(e.message),
      );
    }
  });
});
