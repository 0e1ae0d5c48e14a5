import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { UserError } from '../src/errors.js';
import { GraphError, opDef, type Graph } from '../src/ir/index.js';
import { fromOnnxBytes, readOnnxFile, toOnnxBytes } from '../src/onnx/index.js';
import { OP_IMPORTERS } from '../src/onnx/normalize.js';
import { ModelProto } from '../src/onnx/schema.js';
import { floatTensorMsg, maxDiff, modelBytes, pseudoRandom, runOrt, valueInfoMsg, type ProtoModel } from './onnx-helpers.js';
import { testTempDir } from './temp-dir.js';

const f32 = (name: string, dims: number[], seed = 3, scale = 0.5) =>
  floatTensorMsg(name, dims, pseudoRandom(dims.reduce((a, b) => a * b, 1), seed, scale));
const i64 = (name: string, values: number[], dims = [values.length]) => ({ name, dims, data_type: 7, int64_data: values });

/** Runs the original file and its import (re-exported) in onnxruntime; they must agree. */
async function assertSameOutputs(original: Uint8Array, graph: Graph, batch = 2): Promise<void> {
  const want = await runOrt(original, graph, batch);
  const got = await runOrt(toOnnxBytes(graph), graph, batch);
  for (const out of graph.outputs) {
    const a = want[out.name]!;
    const b = got[out.name]!;
    assert.deepEqual([...b.dims], [...a.dims], out.name);
    assert.ok(maxDiff(a.data as Float32Array, b.data as Float32Array) < 1e-5, `${out.name} differs`);
  }
}

function throwsUserError(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

describe('ONNX import: operator table', () => {
  it('covers the required operators, and every kept one is an IR operator', () => {
    const required =
      'Conv BatchNormalization Relu Clip LeakyRelu Sigmoid HardSigmoid HardSwish Add Mul Sub Div Concat Split MaxPool AveragePool GlobalAveragePool Flatten Reshape Transpose Squeeze Unsqueeze Slice Gemm MatMul Pad Softmax Identity Dropout Constant';
    for (const op of required.split(' ')) assert.ok(OP_IMPORTERS[op], op);
    for (const [op, imp] of Object.entries(OP_IMPORTERS)) if (!imp.foldOnly) assert.ok(opDef(op), `${op} is not in the IR`);
  });
});

describe('ONNX import: older opsets become the IR (opset 17) forms', () => {
  const legacy: ProtoModel = {
    opset: 7,
    inputs: [valueInfoMsg('x', ['N', 4, 6, 6]), valueInfoMsg('w', [4, 4, 1, 1])],
    outputs: [valueInfoMsg('out', ['N', 4, 5, 6]), valueInfoMsg('p2', ['N', 2, 6, 6])],
    initializers: [f32('w', [4, 4, 1, 1]), f32('bias', [4, 1, 1], 5), f32('scale', [4], 6, 0.2), f32('shift', [4], 7), f32('mean', [4], 8), floatTensorMsg('var', [4], Float32Array.of(1, 2, 3, 4))],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], name: 'conv', attrs: { kernel_shape: [1, 1] } },
      { op: 'BatchNormalization', inputs: ['c', 'scale', 'shift', 'mean', 'var'], outputs: ['bn'], name: 'bn', attrs: { spatial: 1, epsilon: { float: 1e-3 } } },
      { op: 'Add', inputs: ['bn', 'bias'], outputs: ['biased'], name: 'add_bias' },
      { op: 'Clip', inputs: ['biased'], outputs: ['clip'], name: 'relu6', attrs: { min: { float: 0 }, max: { float: 6 } } },
      { op: 'Dropout', inputs: ['clip'], outputs: ['drop', 'mask'], name: 'drop', attrs: { ratio: { float: 0.5 } } },
      { op: 'Split', inputs: ['drop'], outputs: ['p1', 'p2'], name: 'split', attrs: { axis: 1, split: [2, 2] } },
      { op: 'Unsqueeze', inputs: ['p1'], outputs: ['u'], name: 'unsq', attrs: { axes: [0] } },
      { op: 'Squeeze', inputs: ['u'], outputs: ['s'], name: 'sq', attrs: { axes: [0] } },
      { op: 'Slice', inputs: ['s'], outputs: ['sl'], name: 'slice', attrs: { starts: [1], ends: [100], axes: [2] } },
      { op: 'Pad', inputs: ['sl'], outputs: ['out'], name: 'pad', attrs: { pads: [0, 0, 0, 0, 0, 2, 0, 0], value: { float: 0.5 } } },
    ],
  };

  it('opset 7 attributes become inputs; onnxruntime agrees with the original', async () => {
    const bytes = modelBytes(legacy);
    const graph = fromOnnxBytes(bytes);
    const byName = new Map(graph.nodes.map((n) => [n.name, n]));
    // Graph inputs that are initializers (old exporters) are not inputs.
    assert.deepEqual(graph.inputs.map((i) => i.name), ['x']);
    assert.deepEqual(byName.get('bn')!.attrs, { epsilon: { type: 'float', value: 1e-3 } });
    const clip = byName.get('relu6')!;
    assert.deepEqual(clip.attrs, {});
    assert.deepEqual(clip.inputs.slice(1).map((n) => [...graph.initializers.get(n)!.float32()]), [[0], [6]]);
    assert.ok(!byName.has('drop'), 'Dropout is elided');
    assert.equal(byName.get('split')!.inputs[0], 'clip');
    const constInput = (n: string, i: number) => graph.initializers.get(byName.get(n)!.inputs[i]!)!.integers();
    assert.deepEqual(constInput('split', 1), [2, 2]);
    assert.deepEqual(constInput('unsq', 1), [0]);
    assert.deepEqual(constInput('sq', 1), [0]);
    assert.deepEqual([constInput('slice', 1), constInput('slice', 2), constInput('slice', 3)], [[1], [100], [2]]);
    assert.deepEqual(constInput('pad', 1), [0, 0, 0, 0, 0, 2, 0, 0]);
    assert.deepEqual([...graph.initializers.get(byName.get('pad')!.inputs[2]!)!.float32()], [0.5]);
    for (const n of graph.nodes) for (const k of ['split', 'axes', 'starts', 'ends', 'pads', 'value', 'min', 'max', 'broadcast', 'spatial']) assert.ok(!(k in n.attrs), `${n.name}.${k}`);
    assert.deepEqual(graph.outputs.map((o) => o.type.shape), [['N', 4, 5, 6], ['N', 2, 6, 6]]);
    await assertSameOutputs(bytes, graph);
  });

  it('opset 6: axis-aligned broadcasting of a constant becomes numpy broadcasting', () => {
    const graph = fromOnnxBytes(
      modelBytes({
        opset: 6,
        inputs: [valueInfoMsg('x', ['N', 4, 6, 6])],
        outputs: [valueInfoMsg('y', ['N', 4, 6, 6])],
        initializers: [f32('bias', [4], 5), f32('row', [6], 6)],
        nodes: [
          { op: 'Add', inputs: ['x', 'bias'], outputs: ['a'], name: 'add_bias', attrs: { broadcast: 1, axis: 1, consumed_inputs: [0, 0] } },
          { op: 'Mul', inputs: ['a', 'row'], outputs: ['b'], name: 'mul_row', attrs: { broadcast: 1, axis: 3 } },
          { op: 'Relu', inputs: ['b'], outputs: ['y'], name: 'relu', attrs: { consumed_inputs: [0] } },
        ],
      }),
    );
    const add = graph.nodes[0]!;
    assert.deepEqual(add.attrs, {});
    assert.deepEqual(graph.initializers.get(add.inputs[1]!)!.dims, [4, 1, 1]);
    assert.equal(graph.initializers.get(add.inputs[1]!)!.bytes().buffer, graph.initializers.get('bias')?.bytes().buffer ?? graph.initializers.get(add.inputs[1]!)!.bytes().buffer);
    assert.deepEqual(graph.nodes[1]!.inputs, ['a', 'row']);
    assert.deepEqual(graph.nodes.map((n) => n.attrs), [{}, {}, {}]);
  });

  it('opset 18: ReduceMean axes input → attribute, Split num_outputs; Softmax before 13 gets its axis', async () => {
    const bytes = modelBytes({
      opset: 18,
      inputs: [valueInfoMsg('x', ['N', 6, 4])],
      outputs: [valueInfoMsg('y', ['N', 1, 4]), valueInfoMsg('b', ['N', 2, 4])],
      initializers: [i64('axes', [1])],
      nodes: [
        { op: 'ReduceMean', inputs: ['x', 'axes'], outputs: ['y'], name: 'mean', attrs: { keepdims: 1 } },
        { op: 'Split', inputs: ['x'], outputs: ['a', 'b', 'c'], name: 'split', attrs: { axis: 1, num_outputs: 3 } },
      ],
    });
    const graph = fromOnnxBytes(bytes);
    const mean = graph.nodes.find((n) => n.name === 'mean')!;
    assert.deepEqual(mean.inputs, ['x']);
    assert.deepEqual(mean.attrs['axes'], { type: 'ints', value: [1] });
    assert.deepEqual(graph.nodes.find((n) => n.name === 'split')!.attrs, { axis: { type: 'int', value: 1 } });
    await assertSameOutputs(bytes, graph);

    const soft = modelBytes({
      opset: 11,
      inputs: [valueInfoMsg('x', ['N', 10])],
      outputs: [valueInfoMsg('y', ['N', 10])],
      nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'] }],
    });
    const s = fromOnnxBytes(soft);
    assert.deepEqual(s.nodes[0]!.attrs, { axis: { type: 'int', value: 1 } });
    await assertSameOutputs(soft, s);
    const soft4d = modelBytes({
      opset: 11,
      inputs: [valueInfoMsg('x', ['N', 10, 2, 2])],
      outputs: [valueInfoMsg('y', ['N', 10, 2, 2])],
      nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], name: 'sm' }],
    });
    throwsUserError(() => fromOnnxBytes(soft4d), /unsupported operator 'Softmax' \(node 'sm'\): opset-11 Softmax over the flattened axes/);
  });

  it('Constant nodes become initializers; typed data fields become bytes; float16/int8/uint8 keep their bytes', async () => {
    const bytes = modelBytes({
      opset: 13,
      inputs: [valueInfoMsg('x', [2, 3]), valueInfoMsg('h', [2], 10), valueInfoMsg('q', [3], 3), valueInfoMsg('u', [3], 2)],
      outputs: [valueInfoMsg('y', [2, 3]), valueInfoMsg('hh', [2], 10), valueInfoMsg('qq', [3], 3), valueInfoMsg('uu', [3], 2)],
      initializers: [
        { name: 'fd', dims: [3], data_type: 1, float_data: [1, 2, 3] },
        { name: 'dd', dims: [3], data_type: 11, double_data: [0.5, 0.25, 0.125] },
        { name: 'h16', dims: [2], data_type: 10, int32_data: [0x3c00, 0xc000] },
        { name: 'q8', dims: [3], data_type: 3, int32_data: [-1, 1, -128] },
        { name: 'u8', dims: [3], data_type: 2, raw_data: Uint8Array.of(0, 128, 255) },
      ],
      nodes: [
        { op: 'Constant', inputs: [], outputs: ['k'], attrs: { value: { tensor: { dims: [1, 3], data_type: 1, float_data: [10, 20, 30] } } } },
        { op: 'Constant', inputs: [], outputs: ['shape'], attrs: { value_ints: [3, 2] } },
        { op: 'Mul', inputs: ['x', 'k'], outputs: ['m'] },
        { op: 'Add', inputs: ['m', 'fd'], outputs: ['a'] },
        { op: 'Cast', inputs: ['dd'], outputs: ['d32'], attrs: { to: 1 } },
        { op: 'Sub', inputs: ['a', 'd32'], outputs: ['r'] },
        { op: 'Reshape', inputs: ['r', 'shape'], outputs: ['r2'] },
        { op: 'Reshape', inputs: ['r2', 'back'], outputs: ['y'] },
        { op: 'Constant', inputs: [], outputs: ['back'], attrs: { value: { tensor: { dims: [2], data_type: 7, int64_data: [2, 3] } } } },
        { op: 'Add', inputs: ['h', 'h16'], outputs: ['hh'] },
        { op: 'Add', inputs: ['q', 'q8'], outputs: ['qq'] },
        { op: 'Add', inputs: ['u', 'u8'], outputs: ['uu'] },
      ],
    });
    // The Constant 'back' comes after its reader: import must still work (evaluated in topological order).
    const graph = fromOnnxBytes(bytes);
    assert.ok(!graph.nodes.some((n) => n.op === 'Constant' || n.op === 'Cast'));
    assert.deepEqual(graph.nodes.map((n) => n.name), ['Mul_2', 'Add_3', 'Sub_5', 'Reshape_6', 'Reshape_7', 'Add_9', 'Add_10', 'Add_11']);
    const ins = (op: string) => graph.nodes.find((n) => n.name === op)!.inputs;
    assert.deepEqual([...graph.initializers.get(ins('Mul_2')[1]!)!.float32()], [10, 20, 30]);
    assert.deepEqual([...graph.initializers.get('fd')!.float32()], [1, 2, 3]);
    assert.deepEqual([...graph.initializers.get(ins('Sub_5')[1]!)!.float32()], [0.5, 0.25, 0.125]);
    assert.deepEqual(graph.initializers.get(ins('Reshape_6')[1]!)!.integers(), [3, 2]);
    const h16 = graph.initializers.get('h16')!;
    assert.equal(h16.dtype, 'float16');
    assert.deepEqual([...h16.bytes()], [0x00, 0x3c, 0x00, 0xc0]);
    const q8 = graph.initializers.get('q8')!;
    assert.equal(q8.dtype, 'int8');
    assert.deepEqual(q8.integers(), [-1, 1, -128]);
    assert.equal(graph.initializers.get('u8')!.dtype, 'uint8');
    assert.deepEqual(graph.initializers.get('u8')!.integers(), [0, 128, 255]);
    // The re-exported model computes y = x·k + fd − dd and passes the narrow types through.
    const session = await ort.InferenceSession.create(toOnnxBytes(graph));
    try {
      const x = Float32Array.of(1, 2, 3, 4, 5, 6);
      const out = await session.run({
        x: new ort.Tensor('float32', x, [2, 3]),
        h: new ort.Tensor('float16', Uint16Array.of(0x3c00, 0x3c00), [2]),
        q: new ort.Tensor('int8', Int8Array.of(1, 1, 1), [3]),
        u: new ort.Tensor('uint8', Uint8Array.of(0, 0, 0), [3]),
      });
      const k = [10, 20, 30];
      const fd = [1, 2, 3];
      const dd = [0.5, 0.25, 0.125];
      assert.deepEqual([...(out['y']!.data as Float32Array)], [...x].map((v, i) => v * k[i % 3]! + fd[i % 3]! - dd[i % 3]!));
      assert.deepEqual([...(out['hh']!.data as Uint16Array)], [0x4000, 0xbc00]); // float16 1+1 = 2, 1−2 = −1
      assert.deepEqual([...(out['qq']!.data as Int8Array)], [0, 2, -127]);
      assert.deepEqual([...(out['uu']!.data as Uint8Array)], [0, 128, 255]);
    } finally {
      await session.release();
    }
  });
});

describe('ONNX import: shape arithmetic folding', () => {
  /** x.view(x.size(0), -1) as PyTorch exports it, after a pooling. */
  function flattenByShape(batch: number | string): Uint8Array {
    return modelBytes({
      opset: 13,
      inputs: [valueInfoMsg('x', [batch, 4, 6, 6])],
      outputs: [valueInfoMsg('y', [batch, 10])],
      initializers: [i64('zero', [0], []), i64('ax0', [0]), f32('fw', [10, 36]), f32('fb', [10], 9)],
      nodes: [
        { op: 'AveragePool', inputs: ['x'], outputs: ['p'], name: 'pool', attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: 'Shape', inputs: ['p'], outputs: ['shp'], name: 'shape' },
        { op: 'Gather', inputs: ['shp', 'zero'], outputs: ['n'], name: 'gather', attrs: { axis: 0 } },
        { op: 'Unsqueeze', inputs: ['n', 'ax0'], outputs: ['n1'], name: 'unsq' },
        { op: 'Constant', inputs: [], outputs: ['minus1'], name: 'c', attrs: { value: { tensor: { dims: [1], data_type: 7, int64_data: [-1] } } } },
        { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['target'], name: 'concat', attrs: { axis: 0 } },
        { op: 'Reshape', inputs: ['p', 'target'], outputs: ['flat'], name: 'reshape' },
        { op: 'Gemm', inputs: ['flat', 'fw', 'fb'], outputs: ['y'], name: 'fc', attrs: { transB: 1 } },
      ],
    });
  }

  it('static shapes: Shape→Gather→Unsqueeze→Concat→Reshape folds to a constant shape', async () => {
    const bytes = flattenByShape(3);
    const graph = fromOnnxBytes(bytes);
    assert.deepEqual(graph.nodes.map((n) => n.op), ['AveragePool', 'Reshape', 'Gemm']);
    const reshape = graph.nodes[1]!;
    assert.deepEqual(graph.initializers.get(reshape.inputs[1]!)!.integers(), [3, -1]);
    // The folding's intermediate constants are gone.
    assert.deepEqual([...graph.initializers.keys()].sort(), ['fb', 'fw', reshape.inputs[1]!].sort());
    assert.deepEqual(graph.outputs[0]!.type.shape, [3, 10]);
    await assertSameOutputs(bytes, graph, 3);
  });

  it('symbolic batch: the batch entry of the shape vector becomes 0 (copy the dimension)', async () => {
    const bytes = flattenByShape('N');
    const graph = fromOnnxBytes(bytes);
    const reshape = graph.nodes.find((n) => n.op === 'Reshape')!;
    assert.deepEqual(graph.initializers.get(reshape.inputs[1]!)!.integers(), [0, -1]);
    assert.deepEqual(graph.inputs[0]!.type.shape, ['N', 4, 6, 6]);
    await assertSameOutputs(bytes, graph, 2);
    await assertSameOutputs(bytes, graph, 5);
  });

  it('folds ConstantOfShape, Range, Expand, Where, Equal, Cast and Slice on constants', () => {
    const bytes = modelBytes({
      opset: 13,
      inputs: [valueInfoMsg('x', [2, 3, 4])],
      outputs: [valueInfoMsg('y', [2, 4, 3])],
      initializers: [i64('three', [3], []), i64('zero', [0], []), i64('one', [1], []), i64('st', [1]), i64('en', [3])],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Range', inputs: ['zero', 'three', 'one'], outputs: ['r'] }, // [0 1 2]
        { op: 'Equal', inputs: ['r', 'one'], outputs: ['eq'] }, // [F T F]
        { op: 'Slice', inputs: ['s', 'st', 'en'], outputs: ['hw'] }, // [3 4]
        { op: 'ConstantOfShape', inputs: ['hw'], outputs: ['zeros'], attrs: { value: { tensor: { dims: [1], data_type: 7, int64_data: [7] } } } },
        { op: 'Expand', inputs: ['one', 'hw'], outputs: ['ones'] },
        { op: 'Cast', inputs: ['eq'], outputs: ['eqi'], attrs: { to: 7 } },
        { op: 'Where', inputs: ['eq', 's', 'r'], outputs: ['perm'] }, // [0 3 2]
        { op: 'Add', inputs: ['perm', 'eqi'], outputs: ['perm2'] }, // [0 4 2]
        { op: 'Sub', inputs: ['perm2', 'eqi'], outputs: ['perm3'] },
        { op: 'Mul', inputs: ['perm3', 'one'], outputs: ['perm4'] },
        { op: 'Div', inputs: ['perm4', 'one'], outputs: ['perm5'] },
        { op: 'Gather', inputs: ['s', 'idx'], outputs: ['target'], attrs: { axis: 0 } },
        { op: 'Constant', inputs: [], outputs: ['idx'], attrs: { value_ints: [0, 2, 1] } },
        { op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'], name: 'reshape' },
        { op: 'Concat', inputs: ['zeros', 'ones'], outputs: ['unused'], attrs: { axis: 0 } },
      ],
    });
    const graph = fromOnnxBytes(bytes);
    assert.deepEqual(graph.nodes.map((n) => n.op), ['Reshape']);
    assert.deepEqual(graph.initializers.get(graph.nodes[0]!.inputs[1]!)!.integers(), [2, 4, 3]);
    assert.equal(graph.initializers.size, 1);
  });

  it('shape arithmetic on a symbolic dimension is a clear error naming the node', () => {
    const bytes = modelBytes({
      opset: 13,
      inputs: [valueInfoMsg('x', ['batch', 4])],
      outputs: [valueInfoMsg('y', ['batch', 4])],
      initializers: [i64('two', [2])],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'], name: 'shape' },
        { op: 'Mul', inputs: ['s', 'two'], outputs: ['s2'], name: 'double_it' },
        { op: 'Reshape', inputs: ['x', 's2'], outputs: ['y'], name: 'reshape' },
      ],
    });
    throwsUserError(() => fromOnnxBytes(bytes), /'double_it'.*symbolic dimension.*static input shape/);
  });
});

describe('ONNX import: files and errors', () => {
  const tiny: ProtoModel = {
    opset: 17,
    inputs: [valueInfoMsg('x', ['N', 3, 4, 4])],
    outputs: [valueInfoMsg('y', ['N', 2, 4, 4])],
    initializers: [f32('w', [2, 3, 1, 1])],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
      { op: 'Relu', inputs: ['c'], outputs: ['r'], name: 'Conv_0' },
      { op: 'Identity', inputs: ['r'], outputs: ['y'] },
    ],
  };

  it('names unnamed nodes <op>_<index> without clashing; an Identity producing a graph output stays', () => {
    const graph = fromOnnxBytes(modelBytes(tiny));
    assert.deepEqual(graph.nodes.map((n) => [n.name, n.op]), [['Conv_0_1', 'Conv'], ['Conv_0', 'Relu'], ['Identity_2', 'Identity']]);
    assert.deepEqual(graph.outputs.map((o) => o.name), ['y']);
  });

  it('untyped graph outputs take the inferred type; IR-v1 attributes without a type are read by their field', () => {
    const bytes = ModelProto.encode({
      ir_version: 3,
      opset_import: [{ domain: '', version: 9 }],
      graph: {
        node: [{ op_type: 'LeakyRelu', input: ['x'], output: ['y'], name: 'leaky', attribute: [{ name: 'alpha', f: 0.2 }] }],
        input: [valueInfoMsg('x', ['N', 3])],
        output: [{ name: 'y' }],
      },
    }).finish();
    const graph = fromOnnxBytes(bytes);
    assert.deepEqual(graph.outputs, [{ name: 'y', type: { dtype: 'float32', shape: ['N', 3] } }]);
    assert.deepEqual(graph.nodes[0]!.attrs, { alpha: { type: 'float', value: 0.2 } });
  });

  it('raw_data stays a view into the file buffer (no copy)', () => {
    const bytes = Buffer.from(modelBytes(tiny));
    for (const input of [bytes, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)]) {
      const w = fromOnnxBytes(input).initializers.get('w')!.bytes();
      assert.equal(w.buffer, input.buffer, 'shares the buffer');
      assert.ok(w.byteOffset >= input.byteOffset && w.byteOffset + w.byteLength <= input.byteOffset + input.byteLength);
    }
  });

  it('reads files, and external data beside them', () => {
    const dir = testTempDir('formbench-onnx-');
    try {
      const weights = pseudoRandom(6, 4);
      const data = Buffer.alloc(4096 + 24);
      Buffer.from(weights.buffer).copy(data, 4096);
      writeFileSync(join(dir, 'm.data'), data);
      const external = {
        ...tiny,
        initializers: [
          {
            name: 'w',
            dims: [2, 3, 1, 1],
            data_type: 1,
            data_location: 1,
            external_data: [
              { key: 'location', value: 'm.data' },
              { key: 'offset', value: '4096' },
              { key: 'length', value: '24' },
            ],
          },
        ],
      };
      const path = join(dir, 'm.onnx');
      writeFileSync(path, modelBytes(external));
      const graph = readOnnxFile(path);
      assert.deepEqual([...graph.initializers.get('w')!.float32()], [...weights]);
      throwsUserError(() => fromOnnxBytes(readFileSync(path)), /tensor 'w' keeps its data in the external file 'm\.data'/);
      writeFileSync(path, modelBytes({ ...external, initializers: [{ ...external.initializers[0]!, external_data: [{ key: 'location', value: '../../etc/passwd' }] }] }));
      throwsUserError(() => readOnnxFile(path), /outside the model's folder/);
      throwsUserError(() => readOnnxFile(join(dir, 'missing.onnx')), /no such file: .*missing\.onnx/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('random bytes, a truncated file and an empty model are "not a valid ONNX model"', () => {
    const good = modelBytes(tiny);
    const random = Buffer.from(pseudoRandom(64, 11).buffer);
    throwsUserError(() => fromOnnxBytes(random, { source: 'noise.onnx' }), /^noise\.onnx is not a valid ONNX model \(.+\)$/);
    throwsUserError(() => fromOnnxBytes(good.subarray(0, Math.floor(good.length * 0.6)), { source: 'cut.onnx' }), /^cut\.onnx is not a valid ONNX model \(.+\)$/);
    throwsUserError(() => fromOnnxBytes(new Uint8Array(0), { source: 'empty.onnx' }), /^empty\.onnx is not a valid ONNX model/);
    // A tensor whose raw_data does not match its shape is corrupt.
    const bad = modelBytes({ ...tiny, initializers: [floatTensorMsg('w', [2, 3, 1, 1], new Float32Array(5))] });
    throwsUserError(() => fromOnnxBytes(bad), /tensor 'w' holds 20 bytes of data for 6 float32 values/);
  });

  it('an unsupported operator names the operator and node, and lists what is supported', () => {
    const bytes = modelBytes({ ...tiny, nodes: [...tiny.nodes.slice(0, 2), { op: 'NonMaxSuppression', inputs: ['r'], outputs: ['y'], name: 'nms' }] });
    assert.throws(
      () => fromOnnxBytes(bytes),
      (e: unknown) => e instanceof UserError && e.message === "unsupported operator 'NonMaxSuppression' (node 'nms')" && /Conv/.test(e.hint ?? '') && /Gather/.test(e.hint ?? ''),
    );
    const custom = modelBytes({ ...tiny, nodes: [...tiny.nodes.slice(0, 2), { op: 'FusedConv', domain: 'com.microsoft', inputs: ['r'], outputs: ['y'], name: 'fused' }] });
    throwsUserError(() => fromOnnxBytes(custom), /unsupported operator 'FusedConv' \(node 'fused'\): it is in the 'com\.microsoft' domain/);
    const loop = modelBytes({ ...tiny, nodes: [...tiny.nodes.slice(0, 2), { op: 'Loop', inputs: ['', '', 'r'], outputs: ['y'], name: 'loop' }] });
    throwsUserError(() => fromOnnxBytes(loop), /unsupported operator 'Loop' \(node 'loop'\)/);
  });

  it('a malformed graph gets the IR error naming the node', () => {
    const bytes = modelBytes({ ...tiny, initializers: [f32('w', [2, 5, 1, 1])] });
    assert.throws(() => fromOnnxBytes(bytes), (e: unknown) => e instanceof GraphError && /Conv_0_1/.test(e.message));
  });
});
