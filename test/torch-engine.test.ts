import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEngineChoice, type EngineSession } from '../src/engines/index.js';
import { allocatorEnv, allocatorOf, torchEngine } from '../src/engines/torch.js';
import { attr, ConstTensor, type Graph, type Node } from '../src/ir/index.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import { calibrateBatchNorm, seededNormal } from '../src/weights/index.js';
import { buildZooModel } from '../src/zoo/index.js';

const availability = await torchEngine.availability();
const skip = availability.available ? false : `torch engine unavailable: ${availability.reason}`;

/** Options as parseEngineChoice would resolve them, without needing the engine registered. */
function torchOptions(given: Record<string, string>): Record<string, string> {
  return { ...Object.fromEntries(Object.entries(torchEngine.options).map(([k, o]) => [k, o.defaultValue()])), ...given };
}

async function ortOutput(graph: Graph, onnx: Uint8Array, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const { engine, options } = parseEngineChoice('ort:opt=disabled,threads=1');
  const session = await engine.load({ spec: graph.name, graph, onnx }, options);
  try {
    return Float32Array.from(await session.run(input, dims));
  } finally {
    await session.dispose();
  }
}

/** Worst absolute difference relative to the reference's largest magnitude. */
function relativeError(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length);
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst / scale;
}

async function withSession<T>(graph: Graph, onnx: Uint8Array, options: Record<string, string>, f: (s: EngineSession) => Promise<T>): Promise<T> {
  const session = await torchEngine.load({ spec: graph.name, graph, onnx }, torchOptions(options));
  try {
    return await f(session);
  } finally {
    await session.dispose();
  }
}

async function zoo(spec: string, batch: number) {
  const model = buildZooModel(spec);
  const graph = await calibrateBatchNorm(model.graph, { gains: model.bnGains });
  const onnx = toOnnxBytes(graph);
  const dims = graph.inputs[0]!.type.shape.map((d, i) => (i === 0 ? batch : d)) as number[];
  const input = seededNormal(1, 'input', dims.reduce((a, b) => a * b, 1), 1);
  return { graph, onnx, dims, input, expected: await ortOutput(graph, onnx, input, dims) };
}

/** A hand-made graph of the ops the zoo rarely uses, with asymmetric pads and ceil_mode pools. */
function oddOpsGraph(): Graph {
  const init = new Map<string, ConstTensor>();
  const f32 = (name: string, dims: number[]) => init.set(name, ConstTensor.fromFloat32(dims, seededNormal(7, name, dims.reduce((a, b) => a * b, 1), 0.3)));
  const i64 = (name: string, values: number[]) => init.set(name, ConstTensor.fromInt64([values.length], values));
  f32('w', [8, 3, 3, 3]);
  f32('b', [8]);
  f32('wg', [8, 4, 3, 3]);
  f32('m', [1, 7]);
  init.set('lo', ConstTensor.fromFloat32([], new Float32Array([-0.5])));
  init.set('hi', ConstTensor.fromFloat32([], new Float32Array([0.75])));
  i64('pads', [0, 0, 1, 0, 0, 0, 0, 1]);
  i64('starts', [1]);
  i64('ends', [7]);
  i64('axes', [1]);
  i64('shape', [0, -1]);
  const n = (name: string, op: string, inputs: string[], attrs: Node['attrs'] = {}): Node => ({ name, op, inputs, outputs: [name], attrs });
  return {
    name: 'odd-ops',
    inputs: [{ name: 'input', type: { dtype: 'float32', shape: ['N', 3, 13, 11] } }],
    outputs: [{ name: 'out', type: { dtype: 'float32', shape: ['N', 'K'] } }],
    initializers: init,
    metadata: {},
    nodes: [
      n('conv', 'Conv', ['input', 'w', 'b'], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 1]), pads: attr.ints([0, 1, 2, 1]) }),
      n('lrelu', 'LeakyRelu', ['conv'], { alpha: attr.float(0.1) }),
      n('gconv', 'Conv', ['lrelu', 'wg'], { kernel_shape: attr.ints([3, 3]), group: attr.int(2), dilations: attr.ints([2, 1]), pads: attr.ints([2, 1, 2, 1]) }),
      n('hsig', 'HardSigmoid', ['gconv'], { alpha: attr.float(0.3), beta: attr.float(0.4) }),
      n('mul', 'Mul', ['gconv', 'hsig']),
      n('avg', 'AveragePool', ['mul'], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 0, 0, 1]), ceil_mode: attr.int(1) }),
      n('max', 'MaxPool', ['mul'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1) }),
      n('clip', 'Clip', ['max', 'lo', 'hi']),
      n('hswish', 'HardSwish', ['avg']),
      n('cat', 'Concat', ['hswish', 'clip'], { axis: attr.int(1) }),
      n('pad', 'Pad', ['cat', 'pads']),
      n('slice', 'Slice', ['pad', 'starts', 'ends', 'axes']),
      n('t', 'Transpose', ['slice'], { perm: attr.ints([0, 2, 3, 1]) }),
      n('sig', 'Sigmoid', ['t']),
      n('div', 'Div', ['t', 'sig']),
      n('sub', 'Sub', ['div', 't']),
      n('mm', 'MatMul', ['m', 'sub']),
      n('gap', 'GlobalAveragePool', ['slice']),
      n('flat', 'Flatten', ['gap']),
      n('r', 'Reshape', ['mm', 'shape']),
      n('soft', 'Softmax', ['r'], { axis: attr.int(1) }),
      n('out', 'Concat', ['soft', 'flat'], { axis: attr.int(1) }),
    ],
  };
}

describe('torch engine allocator disclosure', () => {
  it("names glibc's malloc, its tuning and a preloaded allocator", () => {
    assert.equal(allocatorOf({}), 'glibc malloc with its defaults');
    assert.equal(allocatorOf({ MALLOC_TRIM_THRESHOLD_: '1', MALLOC_ARENA_MAX: '2', PATH: '/bin' }), 'glibc malloc, tuned by MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=1');
    assert.equal(allocatorOf({ LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2' }), 'preloaded /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 with its defaults');
  });

  it('leaves the allocator alone by default and keeps large blocks with allocator=keep', () => {
    assert.equal(parseEngineChoice('torch').options['allocator'], 'system');
    assert.deepEqual(allocatorEnv('system'), {});
    assert.deepEqual(allocatorEnv('keep'), { MALLOC_MMAP_THRESHOLD_: '1000000000', MALLOC_TRIM_THRESHOLD_: '1000000000' });
    assert.equal(parseEngineChoice('torch:allocator=keep').label, 'torch:allocator=keep');
    assert.throws(() => parseEngineChoice('torch:allocator=jemalloc'), /not one of system, keep/);
  });
});

describe('torch engine', { skip }, () => {
  it('reports torch, its BLAS and oneDNN, with denormals not flushed', () => {
    assert.ok(availability.available);
    if (!availability.available) return;
    assert.match(availability.version, /^\d+\.\d+/);
    const d = availability.details!;
    for (const key of ['BLAS_INFO', 'LAPACK_INFO', 'mkldnn', 'defaultThreads', 'blasMapped', 'python']) assert.ok(key in d, key);
    assert.equal(d['flushDenormal'], 'false');
    assert.equal(d['allocator'], allocatorOf(process.env));
  });

  it('runs depthwise-bottleneck in every layout and mode with onnxruntime’s outputs', async () => {
    const m = await zoo('depthwise-bottleneck/d3/w32/r64', 2);
    for (const layout of ['nchw', 'channels_last']) {
      for (const mode of ['eager', 'jit-frozen']) {
        const out = await withSession(m.graph, m.onnx, { layout, mode, threads: '1' }, (s) => s.run(m.input, m.dims));
        const err = relativeError(out, m.expected);
        assert.ok(err < 1e-3, `layout=${layout} mode=${mode}: relative error ${err}`);
      }
    }
  });

  for (const [spec, options] of [
    ['grouped/d2/w32/r32', { threads: '2' }],
    ['factorized/d2/w32/r32', { layout: 'channels_last' }],
    ['mobilenet_v2/r64', { threads: '1' }],
    ['mobilenet_v2/r64', { mode: 'jit-frozen', layout: 'channels_last', threads: '1' }],
    ['inception_v3/r96', { threads: '1' }],
    ['depthwise-bottleneck/d2/w32/r64', { threads: '1', allocator: 'keep' }],
  ] as [string, Record<string, string>][]) {
    it(`${spec} (${JSON.stringify(options)}) agrees with onnxruntime`, async () => {
      const m = await zoo(spec, 1);
      const out = await withSession(m.graph, m.onnx, options, (s) => s.run(m.input, m.dims));
      const err = relativeError(out, m.expected);
      assert.ok(err < 1e-3, `relative error ${err}`);
    });
  }

  it('executes asymmetric pads, ceil-mode pools, Clip, Pad, Slice, Transpose, MatMul, Softmax like onnxruntime', async () => {
    const graph = oddOpsGraph();
    const onnx = toOnnxBytes(graph);
    const dims = [2, 3, 13, 11];
    const input = seededNormal(3, 'input', 2 * 3 * 13 * 11, 1);
    const expected = await ortOutput(graph, onnx, input, dims);
    for (const options of [{ threads: '1' }, { threads: '1', layout: 'channels_last', mode: 'jit-frozen' }] as Record<string, string>[]) {
      const out = await withSession(graph, onnx, options, (s) => s.run(input, dims));
      const err = relativeError(out, expected);
      assert.ok(err < 1e-3, `${JSON.stringify(options)}: relative error ${err}`);
    }
  });

  it('times the forward pass in the worker, re-using the input it already holds', async () => {
    const m = await zoo('grouped/d2/w32/r32', 1);
    await withSession(m.graph, m.onnx, { threads: '1', mode: 'jit-frozen' }, async (s) => {
      const first = await s.run(m.input, m.dims);
      for (let i = 0; i < 3; i++) {
        const { ms } = await s.timedRun!(m.input, m.dims);
        assert.ok(ms > 0 && Number.isFinite(ms), `ms=${ms}`);
      }
      // A different input object (same dims) is sent, not repeated; the next run gets the first again.
      const other = seededNormal(2, 'input', m.input.length, 1);
      assert.ok((await s.timedRun!(other, m.dims)).ms > 0);
      const again = await s.run(m.input, m.dims);
      assert.deepEqual(again, first);
      // Batch 3 after batch 1 in jit-frozen mode re-traces for the new shape.
      const dims3 = [3, ...m.dims.slice(1)];
      const three = await s.run(seededNormal(1, 'input', m.input.length * 3, 1), dims3);
      assert.equal(three.length, 3000);
    });
  });

  it('fails the load naming an operator the worker does not implement, and its node', async () => {
    const graph: Graph = {
      name: 'unsupported',
      inputs: [{ name: 'x', type: { dtype: 'float32', shape: ['N', 4] } }],
      outputs: [{ name: 'y', type: { dtype: 'bool', shape: ['N', 4] } }],
      initializers: new Map([['zero', ConstTensor.fromFloat32([], Float32Array.of(0))]]),
      metadata: {},
      // Boolean logic is the IR's in-graph statistics' (the activation check), not the engines'.
      nodes: [
        { name: 'relu0', op: 'Relu', inputs: ['x'], outputs: ['r'], attrs: {} },
        { name: 'pos0', op: 'Greater', inputs: ['r', 'zero'], outputs: ['p'], attrs: {} },
        { name: 'not0', op: 'Not', inputs: ['p'], outputs: ['y'], attrs: {} },
      ],
    };
    await assert.rejects(
      torchEngine.load({ spec: 'unsupported', graph, onnx: new Uint8Array() }, torchOptions({ threads: '1' })),
      (e: Error) => /unsupported operator 'Not'/.test(e.message) && /node 'not0'/.test(e.message),
    );
  });

  it('rejects bad options when the choice is made, before any worker starts', () => {
    // Engines receive options the registry has parsed (see engines/options.ts).
    assert.throws(() => parseEngineChoice('torch:threads=0'), /option threads=0 of engine torch: must be a positive integer/);
    assert.throws(() => parseEngineChoice('torch:layout=nhwc'), /option layout=nhwc of engine torch is not one of nchw, channels_last/);
  });
});
