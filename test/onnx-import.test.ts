import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../src/errors.js';
import { getInts, inferShapes, type Graph } from '../src/ir/index.js';
import { fromOnnxBytes, readOnnxFile, toOnnxBytes } from '../src/onnx/index.js';
import { ModelProto } from '../src/onnx/schema.js';
import { buildZooModel } from '../src/zoo/index.js';
import { testTempDir } from './temp-dir.js';

/** Hand-written ONNX models, as other exporters (and older opsets) write them. */
interface RawNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, { i?: number; f?: number; ints?: number[]; t?: object }>;
  name?: string;
}

const ATTR_TYPES = { f: 1, i: 2, t: 4, ints: 7 } as const;

function rawModel(opset: number, input: (number | string)[], nodes: RawNode[], output: string, initializers: object[] = []): Uint8Array {
  const info = (name: string, shape: (number | string)[]) => ({
    name,
    type: { tensor_type: { elem_type: 1, shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  });
  return ModelProto.encode({
    ir_version: 7,
    opset_import: [{ domain: '', version: opset }],
    graph: {
      name: 'raw',
      input: [info('x', input)],
      output: [info(output, [])],
      initializer: initializers,
      node: nodes.map((n, i) => ({
        name: n.name ?? '',
        op_type: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([name, a]) => {
          const [kind, value] = Object.entries(a)[0]!;
          return { name, type: ATTR_TYPES[kind as keyof typeof ATTR_TYPES], [kind]: value, _i: i };
        }),
      })),
    },
  }).finish();
}

const floats = (name: string, dims: number[], values: number[]) => ({ name, dims, data_type: 1, float_data: values });
const int64s = (name: string, values: number[]) => ({ name, dims: [values.length], data_type: 7, int64_data: values });

function opsOf(g: Graph): string[] {
  return g.nodes.map((n) => n.op);
}

describe('ONNX import', () => {
  it('normalises opset-9 forms: Clip bounds, Unsqueeze axes, Split sizes, Pad attributes', () => {
    const g = fromOnnxBytes(
      rawModel(
        9,
        [1, 4, 6, 6],
        [
          { op: 'Clip', inputs: ['x'], outputs: ['c'], attrs: { min: { f: 0 }, max: { f: 6 } } },
          { op: 'Split', inputs: ['c'], outputs: ['s0', 's1'], attrs: { axis: { i: 1 }, split: { ints: [1, 3] } } },
          { op: 'Pad', inputs: ['s1'], outputs: ['p'], attrs: { pads: { ints: [0, 0, 1, 1, 0, 0, 1, 1] } } },
          { op: 'ReduceMean', inputs: ['p'], outputs: ['m'], attrs: { axes: { ints: [2, 3] }, keepdims: { i: 0 } } },
          { op: 'Unsqueeze', inputs: ['m'], outputs: ['u'], attrs: { axes: { ints: [2] } } },
        ],
        'u',
      ),
    );
    assert.deepEqual(opsOf(g), ['Clip', 'Split', 'Pad', 'ReduceMean', 'Unsqueeze']);
    const clip = g.nodes[0]!;
    assert.deepEqual(clip.inputs.slice(1).map((n) => [...g.initializers.get(n)!.float32()]), [[0], [6]]);
    assert.deepEqual(g.initializers.get(g.nodes[1]!.inputs[1]!)!.integers(), [1, 3]);
    assert.deepEqual(g.initializers.get(g.nodes[2]!.inputs[1]!)!.integers(), [0, 0, 1, 1, 0, 0, 1, 1]);
    const types = inferShapes(g);
    assert.deepEqual(types.get('p')!.shape, [1, 3, 8, 8]);
    assert.deepEqual(types.get('u')!.shape, [1, 3, 1]);
  });

  it('folds Shape → Gather → Unsqueeze → Concat → Reshape to a constant when shapes are static', () => {
    const g = fromOnnxBytes(
      rawModel(
        13,
        [2, 8, 3, 3],
        [
          { op: 'Shape', inputs: ['x'], outputs: ['shape'] },
          { op: 'Constant', inputs: [], outputs: ['zero'], attrs: { value: { t: { dims: [], data_type: 7, int64_data: [0] } } } },
          { op: 'Gather', inputs: ['shape', 'zero'], outputs: ['n'], attrs: { axis: { i: 0 } } },
          { op: 'Unsqueeze', inputs: ['n', 'axes0'], outputs: ['n1'] },
          { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['target'], attrs: { axis: { i: 0 } } },
          { op: 'Reshape', inputs: ['x', 'target'], outputs: ['flat'] },
          { op: 'Gemm', inputs: ['flat', 'w'], outputs: ['y'], attrs: { transB: { i: 1 } } },
        ],
        'y',
        [int64s('axes0', [0]), int64s('minus1', [-1]), floats('w', [5, 72], new Array(360).fill(0.5))],
      ),
    );
    assert.deepEqual(opsOf(g), ['Reshape', 'Gemm']);
    assert.deepEqual(g.initializers.get(g.nodes[0]!.inputs[1]!)!.integers(), [2, -1]);
    assert.deepEqual([...g.initializers.keys()].sort(), [g.nodes[0]!.inputs[1]!, 'w'].sort(), 'the shape constants folded away');
    assert.deepEqual(inferShapes(g).get('y')!.shape, [2, 5]);
  });

  it('elides Identity and Dropout, keeping an Identity that feeds the graph output', () => {
    const g = fromOnnxBytes(
      rawModel(
        13,
        ['N', 4],
        [
          { op: 'Identity', inputs: ['x'], outputs: ['a'] },
          { op: 'Dropout', inputs: ['a'], outputs: ['b', 'mask'] },
          { op: 'Relu', inputs: ['b'], outputs: ['c'] },
          { op: 'Identity', inputs: ['c'], outputs: ['out'] },
        ],
        'out',
      ),
    );
    assert.deepEqual(opsOf(g), ['Relu', 'Identity']);
    assert.deepEqual(g.nodes[0]!.inputs, ['x']);
  });

  it('names nodes that have no name and keeps attributes typed', () => {
    const g = fromOnnxBytes(
      rawModel(13, [1, 2, 5, 5], [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: { ints: [3, 3] }, ceil_mode: { i: 1 }, strides: { ints: [2, 2] } } }], 'y'),
    );
    assert.equal(g.nodes[0]!.name, 'MaxPool_0');
    assert.deepEqual(getInts(g.nodes[0]!.attrs, 'kernel_shape'), [3, 3]);
    assert.deepEqual(inferShapes(g).get('y')!.shape, [1, 2, 2, 2]);
  });

  const userErrors: [string, () => Uint8Array, RegExp][] = [
    ['random bytes', () => Uint8Array.from({ length: 256 }, (_, i) => (i * 37 + 11) % 256), /is not a valid ONNX model/],
    ['a truncated file', () => toOnnxBytes(buildZooModel('standard/d1/w32/r32').graph).subarray(0, 3000), /is not a valid ONNX model/],
    ['an empty file', () => new Uint8Array(0), /is not a valid ONNX model \(it has no graph nodes\)/],
    ['an unsupported operator', () => rawModel(13, [1, 4], [{ op: 'Einsum', name: 'mix', inputs: ['x'], outputs: ['y'] }], 'y'), /unsupported operator 'Einsum' \(node 'mix'\)/],
    ['an operator of another domain', () => {
      const bytes = rawModel(13, [1, 4], [{ op: 'FusedConv', name: 'f', inputs: ['x'], outputs: ['y'] }], 'y');
      const m = ModelProto.decode(bytes) as unknown as { graph: { node: { domain: string }[] } };
      m.graph.node[0]!.domain = 'com.microsoft';
      return ModelProto.encode(m).finish();
    }, /unsupported operator 'FusedConv' \(node 'f'\): it is in the 'com.microsoft' domain/],
    ['a shape mismatch', () => rawModel(13, [1, 3, 8, 8], [{ op: 'Conv', name: 'c', inputs: ['x', 'w'], outputs: ['y'] }], 'y', [floats('w', [4, 2, 1, 1], new Array(8).fill(1))]), /node 'c' \(Conv\): weight expects 2 input channels/],
    ['shape arithmetic on run-time values', () => rawModel(13, [1, 4], [{ op: 'Range', name: 'r', inputs: ['x', 'x', 'x'], outputs: ['y'] }], 'y'), /unsupported operator 'Range' \(node 'r'\): it computes on run-time values/],
  ];
  for (const [what, make, message] of userErrors) {
    it(`rejects ${what} with one clear user error`, () => {
      assert.throws(() => fromOnnxBytes(make(), { source: 'model.onnx' }), (e: unknown) => e instanceof UserError && message.test(e.message) && !e.message.includes('\n'));
    });
  }

  it('reads a file without copying its weights', () => {
    const dir = testTempDir('formbench-onnx-');
    const file = join(dir, 'm.onnx');
    writeFileSync(file, toOnnxBytes(buildZooModel('standard/d2/w64/r32').graph));
    const g = readOnnxFile(file);
    const weights = [...g.initializers.values()].filter((t) => t.dims.length === 4);
    const buffers = new Set(weights.map((t) => t.bytes().buffer));
    assert.equal(buffers.size, 1, 'every weight is a view into the one file buffer');
    assert.ok(weights.every((t) => t.bytes().buffer.byteLength >= t.byteLength * weights.length));
  });

  it('reads tensors stored as typed lists (float_data) and drops unused initializers', () => {
    const g = fromOnnxBytes(
      rawModel(13, [1, 4], [{ op: 'Add', inputs: ['x', 'b'], outputs: ['y'] }], 'y', [
        floats('b', [4], [1, 2, 3, 4]),
        { name: 'unused', dims: [2], data_type: 10, raw_data: Uint8Array.of(0, 60, 0, 64) },
      ]),
    );
    assert.deepEqual([...g.initializers.get('b')!.float32()], [1, 2, 3, 4]);
    assert.equal(g.initializers.has('unused'), false);
  });
});
