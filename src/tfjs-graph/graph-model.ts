import { UserError } from '../errors.js';
import { attr, ConstTensor, type Dim, type DType, type Graph } from '../ir/index.js';
import { withInputSize, type TfjsArtifacts } from './artifacts.js';
import { unrollLoops } from './loops.js';
import { activation, conv, depthwiseToOihw, hwioToOihw, IrBuilder, nchwAxis, pool, TO_NCHW, TO_NHWC, transpose, type ConvGeometry } from './builder.js';
import { asDtype, boolAttr, floatAttr, intsAttr, plain, plainOperand, rank, result, stringAttr, value, type OpContext, type OpImporter, type TfNode, type TfValue } from './graph-context.js';
import { INDEXING_IMPORTERS } from './graph-ops-indexing.js';

export type { TfNode } from './graph-context.js';

/** The untaken branch of a Switch on a constant, and everything computed from it only. */
const DEAD = Symbol('dead branch');

/** One importer per TF op the converter emits. */
export const OP_IMPORTERS: Record<string, OpImporter> = {
  Identity: (c) => c.inputs[0]!,
  StopGradient: (c) => c.inputs[0]!,
  Conv2D: (c) => convLike(c, false),
  _FusedConv2D: (c) => convLike(c, false),
  DepthwiseConv2dNative: (c) => convLike(c, true),
  FusedDepthwiseConv2dNative: (c) => convLike(c, true),
  BiasAdd: (c) => binary(c, 'Add'),
  Add: (c) => binary(c, 'Add'),
  AddV2: (c) => binary(c, 'Add'),
  Sub: (c) => binary(c, 'Sub'),
  Mul: (c) => binary(c, 'Mul'),
  RealDiv: (c) => binary(c, 'Div'),
  Maximum: (c) => binary(c, 'Max'),
  Minimum: (c) => binary(c, 'Min'),
  Pow: (c) => binary(c, 'Pow'),
  Equal: (c) => binary(c, 'Equal'),
  Less: (c) => binary(c, 'Less'),
  Greater: (c) => binary(c, 'Greater'),
  SquaredDifference: (c) => {
    const d = binary(c, 'Sub', `${c.node.name}/sub`) as { name: string; nchw: boolean };
    return value(c.b.add('Mul', c.node.name, [d.name, d.name]), d.nchw);
  },
  AddN: (c) => {
    // Grappler's rewrite of a chain of adds; summed left to right, as TF's kernel does.
    const n = c.node.name;
    let acc = c.value(0);
    for (let i = 1; i < c.inputs.length; i++) {
      const next = c.value(i);
      if (next.nchw !== acc.nchw) c.fail('adding image and non-image tensors is not supported');
      acc = { name: c.b.add('Add', i === c.inputs.length - 1 ? n : `${n}/add${i}`, [acc.name, next.name]), nchw: acc.nchw };
    }
    return value(acc.name, acc.nchw);
  },
  Prelu: (c) => {
    const x = c.value(0);
    return value(c.b.add('PRelu', c.node.name, [x.name, slopeOperand(c, x, 1)]), x.nchw);
  },
  Square: (c) => {
    const x = c.value(0);
    return value(c.b.add('Mul', c.node.name, [x.name, x.name]), x.nchw);
  },
  Sqrt: (c) => elementwise(c, 'Sqrt'),
  Exp: (c) => elementwise(c, 'Exp'),
  Neg: (c) => elementwise(c, 'Neg'),
  Rsqrt: (c) => {
    // 1 / sqrt(x): the IR has no reciprocal square root of its own.
    const x = c.value(0);
    const root = c.b.add('Sqrt', `${c.node.name}/sqrt`, [x.name]);
    const one = c.b.constant(`${c.node.name}.one`, ConstTensor.fromFloat32([], Float32Array.of(1)));
    return value(c.b.add('Div', c.node.name, [one, root]), x.nchw);
  },
  Relu: (c) => unaryActivation(c, 'relu'),
  Relu6: (c) => unaryActivation(c, 'relu6'),
  Elu: (c) => unaryActivation(c, 'elu'),
  Sigmoid: (c) => unaryActivation(c, 'sigmoid'),
  Tanh: (c) => unaryActivation(c, 'tanh'),
  LeakyRelu: (c) => {
    const x = c.value(0);
    return value(activation(c.b, 'leakyrelu', x.name, c.node.name, floatAttr(c.node, 'alpha', 0.2))!, x.nchw);
  },
  Softmax: (c) => unaryActivation(c, 'softmax'),
  MatMul: (c) => matMul(c),
  _FusedMatMul: (c) => matMul(c),
  MaxPool: (c) => poolOp(c, 'MaxPool'),
  AvgPool: (c) => poolOp(c, 'AveragePool'),
  FusedBatchNorm: (c) => batchNorm(c),
  FusedBatchNormV3: (c) => batchNorm(c),
  Mean: (c) => {
    const x = c.value(0);
    const keep = boolAttr(c.node, 'keep_dims');
    const axes = c.constant(1).integers().map((a) => (a < 0 ? a + rank(c, x.name) : a));
    const spatial = x.nchw && axes.length === 2 && axes.includes(1) && axes.includes(2);
    if (x.nchw && !spatial) c.fail('Mean over axes other than height and width of an image tensor is not supported');
    const irAxes = x.nchw ? [2, 3] : axes;
    const y = c.b.add('ReduceMean', c.node.name, [x.name], { axes: attr.ints(irAxes), keepdims: attr.int(keep ? 1 : 0) });
    // [N, C, 1, 1] stays an image tensor; without keep_dims TF gives [N, C], as NCHW does.
    return value(y, x.nchw && keep);
  },
  Squeeze: (c) => {
    let x = c.value(0);
    const dims = (c.node.attr?.['squeeze_dims']?.list?.i ?? c.node.attr?.['axis']?.list?.i ?? []).map(Number);
    if (x.nchw) {
      const spatialOnly = dims.length === 2 && dims.includes(1) && dims.includes(2);
      if (spatialOnly) return value(c.b.add('Squeeze', c.node.name, [x.name, c.b.int64(`${c.node.name}.axes`, [2, 3])]), false);
      x = { name: transpose(c.b, x.name, TO_NHWC, `${c.node.name}.nhwc`), nchw: false };
    }
    const inputs = dims.length ? [x.name, c.b.int64(`${c.node.name}.axes`, dims)] : [x.name];
    return value(c.b.add('Squeeze', c.node.name, inputs), false);
  },
  Reshape: (c) => {
    const x = plain(c, c.value(0));
    const shape = c.constant(1).integers();
    const y = c.b.add('Reshape', c.node.name, [x, c.b.int64(`${c.node.name}.shape`, shape)]);
    return shape.length === 4 ? value(transpose(c.b, y, TO_NCHW, `${c.node.name}.nchw`), true) : value(y, false);
  },
  ConcatV2: (c) => {
    const count = c.inputs.length - 1;
    const axis = Number(c.constant(count).integers()[0]);
    const parts = c.inputs.slice(0, count);
    const computed = parts.filter((p): p is Extract<TfValue, { kind: 'value' }> => p.kind === 'value');
    if (!computed.length) c.fail('every part is a constant');
    if (parts.every((p) => p.kind === 'value' && p.nchw)) {
      return value(c.b.add('Concat', c.node.name, computed.map((p) => p.name), { axis: attr.int(nchwAxis(axis)) }), true);
    }
    // Constants among the parts, or image tensors beside others: joined in TF's order.
    const dtype = c.b.dtype(computed[0]!.name);
    const names = parts.map((_, i) => plainOperand(c, i, dtype));
    return result(c, c.b.add('Concat', c.node.name, names, { axis: attr.int(axis < 0 ? axis + rank(c, names[0]!) : axis) }));
  },
  Pad: (c) => padOp(c),
  PadV2: (c) => padOp(c),
  StridedSlice: (c) => stridedSlice(c),
  ResizeBilinear: (c) => resize(c, 'linear'),
  ResizeNearestNeighbor: (c) => resize(c, 'nearest'),
  ...INDEXING_IMPORTERS,
  Sum: (c) => {
    let x = c.value(0);
    const keep = boolAttr(c.node, 'keep_dims');
    const r = rank(c, x.name);
    const axes = c.constant(1).integers().map((a) => (a < 0 ? a + r : a));
    const spatial = axes.length === 2 && axes.includes(1) && axes.includes(2);
    // An image tensor is summed in NCHW where the result keeps its meaning, else in TF's order.
    if (x.nchw && !keep && !spatial) x = { name: plain(c, x), nchw: false };
    const irAxes = x.nchw ? axes.map(nchwAxis) : axes;
    const y = c.b.add('ReduceSum', c.node.name, [x.name, c.b.int64(`${c.node.name}.axes`, irAxes)], { keepdims: attr.int(keep ? 1 : 0) });
    return value(y, x.nchw && keep);
  },
};

/**
 * TF's ResizeBilinear / ResizeNearestNeighbor (a constant [height, width]) → ONNX Resize with
 * scales (the batch may be free, so sizes could not name it), in the coordinate mode that
 * reproduces TF's: align_corners, half-pixel centres (bilinear: half_pixel; nearest:
 * tf_half_pixel_for_nn), or TF's legacy asymmetric mapping. Nearest rounds as TF does: half
 * away from zero with align_corners, down otherwise.
 */
function resize(c: OpContext, mode: 'linear' | 'nearest'): TfValue {
  const x = c.value(0);
  if (!x.nchw) c.fail('the input is not a 4-d NHWC tensor');
  const [newH, newW] = c.constant(1).integers() as [number, number];
  const [, , h, w] = c.b.shape(x.name);
  if (typeof h !== 'number' || typeof w !== 'number') c.fail('the input has no static height and width');
  const scales = [1, 1, Math.fround(newH / (h as number)), Math.fround(newW / (w as number))];
  if (Math.floor((h as number) * scales[2]!) !== newH || Math.floor((w as number) * scales[3]!) !== newW) {
    c.fail(`resizing ${h}×${w} to ${newH}×${newW} is not an exact float32 scale`);
  }
  const align = boolAttr(c.node, 'align_corners');
  const half = boolAttr(c.node, 'half_pixel_centers');
  const coords = align ? 'align_corners' : half ? (mode === 'linear' ? 'half_pixel' : 'tf_half_pixel_for_nn') : 'asymmetric';
  const attrs = { mode: attr.string(mode), coordinate_transformation_mode: attr.string(coords), ...(mode === 'nearest' ? { nearest_mode: attr.string(align ? 'round_prefer_ceil' : 'floor') } : {}) };
  const n = c.node.name;
  return value(c.b.add('Resize', n, [x.name, '', c.b.constant(`${n}.scales`, ConstTensor.fromFloat32([4], Float32Array.from(scales)))], attrs), true);
}

/**
 * TF's StridedSlice with constant begin/end/strides → Slice with steps (and a Squeeze for
 * shrink_axis_mask). begin_mask/end_mask bits stand for "from the start"/"to the end" of the
 * axis in the direction of its stride; the ellipsis and new-axis masks are refused.
 */
function stridedSlice(c: OpContext): TfValue {
  let x = c.value(0);
  const begin = c.constant(1).integers();
  const end = c.constant(2).integers();
  const strides = c.constant(3).integers();
  const mask = (name: string) => Number(c.node.attr?.[name]?.i ?? 0);
  if (mask('ellipsis_mask') || mask('new_axis_mask')) c.fail('ellipsis_mask and new_axis_mask are not supported');
  const shrink = mask('shrink_axis_mask');
  // Far enough past either end of any axis; ONNX clamps it.
  const FAR = 2 ** 31 - 1;
  const starts = begin.map((b, i) => (mask('begin_mask') & (1 << i) ? (strides[i]! > 0 ? 0 : FAR) : b));
  const ends = end.map((e, i) => {
    if (shrink & (1 << i)) return begin[i]! === -1 ? FAR : begin[i]! + 1;
    return mask('end_mask') & (1 << i) ? (strides[i]! > 0 ? FAR : -FAR) : e;
  });
  const steps = strides.map((s, i) => (shrink & (1 << i) ? 1 : s));
  // Shrinking drops axes, so an image tensor is sliced in TF's own order first.
  if (x.nchw && shrink) x = { name: plain(c, x), nchw: false };
  // An axis taken whole (both masks, stride 1) is left out: it may be the free batch axis.
  const sliced = begin.map((_, i) => i).filter((i) => !(mask('begin_mask') & mask('end_mask') & (1 << i) && steps[i] === 1));
  const pick = (v: number[]) => sliced.map((i) => v[i]!);
  const axes = sliced.map((i) => (x.nchw ? nchwAxis(i) : i));
  const n = c.node.name;
  const sliceName = shrink ? `${n}/slice` : n;
  const y = sliced.length
    ? c.b.add('Slice', sliceName, [x.name, c.b.int64(`${n}.starts`, pick(starts)), c.b.int64(`${n}.ends`, pick(ends)), c.b.int64(`${n}.axes`, axes), c.b.int64(`${n}.steps`, pick(steps))])
    : x.name;
  if (!shrink) return value(y, x.nchw);
  const dropped = begin.map((_, i) => i).filter((i) => shrink & (1 << i));
  return value(c.b.add('Squeeze', n, [y, c.b.int64(`${n}.squeeze`, dropped)]), false);
}

function nhwcOnly(c: OpContext): void {
  const format = stringAttr(c.node, 'data_format', 'NHWC');
  if (format !== 'NHWC') c.fail(`data_format ${format} is not supported (only NHWC)`);
}

/** strides/dilations/padding of an NHWC window op, as [h, w] pairs and ONNX pads. */
function windowGeometry(c: OpContext): ConvGeometry {
  nhwcOnly(c);
  const hw = (v: number[] | undefined) => (v && v.length === 4 ? [v[1]!, v[2]!] : [1, 1]);
  const padding = stringAttr(c.node, 'padding', 'VALID');
  let pads: ConvGeometry['padding'];
  if (padding === 'SAME' || padding === 'VALID') pads = padding;
  else if (padding === 'EXPLICIT') {
    const e = intsAttr(c.node, 'explicit_paddings') ?? [];
    pads = [e[2]!, e[4]!, e[3]!, e[5]!];
  } else c.fail(`padding ${padding} is not supported`);
  return { strides: hw(intsAttr(c.node, 'strides')), dilations: hw(intsAttr(c.node, 'dilations')), padding: pads };
}

/** The `fused_ops` of _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul. */
function fusedOps(node: TfNode): string[] {
  return (node.attr?.['fused_ops']?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
}

const FUSED_ACTIVATIONS: Record<string, string> = { Relu: 'relu', Relu6: 'relu6', Elu: 'elu', Sigmoid: 'sigmoid', Tanh: 'tanh', LeakyRelu: 'leakyrelu' };

/**
 * Applies the ops fused after a conv/matmul: BiasAdd (folded into the IR node's bias) or
 * FusedBatchNorm (a BatchNormalization node), then at most one activation.
 */
function fusedTail(c: OpContext, ops: string[]): { bias?: ConstTensor; batchNorm: boolean; activation?: string; slopeInput?: number } {
  const rest = [...ops];
  let bias: ConstTensor | undefined;
  let batchNorm = false;
  // The fused ops' arguments follow the data inputs (x, filter): BiasAdd's one, FusedBatchNorm's four.
  let next = 2;
  if (rest[0] === 'BiasAdd') {
    bias = c.constant(next++);
    rest.shift();
  } else if (rest[0] === 'FusedBatchNorm') {
    batchNorm = true;
    next += 4;
    rest.shift();
  }
  let act: string | undefined;
  let slopeInput: number | undefined;
  if (rest.length === 1 && rest[0] === 'Prelu') {
    rest.shift();
    act = 'prelu';
    slopeInput = next;
  } else if (rest.length === 1 && FUSED_ACTIVATIONS[rest[0]!]) act = FUSED_ACTIVATIONS[rest.shift()!];
  if (rest.length) c.fail(`fused_ops [${ops.join(', ')}] are not supported`);
  return { ...(bias ? { bias } : {}), batchNorm, ...(act ? { activation: act } : {}), ...(slopeInput !== undefined ? { slopeInput } : {}) };
}

/** The fused activation after a conv or matmul (PReLU reads its slope from the node's inputs). */
function applyActivation(c: OpContext, tail: ReturnType<typeof fusedTail>, y: string, nchw: boolean): string {
  if (!tail.activation) return y;
  if (tail.slopeInput !== undefined) return c.b.add('PRelu', c.node.name, [y, slopeOperand(c, { name: y, nchw }, tail.slopeInput)]);
  return activation(c.b, tail.activation, y, c.node.name, floatAttr(c.node, 'leakyrelu_alpha', 0.2))!;
}

function convLike(c: OpContext, depthwise: boolean): TfValue {
  const x = c.value(0);
  if (!x.nchw) c.fail('the input is not a 4-d NHWC tensor');
  const filter = c.constant(1);
  const geometry = windowGeometry(c);
  const tail = fusedTail(c, fusedOps(c.node));
  const weight = depthwise ? depthwiseToOihw(filter) : hwioToOihw(filter);
  const group = depthwise ? filter.dims[2]! : 1;
  const convName = tail.activation || tail.batchNorm ? `${c.node.name}/conv` : c.node.name;
  let y = conv(c.b, convName, x.name, weight, tail.bias, geometry, group);
  if (tail.batchNorm) {
    const n = `${c.node.name}/bn`;
    y = c.b.add('BatchNormalization', tail.activation ? n : c.node.name, [y, ...[2, 3, 4, 5].map((i, k) => c.b.constant(`${n}.${['scale', 'bias', 'mean', 'var'][k]}`, c.constant(i)))], {
      epsilon: attr.float(floatAttr(c.node, 'epsilon', 1e-3)),
    });
  }
  return value(applyActivation(c, tail, y, true), true);
}

function matMul(c: OpContext): TfValue {
  const a = c.value(0);
  if (a.nchw || rank(c, a.name) !== 2) c.fail('MatMul on a tensor of rank other than 2 is not supported');
  if (boolAttr(c.node, 'transpose_a')) c.fail('transpose_a is not supported');
  const tail = fusedTail(c, fusedOps(c.node));
  if (tail.batchNorm) c.fail('FusedBatchNorm after MatMul is not supported');
  const gemmName = tail.activation ? `${c.node.name}/gemm` : c.node.name;
  const inputs = [a.name, c.b.constant(`${gemmName}.weight`, c.constant(1))];
  if (tail.bias) inputs.push(c.b.constant(`${gemmName}.bias`, tail.bias));
  const y = c.b.add('Gemm', gemmName, inputs, boolAttr(c.node, 'transpose_b') ? { transB: attr.int(1) } : {});
  return value(applyActivation(c, tail, y, false), false);
}

function elementwise(c: OpContext, op: string): TfValue {
  const x = c.value(0);
  return value(c.b.add(op, c.node.name, [x.name]), x.nchw);
}

function unaryActivation(c: OpContext, kind: string): TfValue {
  const x = c.value(0);
  return value(activation(c.b, kind, x.name, c.node.name)!, x.nchw);
}

/**
 * Elementwise ops, in the element type of their computed operand (constants follow it). Against
 * an NCHW image tensor a constant broadcasts as it would against TF's NHWC shape (a per-channel
 * vector [C] becomes [C, 1, 1]); an image tensor meeting a non-scalar value of lower rank is
 * computed in TF's order instead.
 */
function binary(c: OpContext, op: string, name = c.node.name): TfValue {
  const operands = c.inputs.slice(0, 2);
  const computed = operands.filter((v): v is Extract<TfValue, { kind: 'value' }> => v.kind === 'value');
  if (!computed.length) c.fail('elementwise op on two constants');
  const dtype = c.b.dtype(computed[0]!.name);
  const nchw = computed.some((v) => v.nchw);
  const mixed = nchw && computed.some((v) => !v.nchw && rank(c, v.name) > 0);
  const names = operands.map((v, i) => {
    const slot = `${name}.${i === 0 ? 'x' : 'y'}`;
    if (v.kind === 'value') return mixed ? plain(c, v) : v.name;
    return c.b.constant(slot, nchw && !mixed ? constantToNchw(c, v.tensor, dtype) : asDtype(v.tensor, dtype));
  });
  const y = c.b.add(op, name, names);
  return mixed ? result(c, y) : value(y, nchw);
}

/** A TF constant as it broadcasts against an NHWC tensor, laid out against the NCHW one. */
function constantToNchw(c: OpContext, t: ConstTensor, dtype: DType): ConstTensor {
  const typed = asDtype(t, dtype);
  const dims = typed.dims;
  const channels = dims[dims.length - 1] ?? 1;
  if (typed.elementCount === 1) return new ConstTensor(dtype, [], typed.bytes().slice(0, typed.byteLength));
  if (dims.slice(0, -1).every((d) => d === 1)) return new ConstTensor(dtype, [channels, 1, 1], typed.bytes());
  if (dims.length > 4 || dtype !== 'float32') c.fail(`a ${dtype} constant of shape [${dims.join(', ')}] broadcast against an image tensor is not supported`);
  // Leading 1s up to rank 4, then NHWC → NCHW.
  const [n, h, w, ch] = [...Array(4 - dims.length).fill(1), ...dims] as [number, number, number, number];
  const src = typed.float32();
  const out = new Float32Array(src.length);
  let k = 0;
  for (let a = 0; a < n; a++) for (let q = 0; q < ch; q++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[k++] = src[((a * h + y) * w + x) * ch + q]!;
  return ConstTensor.fromFloat32([n, ch, h, w], out);
}

/** PReLU's slope (input i, a constant), laid out to broadcast against x. */
function slopeOperand(c: OpContext, x: { name: string; nchw: boolean }, i: number): string {
  const alpha = c.constant(i);
  return c.b.constant(`${c.node.name}.slope`, x.nchw ? constantToNchw(c, alpha, 'float32') : asDtype(alpha, 'float32'));
}

function poolOp(c: OpContext, op: 'MaxPool' | 'AveragePool'): TfValue {
  const x = c.value(0);
  if (!x.nchw) c.fail('the input is not a 4-d NHWC tensor');
  const g = windowGeometry(c);
  if (g.padding !== 'SAME' && g.padding !== 'VALID') c.fail('explicit padding is not supported for pooling');
  const k = intsAttr(c.node, 'ksize') ?? [1, 1, 1, 1];
  return value(pool(c.b, op, c.node.name, x.name, [k[1]!, k[2]!], g.strides, g.padding as 'SAME' | 'VALID'), true);
}

function batchNorm(c: OpContext): TfValue {
  const x = c.value(0);
  nhwcOnly(c);
  if (!x.nchw) c.fail('the input is not a 4-d NHWC tensor');
  const n = c.node.name;
  const params = ['scale', 'bias', 'mean', 'var'].map((p, k) => c.b.constant(`${n}.${p}`, c.constant(k + 1)));
  return value(c.b.add('BatchNormalization', n, [x.name, ...params], { epsilon: attr.float(floatAttr(c.node, 'epsilon', 1e-3)) }), true);
}

function padOp(c: OpContext): TfValue {
  const x = c.value(0);
  const pairs = c.constant(1).integers();
  const r = pairs.length / 2;
  const nhwcBegin = Array.from({ length: r }, (_, i) => pairs[2 * i]!);
  const nhwcEnd = Array.from({ length: r }, (_, i) => pairs[2 * i + 1]!);
  // NCHW axis k is NHWC axis TO_NCHW[k].
  const begin = x.nchw ? TO_NCHW.map((a) => nhwcBegin[a]!) : nhwcBegin;
  const end = x.nchw ? TO_NCHW.map((a) => nhwcEnd[a]!) : nhwcEnd;
  const inputs = [x.name, c.b.int64(`${c.node.name}.pads`, [...begin, ...end])];
  if (c.inputs.length > 2) inputs.push(c.b.constant(`${c.node.name}.value`, asDtype(c.constant(2), 'float32')));
  return value(c.b.add('Pad', c.node.name, inputs), x.nchw);
}

/** TF tensor references: 'node', 'node:0' (first output), '^node' (control dependency). */
function refOf(input: string): { node: string; index: number } | undefined {
  if (input.startsWith('^')) return undefined;
  const m = /^(.*):(\d+)$/.exec(input);
  return m ? { node: m[1]!, index: Number(m[2]) } : { node: input, index: 0 };
}

/** TF GraphDef nodes in an order where every node follows its inputs (DFS, file order kept). */
function topological(nodes: TfNode[], source: string): TfNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const order: TfNode[] = [];
  const visit = (start: TfNode) => {
    const stack: { node: TfNode; next: number }[] = [{ node: start, next: 0 }];
    state.set(start.name, 'visiting');
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const inputs = top.node.input ?? [];
      if (top.next < inputs.length) {
        const name = inputs[top.next++]!.replace(/^\^/, '').replace(/:\d+$/, '');
        const dep = byName.get(name);
        if (!dep) throw new UserError(`${source}: node '${top.node.name}' reads '${name}', which no node defines`, 'check that model.json is complete');
        const s = state.get(name);
        // While loops are unrolled or refused before this (loops.ts): any cycle left is malformed.
        if (s === 'visiting') throw new UserError(`${source}: the graph has a cycle through node '${name}' that is not a while loop's`, 'a TF graph cycles only through a while loop\'s NextIteration → Merge; check that model.json is intact');
        if (!s) {
          state.set(name, 'visiting');
          stack.push({ node: dep, next: 0 });
        }
      } else {
        state.set(top.node.name, 'done');
        order.push(top.node);
        stack.pop();
      }
    }
  };
  for (const n of nodes) if (!state.has(n.name)) visit(n);
  return order;
}

interface GraphTopology {
  node?: TfNode[];
  library?: { function?: unknown[] };
}

interface Signature {
  outputs?: Record<string, { name?: string }>;
}

/**
 * A TF.js graph-model (the TF.js converter's frozen GraphDef) → IR. The graph's NHWC input stays
 * the model's interface; one Transpose after each image Placeholder moves to NCHW.
 */
export function importGraphModel(art: TfjsArtifacts): Graph {
  const topo = art.modelJson.modelTopology as GraphTopology;
  if ((topo.node ?? []).length === 0) throw new UserError(`${art.source}: the graph model has no nodes`, 'give a model.json written by the TF.js converter');
  if ((topo.library?.function?.length ?? 0) > 0) throw new UserError(`${art.source}: the graph has control-flow functions`, 'formbench imports feed-forward graphs without control flow');
  // While loops with a constant trip count are unrolled first (loops.ts); what follows sees no frames.
  const { nodes, weights } = unrollLoops(topo.node!, art.weights, art.source);
  const b = new IrBuilder(art.source, { 'formbench.source': art.source, 'formbench.format': 'tfjs-graph-model' });
  const values = new Map<string, TfValue>();
  const switches = new Map<string, { index: number; value: TfValue }>();
  const consumed = new Set<string>();
  for (const node of topological(nodes, art.source)) {
    const fail = (reason: string): never => {
      throw new UserError(`unsupported operator '${node.op}' (node '${node.name}')${reason ? `: ${reason}` : ''}`, `formbench imports the TF ops ${['Const', 'Placeholder', 'Switch and Merge on a constant', ...Object.keys(OP_IMPORTERS)].join(', ')}`);
    };
    if (node.op === 'Const') {
      const tensor = weights.get(node.name);
      if (!tensor) fail('its value is not in the weights manifest');
      values.set(node.name, { kind: 'const', tensor: tensor! });
      continue;
    }
    if (node.op === 'Placeholder') {
      const declared = (node.attr?.['shape']?.shape?.dim ?? []).map((d, i): Dim => {
        const size = Number(d.size ?? -1);
        // TF writes -1 for a free dimension; anything else below 1 is no size at all.
        if (size !== -1 && size < 1) throw new UserError(`${art.source}: input '${node.name}' declares dimension ${i} as ${size}`, 'a dimension is a positive size, or -1 for one bound at run time');
        return size >= 1 ? size : i === 0 ? 'N' : `${node.name}_dim${i}`;
      });
      const dims = withInputSize(art, node.name, declared);
      // formbench feeds float32: an integer image input (uint8 pixels as int32) is read as float32
      // values, and the Cast to float that follows it becomes an identity (INDEXING_IMPORTERS.Cast).
      const tfType = node.attr?.['dtype']?.type ?? 'DT_FLOAT';
      if (!['DT_FLOAT', 'DT_INT32', 'DT_UINT8'].includes(tfType)) throw new UserError(`${art.source}: input '${node.name}' is of type ${tfType}`, 'formbench feeds float32 inputs (an int32 or uint8 image input is read as float32)');
      if (tfType !== 'DT_FLOAT') b.graph.metadata['formbench.input-type'] = `${node.name}: ${tfType} read as float32`;
      const x = b.input(node.name, { dtype: 'float32', shape: dims });
      values.set(node.name, dims.length === 4 ? value(transpose(b, x, TO_NCHW, `${node.name}.nchw`), true) : value(x, false));
      continue;
    }
    const refs = (node.input ?? []).map(refOf).filter((r): r is { node: string; index: number } => !!r);
    for (const r of refs) consumed.add(r.node);
    // Control flow a converter left on constants (tf.cond on a fixed flag): a Switch passes its
    // data to the output its constant predicate picks, and the other branch is dead; a Merge
    // takes its one live input. Every other op with a dead input is dead too, as in TF.
    const read = (r: { node: string; index: number }): TfValue | typeof DEAD => {
      const taken = switches.get(r.node);
      if (taken) return r.index === taken.index ? taken.value : DEAD;
      if (r.index === 0) return values.get(r.node) ?? DEAD;
      const v = values.get(`${r.node}:${r.index}`);
      if (!v && values.has(r.node)) fail(`it reads output ${r.index} of '${r.node}', which has no such output`);
      return v ?? DEAD;
    };
    if (node.op === 'Switch') {
      const [data, pred] = refs.map(read);
      if (data === DEAD || pred === DEAD) continue;
      if (pred!.kind !== 'const') fail('its predicate is computed from the input: control flow that depends on the data is not supported');
      switches.set(node.name, { index: (pred as { tensor: ConstTensor }).tensor.integers()[0] ? 1 : 0, value: data! });
      continue;
    }
    if (node.op === 'Merge') {
      const live = refs.map(read).filter((v): v is TfValue => v !== DEAD);
      if (live.length !== 1) fail(live.length ? 'more than one of its inputs is live' : 'none of its inputs is live');
      values.set(node.name, live[0]!);
      continue;
    }
    const importer = OP_IMPORTERS[node.op];
    if (!importer) fail('');
    const read0 = refs.map(read);
    if (read0.some((v) => v === DEAD)) continue;
    const inputs = read0 as TfValue[];
    const ctx: OpContext = {
      b,
      node,
      inputs,
      fail,
      value: (i) => {
        const v = inputs[i];
        if (!v || v.kind !== 'value') fail(`input ${i} must be computed, not a constant`);
        return v as { name: string; nchw: boolean };
      },
      constant: (i) => {
        const v = inputs[i];
        if (!v || v.kind !== 'const') fail(`input ${i} must be a constant`);
        return (v as { tensor: ConstTensor }).tensor;
      },
    };
    const out = importer!(ctx);
    if (Array.isArray(out)) out.forEach((v, k) => values.set(k === 0 ? node.name : `${node.name}:${k}`, v));
    else values.set(node.name, out);
  }
  const outputs = outputNodes(art, nodes, consumed).map((name) => {
    const v = values.get(name);
    if (!v) throw new UserError(`${art.source}: output '${name}' lies on a branch its constant condition never takes`, 'give the output of the Merge that joins the branches');
    if (v.kind !== 'value') throw new UserError(`${art.source}: output '${name}' is a constant`, 'formbench needs outputs computed from the inputs');
    // Outputs keep TF's layout: an image-shaped output is transposed back to NHWC.
    return v.nchw ? transpose(b, v.name, TO_NHWC, `${name}.nhwc`) : v.name;
  });
  return b.finish(outputs);
}

/** The signature's outputs when model.json has one, else the nodes nothing reads. */
function outputNodes(art: TfjsArtifacts, nodes: TfNode[], consumed: Set<string>): string[] {
  // TF.js reads the signature from userDefinedMetadata first, then from model.json's own field.
  const signature = (art.modelJson.userDefinedMetadata as { signature?: Signature } | undefined)?.signature ?? (art.modelJson.signature as Signature | undefined);
  // 'node:0' is the node itself; 'node:k' its k-th output, as the importer keys them.
  const named = Object.values(signature?.outputs ?? {}).map((o) => (o.name ?? '').replace(/:0$/, '')).filter(Boolean);
  if (named.length) return named;
  return nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'Placeholder' && n.op !== 'Switch').map((n) => n.name);
}
