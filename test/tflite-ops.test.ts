import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../src/errors.js';
import { attr, ConstTensor, type Graph } from '../src/ir/index.js';
import { fromTfliteBytes, readTflite, toTfliteBytes } from '../src/tflite/index.js';
import { Op } from '../src/tflite/schema.js';
import { runOnLiteRt } from './litert-helpers.js';
import { graphOf, ints, node, pseudoRandom, scalar, weight } from './onnx-helpers.js';
import { maxAbs, maxAbsDiff, runInOrt } from './tfjs-helpers.js';

/** Hand-made graphs in the shape of imported TF.js models: NHWC in, transposed to NCHW and back. */
const toNchw = node('x.nchw', 'Transpose', ['x'], { perm: attr.ints([0, 3, 1, 2]) });
const toNhwc = (from: string) => node('y', 'Transpose', [from], { perm: attr.ints([0, 2, 3, 1]) });
const resize = (name: string, x: string, mode: string, coords: string, nearest?: string) =>
  node(name, 'Resize', [x, '', `${name}.scales`], {
    mode: attr.string(mode),
    coordinate_transformation_mode: attr.string(coords),
    ...(nearest ? { nearest_mode: attr.string(nearest) } : {}),
  });
const scales2x = ConstTensor.fromFloat32([4], Float32Array.of(1, 1, 2, 2));

async function matchesOrt(graph: Graph, shape: number[]): Promise<void> {
  const data = pseudoRandom(shape.reduce((a, b) => a * b, 1), 3, 2);
  const reference = await runInOrt(graph, data, shape);
  const ours = await runOnLiteRt(toTfliteBytes(graph), data, shape);
  assert.equal(ours.length, reference.length);
  reference.forEach((ref, k) => {
    const d = maxAbsDiff(ours[k]!, ref);
    assert.ok(d <= 1e-5 * Math.max(1, maxAbs(ref)), `output ${k}: max |LiteRT − ort| = ${d}`);
  });
}

describe('.tflite export of imported models\' operators', () => {
  it('NHWC in and out: the transposes are layout no-ops; PRelu, Resize (3 modes), Sigmoid, Max, channel Pad run on LiteRT.js as on ort', async () => {
    const graph = graphOf(
      {
        inputs: [{ name: 'x', shape: [1, 6, 6, 4] }],
        nodes: [
          toNchw,
          node('prelu', 'PRelu', ['x.nchw', 'slope']),
          resize('up', 'prelu', 'linear', 'half_pixel'),
          node('conv', 'Conv', ['up', 'w'], { kernel_shape: attr.ints([1, 1]) }),
          resize('up2', 'conv', 'nearest', 'asymmetric', 'floor'),
          resize('up3', 'up2', 'linear', 'align_corners'),
          node('sig', 'Sigmoid', ['up3']),
          node('max', 'Max', ['sig', 'half']),
          node('pad', 'Pad', ['max', 'pads']),
          toNhwc('pad'),
        ],
        initializers: {
          slope: weight(4, 1, 1),
          'up.scales': scales2x,
          w: weight(4, 4, 1, 1),
          'up2.scales': scales2x,
          'up3.scales': scales2x,
          half: scalar(0.55),
          pads: ints(0, 1, 0, 0, 0, 2, 0, 0),
        },
      },
    );
    const file = readTflite(toTfliteBytes(graph), 'chain');
    assert.deepEqual(file.tensors[file.inputs[0]!]!.shape, [1, 6, 6, 4]);
    assert.deepEqual(file.tensors[file.outputs[0]!]!.shape, [1, 48, 48, 7]);
    assert.ok(!file.operators.some((o) => o.builtin === Op.TRANSPOSE), 'no transpose written');
    assert.deepEqual(
      file.operators.map((o) => o.builtin),
      [Op.PRELU, Op.RESIZE_BILINEAR, Op.CONV_2D, Op.RESIZE_NEAREST_NEIGHBOR, Op.RESIZE_BILINEAR, Op.LOGISTIC, Op.MAXIMUM, Op.PAD],
    );
    await matchesOrt(graph, [1, 6, 6, 4]);
  });

  it('a transpose other than the layout change is one TRANSPOSE with the perm composed through the NHWC layout', async () => {
    const graph = graphOf({
      inputs: [{ name: 'x', shape: [1, 3, 4, 5] }],
      nodes: [node('conv', 'Conv', ['x', 'w'], { kernel_shape: attr.ints([1, 1]) }), node('t', 'Transpose', ['conv'], { perm: attr.ints([0, 2, 1, 3]) }), node('tanh', 'Tanh', ['t'])],
      initializers: { w: weight(6, 3, 1, 1) },
    });
    const file = readTflite(toTfliteBytes(graph), 'perm');
    const transposes = file.operators.filter((o) => o.builtin === Op.TRANSPOSE);
    // The NCHW input to NHWC for the convolution, then [N, C, H, W] → [N, H, C, W] read from NHWC.
    assert.equal(transposes.length, 2);
    const perm = transposes[1]!.inputs[1]!;
    assert.deepEqual([...new Int32Array(file.buffers[file.tensors[perm]!.buffer]!.slice().buffer)], [0, 1, 3, 2]);
    await matchesOrt(graph, [1, 3, 4, 5]);
  });

  it('Abs, Sqrt, Neg, Exp, Pow, Min and ReduceSum over the channels', async () => {
    const graph = graphOf({
      inputs: [{ name: 'x', shape: [1, 5, 5, 3] }],
      nodes: [
        toNchw,
        node('abs', 'Abs', ['x.nchw']),
        node('sqrt', 'Sqrt', ['abs']),
        node('neg', 'Neg', ['sqrt']),
        node('exp', 'Exp', ['neg']),
        node('pow', 'Pow', ['exp', 'two']),
        node('min', 'Min', ['pow', 'cap']),
        node('sum', 'ReduceSum', ['min', 'axes'], { keepdims: attr.int(1) }),
        toNhwc('sum'),
      ],
      initializers: { two: scalar(2), cap: scalar(0.5), axes: ints(1) },
    });
    await matchesOrt(graph, [1, 5, 5, 3]);
  });

  it('refuses Resize modes LiteRT has no equivalent of, naming the mode', () => {
    for (const [mode, coords, nearest] of [
      ['cubic', 'half_pixel', undefined],
      ['linear', 'tf_crop_and_resize', undefined],
      ['nearest', 'half_pixel', 'round_prefer_floor'],
    ] as const) {
      const graph = graphOf({ inputs: [{ name: 'x', shape: [1, 4, 4, 2] }], nodes: [toNchw, resize('up', 'x.nchw', mode, coords, nearest)], initializers: { 'up.scales': scales2x } });
      assert.throws(() => toTfliteBytes(graph), (e: Error) => e instanceof UserError && e.message.includes(`mode '${mode}'`) && /no LiteRT equivalent/.test(e.message), `${mode} ${coords}`);
    }
  });

  it('reading such a file back (formbench analyze) is a clear refusal naming the operator', () => {
    const graph = graphOf({ inputs: [{ name: 'x', shape: [1, 4, 4, 2] }], nodes: [toNchw, node('prelu', 'PRelu', ['x.nchw', 'slope']), toNhwc('prelu')], initializers: { slope: weight(2, 1, 1) } });
    assert.throws(() => fromTfliteBytes(toTfliteBytes(graph), 'p.tflite'), (e: Error) => e instanceof UserError && /PRELU, which formbench does not import/.test(e.message));
  });
});
