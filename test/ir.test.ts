import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  attr,
  ConstTensor,
  GraphError,
  inferShapes,
  topologicalOrder,
  validateGraph,
  type Graph,
  type Node,
  type Shape,
} from '../src/ir/index.js';

function graphOf(inputShape: Shape, nodes: Node[], initializers: Record<string, ConstTensor> = {}, output?: string): Graph {
  return {
    name: 't',
    inputs: [{ name: 'x', type: { dtype: 'float32', shape: inputShape } }],
    outputs: [{ name: output ?? nodes[nodes.length - 1]!.outputs[0]!, type: { dtype: 'float32', shape: [] } }],
    initializers: new Map(Object.entries(initializers)),
    nodes,
    metadata: {},
  };
}

const weight = (...dims: number[]) => ConstTensor.fromFloat32(dims, new Float32Array(dims.reduce((a, b) => a * b, 1)));
const ints = (...v: number[]) => ConstTensor.fromInt64([v.length], v);
const node = (name: string, op: string, inputs: string[], attrs: Node['attrs'] = {}, outputs = [name]): Node => ({ name, op, inputs, outputs, attrs });

describe('shape inference', () => {
  it('infers Conv output with strides, pads, dilations and groups', () => {
    const g = graphOf(
      ['N', 32, 56, 56],
      [node('c', 'Conv', ['x', 'w'], { strides: attr.ints([2, 2]), pads: attr.ints([2, 2, 2, 2]), dilations: attr.ints([2, 2]), group: attr.int(4) })],
      { w: weight(64, 8, 3, 3) },
    );
    assert.deepEqual(inferShapes(g).get('c')!.shape, ['N', 64, 28, 28]);
    assert.deepEqual(inferShapes(g, { N: 4 }).get('c')!.shape, [4, 64, 28, 28]);
  });

  it('infers SAME_UPPER padding and pooling with ceil_mode like PyTorch', () => {
    const g = graphOf(
      [1, 8, 17, 17],
      [
        node('c', 'Conv', ['x', 'w'], { strides: attr.ints([2, 2]), auto_pad: attr.string('SAME_UPPER') }),
        node('p', 'MaxPool', ['c'], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1) }),
      ],
      { w: weight(8, 8, 3, 3) },
    );
    const t = inferShapes(g);
    assert.deepEqual(t.get('c')!.shape, [1, 8, 9, 9]);
    assert.deepEqual(t.get('p')!.shape, [1, 8, 4, 4]);
  });

  it('keeps the batch symbol through Flatten, Reshape with 0/-1, Gemm, and Concat/Split', () => {
    const g = graphOf(
      ['N', 16, 4, 4],
      [
        node('f', 'Flatten', ['x'], { axis: attr.int(1) }),
        node('r', 'Reshape', ['x', 'shape']),
        node('m', 'Gemm', ['f', 'fc'], { transB: attr.int(1) }),
        node('cat', 'Concat', ['x', 'x'], { axis: attr.int(1) }),
        node('s', 'Split', ['cat', 'sizes'], { axis: attr.int(1) }, ['s0', 's1']),
      ],
      { shape: ints(0, -1), fc: weight(10, 256), sizes: ints(8, 24) },
      'm',
    );
    const t = inferShapes(g);
    assert.deepEqual(t.get('f')!.shape, ['N', 256]);
    assert.deepEqual(t.get('r')!.shape, ['N', 256]);
    assert.deepEqual(t.get('m')!.shape, ['N', 10]);
    assert.deepEqual(t.get('cat')!.shape, ['N', 32, 4, 4]);
    assert.deepEqual([t.get('s0')!.shape, t.get('s1')!.shape], [['N', 8, 4, 4], ['N', 24, 4, 4]]);
  });

  it('broadcasts, slices, pads, transposes, squeezes and reduces', () => {
    const g = graphOf(
      [2, 3, 8, 8],
      [
        node('a', 'Add', ['x', 'bias']),
        node('sl', 'Slice', ['a', 'st', 'en', 'ax', 'stp']),
        node('pd', 'Pad', ['sl', 'pads']),
        node('tr', 'Transpose', ['pd'], { perm: attr.ints([0, 2, 3, 1]) }),
        node('rm', 'ReduceMean', ['tr'], { axes: attr.ints([1, 2]), keepdims: attr.int(0) }),
        node('us', 'Unsqueeze', ['rm', 'uax']),
        node('sq', 'Squeeze', ['us', 'uax']),
      ],
      { bias: weight(3, 1, 1), st: ints(1), en: ints(8), ax: ints(-1), stp: ints(2), pads: ints(0, 0, 1, 1, 0, 0, 1, 1), uax: ints(1) },
    );
    const t = inferShapes(g);
    assert.deepEqual(t.get('sl')!.shape, [2, 3, 8, 4]);
    assert.deepEqual(t.get('pd')!.shape, [2, 3, 10, 6]);
    assert.deepEqual(t.get('tr')!.shape, [2, 10, 6, 3]);
    assert.deepEqual(t.get('rm')!.shape, [2, 3]);
    assert.deepEqual(t.get('us')!.shape, [2, 1, 3]);
    assert.deepEqual(t.get('sq')!.shape, [2, 3]);
  });
});

describe('validation names the node at fault', () => {
  const cases: [string, () => Graph, RegExp][] = [
    ['a missing input', () => graphOf([1, 3, 8, 8], [node('r', 'Relu', ['nope'])]), /node 'r' \(Relu\): input 'nope' is not produced/],
    ['an unknown operator', () => graphOf([1, 3, 8, 8], [node('q', 'Frobnicate', ['x'])]), /node 'q' \(Frobnicate\): operator 'Frobnicate' is not supported/],
    ['a channel mismatch', () => graphOf([1, 3, 8, 8], [node('c1', 'Conv', ['x', 'w'])], { w: weight(8, 4, 3, 3) }), /node 'c1' \(Conv\): weight expects 4 input channels/],
    ['a wrongly typed attribute', () => graphOf([1, 3, 8, 8], [node('c', 'Conv', ['x', 'w'], { group: attr.float(1) })], { w: weight(8, 3, 3, 3) }), /node 'c' \(Conv\): attribute 'group' must be int/],
    ['an unknown attribute', () => graphOf([1, 3, 8, 8], [node('r', 'Relu', ['x'], { alpha: attr.float(1) })]), /node 'r' \(Relu\): unknown attribute 'alpha'/],
    ['too many inputs', () => graphOf([1, 3, 8, 8], [node('r', 'Relu', ['x', 'x'])]), /node 'r' \(Relu\): takes 1 inputs, has 2/],
    ['a duplicate output', () => graphOf([1, 3, 8, 8], [node('a', 'Relu', ['x'], {}, ['y']), node('b', 'Relu', ['x'], {}, ['y'])]), /node 'b' \(Relu\): output 'y' is already defined/],
    ['a cycle', () => graphOf([1, 3, 8, 8], [node('a', 'Add', ['x', 'b']), node('b', 'Relu', ['a'])]), /cycle through node 'a'/],
    ['a window that does not fit', () => graphOf([1, 3, 2, 2], [node('p', 'MaxPool', ['x'], { kernel_shape: attr.ints([3, 3]) })]), /node 'p' \(MaxPool\): the 3x3 window does not fit/],
    ['a bad reshape', () => graphOf([1, 3, 8, 8], [node('r', 'Reshape', ['x', 's'])], { s: ints(5, -1) }), /node 'r' \(Reshape\): cannot reshape/],
  ];
  for (const [what, make, message] of cases) {
    it(`rejects ${what}`, () => {
      assert.throws(() => validateGraph(make()), (e: unknown) => e instanceof GraphError && message.test(e.message));
    });
  }
});

describe('topological order', () => {
  it('orders producers before consumers whatever the stored order', () => {
    const g = graphOf([1, 3, 8, 8], [node('c', 'Add', ['a', 'b']), node('b', 'Relu', ['a']), node('a', 'Relu', ['x'])], {}, 'c');
    assert.deepEqual(topologicalOrder(g).map((n) => n.name), ['a', 'b', 'c']);
  });
});

describe('constant tensors', () => {
  it('generates lazily, once, and views imported bytes without copying', () => {
    let calls = 0;
    const t = ConstTensor.lazyFloat32([2], () => {
      calls++;
      return Float32Array.of(1, 2);
    });
    assert.equal(t.isMaterialized, false);
    assert.deepEqual([...t.float32()], [1, 2]);
    t.float32();
    assert.equal(calls, 1);
    const file = new Uint8Array(16);
    new Float32Array(file.buffer).set([0, 3, 4, 0]);
    const view = new ConstTensor('float32', [2], file.subarray(4, 12));
    assert.equal(view.float32().buffer, file.buffer);
    assert.deepEqual([...view.float32()], [3, 4]);
  });
});
