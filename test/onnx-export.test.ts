import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { attr, ConstTensor, inferShapes, type Graph } from '../src/ir/index.js';
import { fromOnnxBytes, IR_OPSET, toOnnxBytes, writeOnnxFile } from '../src/onnx/index.js';
import { ModelProto, type ModelMsg, type ValueInfoMsg } from '../src/onnx/schema.js';
import { graphOf, ints, node, positive, runOrt, scalar, weight } from './onnx-helpers.js';
import { testTempDir } from './temp-dir.js';

/** One small graph per operator family; every one must load and run in onnxruntime. */
const CASES: Record<string, () => Graph> = {
  'Conv (pads, strides) + BatchNormalization + Relu': () =>
    graphOf({
      nodes: [
        node('conv', 'Conv', ['x', 'w', 'b'], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) }),
        node('bn', 'BatchNormalization', ['conv', 'g', 'beta', 'mean', 'var'], { epsilon: attr.float(1e-5) }),
        node('relu', 'Relu', ['bn']),
      ],
      initializers: { w: weight(4, 3, 3, 3), b: weight(4), g: positive(4), beta: weight(4), mean: weight(4), var: positive(4) },
    }),
  'grouped, dilated and auto_pad convolutions': () =>
    graphOf(
      {
        nodes: [
          node('grouped', 'Conv', ['x', 'w1'], { group: attr.int(2), dilations: attr.ints([2, 2]), pads: attr.ints([2, 2, 2, 2]) }),
          node('depthwise', 'Conv', ['grouped', 'w2'], { group: attr.int(4), auto_pad: attr.string('SAME_UPPER'), kernel_shape: attr.ints([3, 3]) }),
          node('valid', 'Conv', ['depthwise', 'w3'], { auto_pad: attr.string('VALID'), strides: attr.ints([2, 1]) }),
        ],
        initializers: { w1: weight(4, 2, 3, 3), w2: weight(4, 1, 3, 3), w3: weight(8, 4, 3, 1) },
      },
      ['N', 4, 9, 9],
    ),
  'activations: Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish': () =>
    graphOf({
      nodes: [
        node('clip', 'Clip', ['x', 'lo', 'hi']),
        node('leaky', 'LeakyRelu', ['clip'], { alpha: attr.float(0.1) }),
        node('sig', 'Sigmoid', ['leaky']),
        node('hsig', 'HardSigmoid', ['sig'], { alpha: attr.float(0.25), beta: attr.float(0.4) }),
        node('hswish', 'HardSwish', ['hsig']),
        node('clipmax', 'Clip', ['hswish', '', 'hi']),
      ],
      initializers: { lo: scalar(0), hi: scalar(6) },
    }),
  'arithmetic with broadcasting: Add, Mul, Sub, Div': () =>
    graphOf({
      nodes: [
        node('add', 'Add', ['x', 'c1']),
        node('mul', 'Mul', ['add', 'c2']),
        node('sub', 'Sub', ['mul', 'x']),
        node('div', 'Div', ['sub', 'c3']),
      ],
      initializers: { c1: weight(3, 1, 1), c2: weight(8), c3: positive(1, 3, 8, 8) },
    }),
  'Concat and Split (even, uneven, explicit sizes)': () =>
    graphOf({
      outputs: ['cat2', 'u2'],
      nodes: [
        node('cat', 'Concat', ['x', 'x'], { axis: attr.int(1) }, ['cat']),
        node('split', 'Split', ['cat'], { axis: attr.int(1) }, ['s1', 's2']),
        node('sizes', 'Split', ['s1', 'sz'], { axis: attr.int(1) }, ['z1', 'z2']),
        node('uneven', 'Split', ['cat'], { axis: attr.int(2) }, ['u1', 'u2', 'u3']),
        node('cat2', 'Concat', ['z2', 'z1', 's2'], { axis: attr.int(-3) }),
      ],
      initializers: { sz: ints(1, 2) },
    }),
  'pools: MaxPool, AveragePool (ceil_mode, count_include_pad), GlobalAveragePool, Flatten, Gemm': () =>
    graphOf(
      {
        nodes: [
          node('max', 'MaxPool', ['x'], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
          node('avg', 'AveragePool', ['max'], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1), count_include_pad: attr.int(1) }),
          node('gap', 'GlobalAveragePool', ['avg']),
          node('flat', 'Flatten', ['gap'], { axis: attr.int(1) }),
          node('fc', 'Gemm', ['flat', 'fw', 'fb'], { transB: attr.int(1), alpha: attr.float(1), beta: attr.float(1) }),
        ],
        initializers: { fw: weight(10, 3), fb: weight(10) },
      },
      ['N', 3, 11, 11],
    ),
  'shape ops: Reshape, Transpose, Squeeze, Unsqueeze, Slice, Pad': () =>
    graphOf({
      nodes: [
        node('pad', 'Pad', ['x', 'pads', 'pv'], { mode: attr.string('constant') }),
        node('slice', 'Slice', ['pad', 'st', 'en', 'ax', 'sp']),
        node('tr', 'Transpose', ['slice'], { perm: attr.ints([0, 2, 3, 1]) }),
        node('rs', 'Reshape', ['tr', 'shape']),
        node('unsq', 'Unsqueeze', ['rs', 'a1']),
        node('sq', 'Squeeze', ['unsq', 'a1']),
        node('reflect', 'Pad', ['sq', 'pads2'], { mode: attr.string('reflect') }),
      ],
      initializers: {
        pads: ints(0, 0, 1, 1, 0, 0, 1, 1),
        pv: scalar(0.5),
        st: ints(1, -9),
        en: ints(9, 100),
        ax: ints(2, 3),
        sp: ints(2, 1),
        shape: ints(0, -1, 3),
        a1: ints(1),
        pads2: ints(0, 1, 0, 0, 1, 0),
      },
    }),
  'MatMul, Softmax, Identity, Dropout, ReduceMean': () =>
    graphOf(
      {
        outputs: ['soft', 'id'],
        nodes: [
          node('mm', 'MatMul', ['x', 'm']),
          node('drop', 'Dropout', ['mm']),
          node('mean', 'ReduceMean', ['drop'], { axes: attr.ints([1]), keepdims: attr.int(1) }),
          node('add', 'Add', ['drop', 'mean']),
          node('soft', 'Softmax', ['add'], { axis: attr.int(-1) }),
          node('id', 'Identity', ['soft']),
        ],
        initializers: { m: weight(16, 5) },
      },
      ['N', 4, 16],
    ),
};

function decodeModel(bytes: Uint8Array): ModelMsg {
  return ModelProto.decode(bytes) as unknown as ModelMsg;
}

describe('ONNX export', () => {
  for (const [name, make] of Object.entries(CASES)) {
    it(`${name}: onnxruntime runs it with the inferred output shapes`, async () => {
      const graph = make();
      const bytes = toOnnxBytes(graph);
      for (const batch of [1, 2]) {
        const outputs = await runOrt(bytes, graph, batch);
        const types = inferShapes(graph, { N: batch });
        for (const out of graph.outputs) {
          const t = outputs[out.name]!;
          assert.deepEqual([...t.dims], types.get(out.name)!.shape, `${out.name} at batch ${batch}`);
          assert.ok((t.data as Float32Array).every(Number.isFinite), `${out.name} is finite`);
        }
      }
    });
  }

  it('writes ir_version 8, the opset, producer, metadata, node names and typed attributes', () => {
    const graph = CASES['Conv (pads, strides) + BatchNormalization + Relu']!();
    const model = decodeModel(toOnnxBytes(graph));
    assert.equal(Number(model.ir_version), 8);
    assert.deepEqual(model.opset_import!.map((o) => [o.domain ?? '', Number(o.version)]), [['', IR_OPSET]]);
    assert.equal(IR_OPSET, 17);
    assert.equal(model.producer_name, 'formbench');
    assert.deepEqual(model.metadata_props!.map((p) => [p.key, p.value]), [['origin', 'onnx test']]);
    const g = model.graph!;
    assert.deepEqual(g.node!.map((n) => n.name), ['conv', 'bn', 'relu']);
    const conv = g.node![0]!.attribute!;
    assert.deepEqual(conv.map((a) => [a.name, a.type]), [['kernel_shape', 7], ['pads', 7], ['strides', 7]]);
    const eps = g.node![1]!.attribute![0]!;
    assert.equal(eps.type, 1);
    assert.ok(Math.abs(eps.f! - 1e-5) < 1e-10);
    // Inputs keep the symbolic batch; outputs carry inferred shapes.
    const dims = (v: ValueInfoMsg | undefined) => v!.type!.tensor_type!.shape!.dim!.map((d) => d.dim_param || Number(d.dim_value));
    assert.deepEqual(dims(g.input![0]), ['N', 3, 8, 8]);
    assert.deepEqual(dims(g.output![0]), ['N', 4, 4, 4]);
    // Weights as little-endian raw_data, byte for byte.
    const w = g.initializer!.find((t) => t.name === 'w')!;
    assert.equal(w.data_type, 1);
    assert.deepEqual(w.dims!.map(Number), [4, 3, 3, 3]);
    assert.equal(Buffer.compare(Buffer.from(w.raw_data!), Buffer.from(graph.initializers.get('w')!.bytes())), 0);
  });

  it('batch option binds the symbolic batch of inputs and outputs; opset option is written', async () => {
    const graph = CASES['pools: MaxPool, AveragePool (ceil_mode, count_include_pad), GlobalAveragePool, Flatten, Gemm']!();
    const model = decodeModel(toOnnxBytes(graph, { batch: 3, opset: 18 }));
    const g = model.graph!;
    const dims = (v: ValueInfoMsg | undefined) => v!.type!.tensor_type!.shape!.dim!.map((d) => d.dim_param || Number(d.dim_value));
    assert.deepEqual(dims(g.input![0]), [3, 3, 11, 11]);
    assert.deepEqual(dims(g.output![0]), [3, 10]);
    assert.equal(Number(model.opset_import![0]!.version), 18);
    // The graph itself is not changed by exporting.
    assert.deepEqual(graph.inputs[0]!.type.shape, ['N', 3, 11, 11]);
  });

  it('keeps float16, int8 and uint8 tensors as raw bytes of their type', () => {
    const f16 = new ConstTensor('float16', [2], Uint8Array.of(0x00, 0x3c, 0x00, 0xc0));
    const i8 = new ConstTensor('int8', [3], Uint8Array.of(0xff, 0x01, 0x80));
    const u8 = new ConstTensor('uint8', [3], Uint8Array.of(0, 128, 255));
    const graph = graphOf({
      inputs: [
        { name: 'h', shape: [2], dtype: 'float16' },
        { name: 'i', shape: [3], dtype: 'int8' },
        { name: 'u', shape: [3], dtype: 'uint8' },
      ],
      outputs: ['ah', 'ai', 'au'],
      nodes: [node('ah', 'Add', ['h', 'f16']), node('ai', 'Add', ['i', 'i8']), node('au', 'Add', ['u', 'u8'])],
      initializers: { f16, i8, u8 },
    });
    const g = decodeModel(toOnnxBytes(graph)).graph!;
    const byName = new Map(g.initializer!.map((t) => [t.name, t]));
    assert.deepEqual([byName.get('f16')!.data_type, byName.get('i8')!.data_type, byName.get('u8')!.data_type], [10, 3, 2]);
    assert.deepEqual([...byName.get('i8')!.raw_data!], [0xff, 0x01, 0x80]);
    const back = fromOnnxBytes(toOnnxBytes(graph));
    for (const name of ['f16', 'i8', 'u8']) {
      const t = back.initializers.get(name)!;
      assert.equal(t.dtype, graph.initializers.get(name)!.dtype);
      assert.deepEqual([...t.bytes()], [...graph.initializers.get(name)!.bytes()]);
    }
  });

  it('writes lazily generated weights once, straight from their bytes', () => {
    let calls = 0;
    const lazy = ConstTensor.lazyFloat32([64, 3, 3, 3], () => {
      calls++;
      return new Float32Array(64 * 27).fill(0.25);
    });
    const graph = graphOf({ nodes: [node('conv', 'Conv', ['x', 'w'])], initializers: { w: lazy } });
    assert.equal(calls, 0);
    const dir = testTempDir('formbench-onnx-');
    try {
      const path = join(dir, 'm.onnx');
      writeOnnxFile(graph, path);
      assert.equal(calls, 1);
      // Written piece by piece, the file is byte for byte what toOnnxBytes assembles.
      assert.equal(Buffer.compare(readFileSync(path), Buffer.from(toOnnxBytes(graph))), 0);
      assert.equal(calls, 1);
      const back = fromOnnxBytes(readFileSync(path));
      assert.ok(back.initializers.get('w')!.float32().every((v) => v === 0.25));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ONNX export → import round trip', () => {
  for (const [name, make] of Object.entries(CASES)) {
    it(`${name}: nodes, attributes, weights and shapes survive`, () => {
      const graph = make();
      const back = fromOnnxBytes(toOnnxBytes(graph));
      const elided = new Set(['Identity', 'Dropout']);
      const outputNames = new Set(graph.outputs.map((o) => o.name));
      // Identity/Dropout are rewired away unless they produce a graph output.
      const expected = graph.nodes.filter((n) => !elided.has(n.op) || n.outputs.some((o) => outputNames.has(o)));
      assert.deepEqual(
        back.nodes.map((n) => [n.name, n.op, n.outputs, n.attrs]),
        expected.map((n) => [n.name, n.op, n.outputs, n.attrs]),
      );
      if (!graph.nodes.some((n) => elided.has(n.op) || n.op === 'Split')) {
        assert.deepEqual(back.nodes.map((n) => n.inputs), graph.nodes.map((n) => n.inputs));
      }
      assert.deepEqual(back.inputs, graph.inputs);
      assert.deepEqual(back.outputs, graph.outputs);
      assert.deepEqual(back.metadata, graph.metadata);
      for (const [k, t] of graph.initializers) {
        const b = back.initializers.get(k);
        assert.ok(b, `initializer ${k}`);
        assert.deepEqual([b.dtype, b.dims], [t.dtype, t.dims]);
        assert.equal(Buffer.compare(Buffer.from(b.bytes()), Buffer.from(t.bytes())), 0, k);
      }
      for (const batch of [undefined, 4]) {
        const bindings: Record<string, number> = batch === undefined ? {} : { N: batch };
        const want = inferShapes(graph, bindings);
        const got = inferShapes(back, bindings);
        for (const out of graph.outputs) assert.deepEqual(got.get(out.name), want.get(out.name));
      }
    });
  }

  it('a symbolic batch survives; the batch option makes it static', () => {
    const graph = CASES['Conv (pads, strides) + BatchNormalization + Relu']!();
    const symbolic = fromOnnxBytes(toOnnxBytes(graph));
    assert.deepEqual(symbolic.inputs[0]!.type.shape, ['N', 3, 8, 8]);
    assert.deepEqual(symbolic.outputs[0]!.type.shape, ['N', 4, 4, 4]);
    const fixed = fromOnnxBytes(toOnnxBytes(graph, { batch: 5 }));
    assert.deepEqual(fixed.inputs[0]!.type.shape, [5, 3, 8, 8]);
    assert.deepEqual(fixed.outputs[0]!.type.shape, [5, 4, 4, 4]);
  });
});
