import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attr, ConstTensor, foldPadsIntoWindows, getInts, type Graph } from '../src/ir/index.js';
import { IrBuilder } from '../src/tfjs-graph/builder.js';
import { runInOrt } from './tfjs-helpers.js';

const FLT_MAX = 3.4028234663852886e38;

/** input → zero Pad → Conv 3×3/2 → Relu → −FLT_MAX Pad → MaxPool 3×3/2 → ReduceMean over H, W (kept) → output; `sharedPad` also feeds the zero Pad's output to an Add. */
function padded(sharedPad = false): Graph {
  const b = new IrBuilder('padded', {});
  const x = b.input('x', { dtype: 'float32', shape: [1, 3, 9, 9] });
  const p1 = b.add('Pad', 'pad1', [x, b.int64('pads1', [0, 0, 1, 1, 0, 0, 1, 1])]);
  const w = ConstTensor.fromFloat32([4, 3, 3, 3], Float32Array.from({ length: 108 }, (_, i) => Math.sin(i)));
  const conv = b.add('Conv', 'conv', [p1, b.constant('w', w)], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([0, 0, 0, 0]) });
  const relu = b.add('Relu', 'relu', [conv]);
  const p2 = b.add('Pad', 'pad2', [relu, b.int64('pads2', [0, 0, 0, 1, 0, 0, 1, 0]), b.scalar('fill', -FLT_MAX)]);
  const pool = b.add('MaxPool', 'pool', [p2], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([0, 0, 0, 0]) });
  let y = b.add('ReduceMean', 'mean', [pool], { axes: attr.ints([2, 3]), keepdims: attr.int(1) });
  if (sharedPad) y = b.add('Add', 'add', [y, b.add('ReduceMean', 'mean2', [p1], { axes: attr.ints([1, 2, 3]), keepdims: attr.int(1) })]);
  return b.finish([y]);
}

describe('folding explicit pads into windows', () => {
  it('moves a zero Pad into the Conv and a −FLT_MAX Pad into the MaxPool, reads the mean as a global pool, and computes the same', async () => {
    const graph = padded();
    const folded = foldPadsIntoWindows(padded());
    assert.deepEqual(folded.nodes.map((n) => n.op), ['Conv', 'Relu', 'MaxPool', 'GlobalAveragePool']);
    assert.deepEqual(getInts(folded.nodes[0]!.attrs, 'pads'), [1, 1, 1, 1]);
    assert.deepEqual(getInts(folded.nodes[2]!.attrs, 'pads'), [0, 1, 1, 0]);
    const data = Float32Array.from({ length: 243 }, (_, i) => Math.cos(i * 0.3));
    const [[want], [got]] = [await runInOrt(graph, data, [1, 3, 9, 9]), await runInOrt(folded, data, [1, 3, 9, 9])];
    assert.deepEqual([...got!], [...want!]);
  });

  it('leaves a Pad another node also reads, and a ReduceMean over other axes', () => {
    const folded = foldPadsIntoWindows(padded(true));
    assert.equal(folded.nodes.filter((n) => n.op === 'Pad').length, 1, 'the shared zero Pad stays; the max-pool one folds');
    assert.equal(folded.nodes.filter((n) => n.op === 'ReduceMean').length, 1);
  });
});
