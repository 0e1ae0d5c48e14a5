import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attr, ConstTensor, type Graph } from '../src/ir/index.js';
import { IrBuilder } from '../src/tfjs-graph/builder.js';
import { OP_BY_OP_ENGINES, onEachEngine } from './engine-helpers.js';

function assertAllMatch(outputs: Map<string, Float32Array>, tolerance: number): void {
  const want = outputs.get('ort:threads=1')!;
  for (const [choice, got] of outputs) {
    assert.equal(got.length, want.length, `${choice}: output size`);
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= tolerance, `${choice}[${i}] = ${v}, ort ${want[i]}`));
  }
}

/**
 * x [2, 6] → ArgMax (axis 1) − 3, then integer Mod by −4 and 4 (floor mod: the divisor's sign),
 * integer Div by 4 (ONNX truncates towards zero), TopK 2 values and indices, Gather of x at those
 * indices, Equal and Less as 0/1, all cast to float and concatenated: [2, 12].
 */
function indexGraph(): Graph {
  const b = new IrBuilder('index-ops', {});
  const x = b.input('x', { dtype: 'float32', shape: ['N', 6] });
  const am = b.add('ArgMax', 'am', [x], { axis: attr.int(1), keepdims: attr.int(1) });
  const shifted = b.add('Sub', 'shifted', [am, b.int64('three', [3])]);
  const modNeg = b.add('Mod', 'modNeg', [shifted, b.int64('minusFour', [-4])], { fmod: attr.int(0) });
  const modPos = b.add('Mod', 'modPos', [shifted, b.int64('four', [4])], { fmod: attr.int(0) });
  const div = b.add('Div', 'div', [shifted, b.int64('two', [2])]);
  const [values, indices] = b.addMulti('TopK', 'top', [x, b.int64('k', [2])], 2, { axis: attr.int(1), largest: attr.int(1), sorted: attr.int(1) });
  const gathered = b.add('Gather', 'gathered', [x, b.int64('cols', [5, 0])], { axis: attr.int(1) });
  const eq = b.add('Equal', 'eq', [shifted, b.int64('zero', [0])]);
  const less = b.add('Less', 'less', [x, b.scalar('half', 0.5)]);
  const f = (v: string, name: string) => b.add('Cast', name, [v], { to: attr.int(1) });
  const lessCols = b.add('Slice', 'lessCols', [f(less, 'lessF'), b.int64('s0', [0]), b.int64('s1', [2]), b.int64('sa', [1])]);
  const parts = [f(shifted, 'shiftedF'), f(modNeg, 'modNegF'), f(modPos, 'modPosF'), f(div, 'divF'), values!, f(indices!, 'indicesF'), gathered, f(eq, 'eqF'), lessCols];
  return b.finish([b.add('Concat', 'out', parts, { axis: attr.int(1) })]);
}

type ResizeMode = [mode: string, coords: string, nearest: string | undefined, h: number, w: number];

/** The modes TF's resize ops map to (what the TF.js importer writes), which every engine runs. */
const TF_MODES: ResizeMode[] = [
  ['nearest', 'align_corners', 'round_prefer_ceil', 2, 1.5],
  ['nearest', 'tf_half_pixel_for_nn', 'floor', 2, 2],
  ['nearest', 'asymmetric', 'floor', 2, 2],
  ['linear', 'align_corners', undefined, 2, 1.5],
  ['linear', 'half_pixel', undefined, 2, 2],
  ['linear', 'asymmetric', undefined, 2, 2],
];
/** ONNX modes beyond TF's (PyTorch exports), which the TF.js engine refuses. */
const ONNX_ONLY_MODES: ResizeMode[] = [
  ['nearest', 'half_pixel', 'round_prefer_floor', 2, 2],
  ['linear', 'pytorch_half_pixel', undefined, 2, 1.5],
];

/** x [1, 2, 3, 4] → Resize in each mode, flattened and joined. */
function resizeGraph(modes: ResizeMode[]): Graph {
  const b = new IrBuilder('resize-ops', {});
  const x = b.input('x', { dtype: 'float32', shape: [1, 2, 3, 4] });
  const flats = modes.map(([mode, coords, nearest, h, w], i) => {
    const scales = b.constant(`s${i}`, ConstTensor.fromFloat32([4], Float32Array.of(1, 1, h, w)));
    const r = b.add('Resize', `r${i}`, [x, '', scales], {
      mode: attr.string(mode),
      coordinate_transformation_mode: attr.string(coords),
      ...(nearest ? { nearest_mode: attr.string(nearest) } : {}),
    });
    return b.add('Reshape', `flat${i}`, [r, b.int64(`shape${i}`, [1, -1])]);
  });
  return b.finish([b.add('Concat', 'out', flats, { axis: attr.int(1) })]);
}

/** x [1, 3, 4, 4] → PRelu with a per-channel slope [3, 1, 1] and with a scalar one, flattened and joined. */
function preluGraph(): Graph {
  const b = new IrBuilder('prelu-ops', {});
  const x = b.input('x', { dtype: 'float32', shape: [1, 3, 4, 4] });
  const perChannel = b.add('PRelu', 'p1', [x, b.constant('slope', ConstTensor.fromFloat32([3, 1, 1], Float32Array.of(0.1, -0.5, 2)))]);
  const scalar = b.add('PRelu', 'p2', [x, b.scalar('s', 0.25)]);
  const flat = (v: string, n: string) => b.add('Reshape', n, [v, b.int64(`${n}.shape`, [1, -1])]);
  return b.finish([b.add('Concat', 'out', [flat(perChannel, 'f1'), flat(scalar, 'f2')], { axis: attr.int(1) })]);
}

describe('the IR operators of imported models on every engine', () => {
  it('PRelu with a per-channel and a scalar slope: each engine as ort', async () => {
    const input = Float32Array.from({ length: 48 }, (_, i) => Math.sin(i * 1.3) * 2);
    assertAllMatch(await onEachEngine(preluGraph(), input, [1, 3, 4, 4]), 1e-6);
  });

  it('ArgMax, integer Mod (negative operands, either sign of divisor) and Div, TopK, Gather, Equal/Less, Cast: each engine as ort', async () => {
    const graph = indexGraph();
    // Row maxima at columns 0 and 5: ArgMax − 3 is −3 and 2, so Mod and Div see both signs.
    const input = Float32Array.of(0.9, 0.1, 0.4, 0.2, 0.3, 0.6, 0.1, 0.2, 0.7, 0.3, 0.1, 0.8);
    const outputs = await onEachEngine(graph, input, [2, 6]);
    // ort's own figures, worked out by hand: row 1 (ArgMax 0 → −3): mod −4 → −3, mod 4 → 1, ÷2 → −1 (truncated).
    assert.deepEqual([...outputs.get('ort:threads=1')!.slice(0, 4)], [-3, -3, 1, -1]);
    assertAllMatch(outputs, 1e-6);
  });

  it('Resize in TF\'s modes on every engine, and in ONNX-only modes on torch (the TF.js engine refuses them by name), as ort', async () => {
    const input = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * 0.7) * 3);
    assertAllMatch(await onEachEngine(resizeGraph(TF_MODES), input, [1, 2, 3, 4]), 1e-5);
    const onnxOnly = resizeGraph(ONNX_ONLY_MODES);
    assertAllMatch(await onEachEngine(onnxOnly, input, [1, 2, 3, 4], OP_BY_OP_ENGINES.filter((e) => !e.startsWith('tfjs'))), 1e-5);
    await assert.rejects(onEachEngine(onnxOnly, input, [1, 2, 3, 4], ['tfjs-cpu']), /coordinate_transformation_mode 'half_pixel' with mode 'nearest' has no TF\.js resize/);
  });
});
