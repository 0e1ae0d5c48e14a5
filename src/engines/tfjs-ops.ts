/**
 * The IR compiled for TensorFlow.js, op by op. Layout: every 4-D value is held in NHWC (TF.js's
 * native layout) while it stands for the IR's N×C×H×W value; values of any other rank are held
 * in the IR's own order. Weights are rearranged once, at compile time; axes, pads and broadcast
 * constants are mapped to the physical layout there too. As in a tfjs-converter GraphModel, a
 * BatchNormalization after a Conv is folded into its weights and a following ReLU/ReLU6 fused
 * into one tf.fused.* call (tfjs-fold.ts). Each node (or fused unit) runs inside its own
 * `tf.tidy`, and a value is disposed as soon as its last reader has run.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import {
  getFloat,
  getInt,
  getInts,
  getString,
  inferShapes,
  topologicalOrder,
  type ConstTensor,
  type Graph,
  type Node,
  type TensorType,
} from '../ir/index.js';
import { windowOf, windowOutput } from '../ir/ops/index.js';
import { foldConvUnit, planConvUnits, type ConvUnit, type FoldedConv } from './tfjs-fold.js';

export type Tf = typeof TF;
type T = TF.Tensor;
type Rank4Pads = [[number, number], [number, number], [number, number], [number, number]];

/** A compiled graph: `run` takes the physical input (NHWC when 4-D) and returns the logical output. */
export interface Program {
  inputName: string;
  inputRank: number;
  run(input: T): T;
  /**
   * `run` with each step timed: `onStep` receives the step (a node or a fused unit) and the ms from before its kernel
   * until it completed. With `readBack` the outputs are read (`dataSync`) before the clock, as an
   * asynchronous backend needs; the cpu and wasm backends compute inside the op call, so for
   * them the clock after the call is already synchronised and a read-back would only add a copy
   * of every activation (and the garbage it leaves) to the profile.
   */
  runProfiled(input: T, onStep: (step: ProgramStep, ms: number) => void, readBack: boolean): T;
  /**
   * `run` with each step computed inside `measure`, which may wait between steps: for a backend
   * that times its own programs (WebGPU's timestamp queries through `tf.time`), and that cannot
   * read a tensor back synchronously (WebGPU in Node has no `dataSync`).
   */
  runMeasured(input: T, measure: (step: ProgramStep, compute: () => (T | undefined)[]) => Promise<(T | undefined)[]>): Promise<T>;
  dispose(): void;
}

/** One timed step of a program: an IR node, or a fused unit of several (its Conv first). */
export interface ProgramStep {
  node: Node;
  /** The IR nodes the step computes, `node` first. */
  nodes: Node[];
  /** The TF.js operation it calls: the IR op, or 'FusedConv2D' / 'FusedDepthwiseConv2D' for a fused unit. */
  op: string;
}

export interface CompileOptions {
  /**
   * BatchNormalization as a folded scale and shift (mul + add) rather than `tf.batchNorm`. The
   * wasm backend's batchNorm kernel is ~5× slower than its mul + add; the cpu backend's is ~3×
   * faster than its mul + add. Only for a BN that is not folded into the convolution before it
   * (tfjs-fold.ts): either way such a BN stays a separate step.
   */
  batchNormAsScaleShift: boolean;
}

/** A node's rejection: the message names the operator and the node. */
class Unsupported extends UserError {}

/** What an operator's compiler sees at load time. */
interface Ctx {
  tf: Tf;
  options: CompileOptions;
  node: Node;
  /** The rank of input i (static: only the batch size is unknown until run). */
  rank(i: number): number;
  /** The IR (logical) shape of input i, with symbolic dimensions bound to 1. */
  shape(i: number): number[];
  outRank(j: number): number;
  /** The IR element type of input i. */
  dtype(i: number): string;
  /** The initializer feeding input i, if it is one. */
  constant(i: number): ConstTensor | undefined;
  /** A load-time tensor, disposed with the program. */
  keep<X extends T>(t: X): X;
  fail(reason: string): never;
}

/** Runs one node: its inputs (undefined for initializers and omitted ones) → its outputs. */
type Kernel = (xs: (T | undefined)[]) => T[];
type OpCompiler = (ctx: Ctx) => Kernel;

/** Physical position (NHWC) of each logical (NCHW) axis of a 4-D value. */
const PHYS_OF = [0, 3, 1, 2];
/** Logical axis held at each physical position. */
const LOGICAL_AT = [0, 2, 3, 1];

function physAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return rank === 4 ? PHYS_OF[a]! : a;
}

/** NHWC → NCHW; a reshape when the move is trivial (1×1 spatial or one channel). */
function toLogical(tf: Tf, t: T): T {
  if (t.rank !== 4) return t;
  const [n, h, w, c] = t.shape as number[];
  if (h! * w! === 1 || c === 1) return tf.reshape(t, [n!, c!, h!, w!]);
  return tf.transpose(t, [0, 3, 1, 2]);
}

/** NCHW → NHWC; a reshape when the move is trivial. */
function toPhysical(tf: Tf, t: T): T {
  if (t.rank !== 4) return t;
  const [n, c, h, w] = t.shape as number[];
  if (h! * w! === 1 || c === 1) return tf.reshape(t, [n!, h!, w!, c!]);
  return tf.transpose(t, [0, 2, 3, 1]);
}

/** TF.js's element type for an IR one: TF.js has no int64, so the IR's int64 (and other integers) are held as int32. */
function tfDtype(dtype: string): 'float32' | 'int32' | 'bool' {
  if (dtype === 'bool') return 'bool';
  return dtype.startsWith('float') ? 'float32' : 'int32';
}

/**
 * A constant as a tensor in the physical layout of `rank` (leading 1s added to reach it). Integer
 * initializers (int64 in the IR) become int32 tensors here, at the boundary: the indices and
 * divisors of post-processing fit int32 by far.
 */
function constTensor(tf: Tf, c: ConstTensor, rank = c.dims.length): T {
  const dims = [...new Array<number>(Math.max(0, rank - c.dims.length)).fill(1), ...c.dims];
  const dtype = tfDtype(c.dtype);
  const values = dtype === 'float32' ? Float32Array.from(c.float32()) : Int32Array.from(c.integers());
  return toPhysicalOwned(tf, tf.tensor(values, dims, dtype));
}

function toPhysicalOwned(tf: Tf, t: T): T {
  if (t.rank !== 4) return t;
  const p = toPhysical(tf, t);
  if (p !== t) t.dispose();
  return p;
}

function scalarOf(ctx: Ctx, i: number, fallback: number): number {
  if (!ctx.node.inputs[i]) return fallback;
  const c = ctx.constant(i);
  if (!c) ctx.fail(`input ${i} must be a constant`);
  if (c.elementCount !== 1) ctx.fail(`input ${i} must be a scalar`);
  return c.integers()[0]!;
}

function intsOf(ctx: Ctx, i: number, what: string): number[] {
  const c = ctx.constant(i);
  if (!c) ctx.fail(`${what} (input ${i}) must be a constant`);
  return c.integers();
}

/** A data input: the runtime value, or the initializer prepared (physical layout, `rank`) at load. */
function operand(ctx: Ctx, i: number, rank = ctx.rank(i)): (xs: (T | undefined)[]) => T {
  const c = ctx.constant(i);
  if (c) {
    const t = ctx.keep(constTensor(ctx.tf, c, rank));
    return () => t;
  }
  const from = ctx.rank(i);
  if (from === rank) return (xs) => xs[i]!;
  // A lower-rank runtime value broadcast against a 4-D one: align it in the logical order first.
  const { tf } = ctx;
  return (xs) => {
    const x = toLogical(tf, xs[i]!);
    return toPhysical(tf, tf.reshape(x, [...new Array<number>(rank - from).fill(1), ...(x.shape as number[])]));
  };
}

function unary(f: (tf: Tf, x: T, ctx: Ctx) => T): OpCompiler {
  return (ctx) => {
    const { tf } = ctx;
    return (xs) => [f(tf, xs[0]!, ctx)];
  };
}

function binary(f: (tf: Tf, a: T, b: T) => T): OpCompiler {
  return (ctx) => {
    // A lower-rank operand broadcast against a 4-D value (or a 4-D one against a higher rank)
    // is aligned in the logical order, then laid out like the other; scalars broadcast as they are.
    const r = ctx.outRank(0);
    const target = (i: number) => {
      const ri = ctx.rank(i);
      return ri > 0 && ri < r && (r === 4 || ri === 4) ? r : ri;
    };
    const a = operand(ctx, 0, target(0));
    const b = operand(ctx, 1, target(1));
    const { tf } = ctx;
    return (xs) => [f(tf, a(xs), b(xs))];
  };
}

function spatialPads(p: number[]): Rank4Pads {
  return [[0, 0], [p[0]!, p[2]!], [p[1]!, p[3]!], [0, 0]];
}

/**
 * An ONNX convolution weight [O, I/g, kh, kw] as TF.js's filter [kh, kw, I/g, count] for the
 * output channels `first`…`first + count − 1` (one group's, or all of them).
 */
export function hwioFilter(w: ConstTensor, first: number, count: number): Float32Array {
  const [, Ig, kh, kw] = w.dims as [number, number, number, number];
  const wv = w.float32();
  const f = new Float32Array(kh * kw * Ig * count);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < Ig; i++) for (let o = 0; o < count; o++) {
    f[((y * kw + x) * Ig + i) * count + o] = wv[(((first + o) * Ig + i) * kh + y) * kw + x]!;
  }
  return f;
}

/**
 * A depthwise weight [C·mult, 1, kh, kw] as TF.js's depthwise filter [kh, kw, C, mult]: output
 * channel c·mult + m reads input channel c.
 */
export function depthwiseFilter(w: ConstTensor, channels: number): Float32Array {
  const [O, , kh, kw] = w.dims as [number, number, number, number];
  const mult = O / channels;
  const wv = w.float32();
  const f = new Float32Array(wv.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < channels; c++) for (let m = 0; m < mult; m++) {
    f[((y * kw + x) * channels + c) * mult + m] = wv[((c * mult + m) * kh + y) * kw + x]!;
  }
  return f;
}

interface ConvGeometry {
  O: number;
  Ig: number;
  kh: number;
  kw: number;
  C: number;
  g: number;
  strides: [number, number];
  dilations: [number, number];
  pad: 'valid' | Rank4Pads;
}

function convGeometry(ctx: Ctx, w: Pick<ConstTensor, 'dims'>): ConvGeometry {
  if (ctx.rank(0) !== 4) ctx.fail('only 2-D convolution (N×C×H×W input) is supported');
  const [O, Ig, kh, kw] = w.dims as [number, number, number, number];
  const [, C, H, W] = ctx.shape(0) as [number, number, number, number];
  const g = getInt(ctx.node.attrs, 'group', 1);
  const win = windowOf(ctx.node, [H, W], [kh, kw]);
  const strides = win.strides as [number, number];
  const dilations = win.dilations as [number, number];
  if (strides.some((s) => s > 1) && dilations.some((d) => d > 1)) {
    ctx.fail('TF.js convolutions take strides > 1 or dilations > 1, not both');
  }
  const pad = win.pads.every((p) => p === 0) ? 'valid' : spatialPads(win.pads);
  return { O, Ig, kh, kw, C, g, strides, dilations, pad };
}

function compileConv(ctx: Ctx): Kernel {
  const { tf, node } = ctx;
  const w = ctx.constant(1);
  if (!w) ctx.fail('the weight must be a constant');
  const { O, Ig, kh, kw, C, g, strides, dilations, pad } = convGeometry(ctx, w);
  const biasConst = ctx.constant(2);
  const bias = biasConst ? ctx.keep(tf.tensor1d(Float32Array.from(biasConst.float32()))) : undefined;
  const addBias = (y: T, xs: (T | undefined)[]): T => {
    if (bias) return tf.add(y, bias);
    if (node.inputs[2]) return tf.add(y, xs[2]!);
    return y;
  };
  if (g === 1) {
    const filter = ctx.keep(tf.tensor4d(hwioFilter(w, 0, O), [kh, kw, Ig, O]));
    return (xs) => [addBias(tf.conv2d(xs[0] as TF.Tensor4D, filter, strides, pad, 'NHWC', dilations), xs)];
  }
  if (Ig === 1 && g === C) {
    const filter = ctx.keep(tf.tensor4d(depthwiseFilter(w, C), [kh, kw, C, O / C]));
    return (xs) => [addBias(tf.depthwiseConv2d(xs[0] as TF.Tensor4D, filter, strides, pad, 'NHWC', dilations), xs)];
  }
  // Grouped: TF.js has no grouped convolution; split the channels, convolve each group, concat.
  const Og = O / g;
  const filters = Array.from({ length: g }, (_, k) => ctx.keep(tf.tensor4d(hwioFilter(w, k * Og, Og), [kh, kw, Ig, Og])));
  return (xs) => {
    const parts = tf.split(xs[0]!, g, 3) as TF.Tensor4D[];
    const ys = parts.map((p, k) => tf.conv2d(p, filters[k]!, strides, pad, 'NHWC', dilations));
    return [addBias(tf.concat(ys, 3), xs)];
  };
}

/**
 * A Conv with its BatchNormalization folded (weights computed once, here) and its ReLU/ReLU6
 * fused: one tf.fused.conv2d / tf.fused.depthwiseConv2d call with bias and activation, as a
 * converted GraphModel runs `_FusedConv2D` / `FusedDepthwiseConv2dNative`. Grouped: one fused
 * call per group (its slice of the bias, the same activation), then concat.
 */
function compileConvUnit(ctx: Ctx, unit: ConvUnit, folded: FoldedConv): Kernel {
  const { tf } = ctx;
  const w = folded.weight;
  const { O, Ig, kh, kw, C, g, strides, dilations, pad } = convGeometry(ctx, w);
  const activation = unit.fusedActivation;
  const biasOf = (first: number, count: number) => (folded.bias ? ctx.keep(tf.tensor1d(folded.bias.slice(first, first + count))) : undefined);
  if (g === 1) {
    const filter = ctx.keep(tf.tensor4d(hwioFilter(w, 0, O), [kh, kw, Ig, O]));
    const bias = biasOf(0, O);
    return (xs) => [tf.fused.conv2d({ x: xs[0] as TF.Tensor4D, filter, strides, pad, dataFormat: 'NHWC', dilations, ...(bias ? { bias } : {}), activation })];
  }
  if (Ig === 1 && g === C) {
    const filter = ctx.keep(tf.tensor4d(depthwiseFilter(w, C), [kh, kw, C, O / C]));
    const bias = biasOf(0, O);
    // The typings of tf.fused.depthwiseConv2d omit explicit pads; its kernels take them as tf.depthwiseConv2d does.
    const fusedPad = pad as 'valid';
    return (xs) => [tf.fused.depthwiseConv2d({ x: xs[0] as TF.Tensor4D, filter, strides, pad: fusedPad, dataFormat: 'NHWC', dilations, ...(bias ? { bias } : {}), activation })];
  }
  const Og = O / g;
  const filters = Array.from({ length: g }, (_, k) => ctx.keep(tf.tensor4d(hwioFilter(w, k * Og, Og), [kh, kw, Ig, Og])));
  const biases = Array.from({ length: g }, (_, k) => biasOf(k * Og, Og));
  return (xs) => {
    const parts = tf.split(xs[0]!, g, 3) as TF.Tensor4D[];
    const ys = parts.map((p, k) => tf.fused.conv2d({ x: p, filter: filters[k]!, strides, pad, dataFormat: 'NHWC', dilations, ...(biases[k] ? { bias: biases[k] } : {}), activation }));
    return [tf.concat(ys, 3)];
  };
}

function compileBatchNorm(ctx: Ctx): Kernel {
  const { tf, node } = ctx;
  const params = [1, 2, 3, 4].map((i) => ctx.constant(i) ?? ctx.fail(`parameter input ${i} must be a constant`));
  const [scale, bias, mean, variance] = params.map((p) => Float32Array.from(p.float32())) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const eps = getFloat(node.attrs, 'epsilon', 1e-5);
  const rank = ctx.rank(0);
  if (rank === 4 && !ctx.options.batchNormAsScaleShift) {
    const [s, b, m, v] = [scale, bias, mean, variance].map((a) => ctx.keep(tf.tensor1d(a)));
    return (xs) => [tf.batchNorm(xs[0]!, m!, v!, b!, s!, eps)];
  }
  // y = x·a + c with a = scale/√(var+ε), c = bias − mean·a: shaped [C] for NHWC and [N, C],
  // [C, 1, …] for other ranks.
  const a = scale.map((g, i) => g / Math.sqrt(variance[i]! + eps));
  const c = bias.map((b, i) => b - mean[i]! * a[i]!);
  const shape = rank === 4 ? [scale.length] : [scale.length, ...new Array<number>(Math.max(0, rank - 2)).fill(1)];
  const at = ctx.keep(tf.tensor(a, shape));
  const ct = ctx.keep(tf.tensor(c, shape));
  return (xs) => [tf.add(tf.mul(xs[0]!, at), ct)];
}

function compileClip(ctx: Ctx): Kernel {
  const { tf } = ctx;
  const lo = scalarOf(ctx, 1, -Infinity);
  const hi = scalarOf(ctx, 2, Infinity);
  return (xs) => [tf.clipByValue(xs[0]!, lo, hi)];
}

function compileMaxPool(ctx: Ctx): Kernel {
  const { tf, node } = ctx;
  if (ctx.rank(0) !== 4) ctx.fail('only 2-D pooling is supported');
  if (node.outputs.length > 1 && node.outputs[1]) ctx.fail('the indices output is not supported');
  const [, , H, W] = ctx.shape(0) as number[];
  const kernel = getInts(node.attrs, 'kernel_shape')!;
  const win = windowOf(node, [H!, W!], kernel);
  if (win.dilations.some((d) => d !== 1)) ctx.fail('dilated max pooling is not supported');
  const pads = endPadsForCeil(win, [H!, W!], getInt(node.attrs, 'ceil_mode', 0) === 1);
  // Explicit pads in TF.js pooling are skipped (as −∞ would be), matching ONNX.
  const pad = pads.every((p) => p === 0) ? 'valid' : spatialPads(pads);
  return (xs) => [tf.maxPool(xs[0] as TF.Tensor4D, kernel as [number, number], win.strides as [number, number], pad)];
}

/** Pads [top, left, bottom, right] with the bottom/right grown so that floor mode gives ceil mode's size. */
function endPadsForCeil(win: ReturnType<typeof windowOf>, spatial: number[], ceil: boolean): number[] {
  const pads = [...win.pads];
  if (!ceil) return pads;
  const out = windowOutput(spatial, win, true);
  for (let i = 0; i < 2; i++) {
    const need = (out[i]! - 1) * win.strides[i]! + win.kernel[i]! - (spatial[i]! + pads[i]! + pads[i + 2]!);
    if (need > 0) pads[i + 2]! += need;
  }
  return pads;
}

function compileAveragePool(ctx: Ctx): Kernel {
  const { tf, node } = ctx;
  if (ctx.rank(0) !== 4) ctx.fail('only 2-D pooling is supported');
  const [, , H, W] = ctx.shape(0) as number[];
  const kernel = getInts(node.attrs, 'kernel_shape')! as [number, number];
  const win = windowOf(node, [H!, W!], kernel);
  const strides = win.strides as [number, number];
  const includePad = getInt(node.attrs, 'count_include_pad', 0) === 1;
  const pads = endPadsForCeil(win, [H!, W!], getInt(node.attrs, 'ceil_mode', 0) === 1);
  const grown = pads.some((p, i) => p !== win.pads[i]);
  if (pads.every((p) => p === 0)) return (xs) => [tf.avgPool(xs[0] as TF.Tensor4D, kernel, strides, 'valid')];
  // TF.js averages over the input pixels only (count_include_pad=0), like ONNX's default.
  if (!includePad && !grown) return (xs) => [tf.avgPool(xs[0] as TF.Tensor4D, kernel, strides, spatialPads(pads))];
  // Otherwise: pad with zeros, average over whole windows, and rescale where ONNX's divisor differs.
  const [outH, outW] = windowOutput([H!, W!], win, getInt(node.attrs, 'ceil_mode', 0) === 1) as [number, number];
  const lo = includePad ? [-win.pads[0]!, -win.pads[1]!] : [0, 0];
  const hi = includePad ? [H! + win.pads[2]!, W! + win.pads[3]!] : [H!, W!];
  const factor = new Float32Array(outH * outW);
  let uniform = true;
  for (let y = 0; y < outH; y++) for (let x = 0; x < outW; x++) {
    const y0 = y * strides[0] - pads[0]!;
    const x0 = x * strides[1] - pads[1]!;
    const rows = Math.min(y0 + kernel[0], hi[0]!) - Math.max(y0, lo[0]!);
    const cols = Math.min(x0 + kernel[1], hi[1]!) - Math.max(x0, lo[1]!);
    factor[y * outW + x] = (kernel[0] * kernel[1]) / (rows * cols);
    if (rows * cols !== kernel[0] * kernel[1]) uniform = false;
  }
  const scale = uniform ? undefined : ctx.keep(tf.tensor4d(factor, [1, outH, outW, 1]));
  const padding = spatialPads(pads);
  return (xs) => {
    const y = tf.avgPool(tf.pad(xs[0] as TF.Tensor4D, padding), kernel, strides, 'valid');
    return [scale ? tf.mul(y, scale) : y];
  };
}

/** Flatten, Reshape, Squeeze, Unsqueeze: a reshape in the logical order. */
function logicalReshape(target: (inShape: number[], ctx: Ctx) => number[]): OpCompiler {
  return (ctx) => {
    const { tf } = ctx;
    return (xs) => {
      const x = toLogical(tf, xs[0]!);
      return [toPhysical(tf, tf.reshape(x, target(x.shape as number[], ctx)))];
    };
  };
}

function compileReshape(ctx: Ctx): Kernel {
  const shape = intsOf(ctx, 1, 'shape');
  const allowZero = getInt(ctx.node.attrs, 'allowzero', 0) === 1;
  return logicalReshape((s) => shape.map((d, i) => (d === 0 && !allowZero ? s[i]! : d)))(ctx);
}

function compileFlatten(ctx: Ctx): Kernel {
  const rank = ctx.rank(0);
  const axis = getInt(ctx.node.attrs, 'axis', 1);
  const a = axis < 0 ? axis + rank : axis;
  const prod = (d: number[]) => d.reduce((p, v) => p * v, 1);
  return logicalReshape((s) => [prod(s.slice(0, a)), prod(s.slice(a))])(ctx);
}

function compileSqueeze(ctx: Ctx): Kernel {
  const rank = ctx.rank(0);
  const axes = ctx.node.inputs[1] ? intsOf(ctx, 1, 'axes').map((a) => (a < 0 ? a + rank : a)) : undefined;
  return logicalReshape((s) => s.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)))(ctx);
}

function compileUnsqueeze(ctx: Ctx): Kernel {
  const out = ctx.outRank(0);
  const axes = intsOf(ctx, 1, 'axes').map((a) => (a < 0 ? a + out : a));
  return logicalReshape((s) => {
    const shape: number[] = [];
    let k = 0;
    for (let i = 0; i < out; i++) shape.push(axes.includes(i) ? 1 : s[k++]!);
    return shape;
  })(ctx);
}

function compileTranspose(ctx: Ctx): Kernel {
  const { tf, node } = ctx;
  const rank = ctx.rank(0);
  const perm = getInts(node.attrs, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  // y_phys axis i = x_phys axis q, where logical(x, q) = perm[logical(y, i)].
  const pin = rank === 4 ? LOGICAL_AT : perm.map((_, i) => i);
  const pout = rank === 4 ? LOGICAL_AT : perm.map((_, i) => i);
  const physPerm = pout.map((l) => pin.indexOf(perm[l]!));
  if (physPerm.every((p, i) => p === i)) return (xs) => [tf.clone(xs[0]!)];
  return (xs) => [tf.transpose(xs[0]!, physPerm)];
}

function compileConcat(ctx: Ctx): Kernel {
  const { tf, node } = ctx;
  const rank = ctx.outRank(0);
  const axis = physAxis(getInt(node.attrs, 'axis', 0), rank);
  const parts = node.inputs.map((_, i) => operand(ctx, i));
  return (xs) => [tf.concat(parts.map((p) => p(xs)), axis)];
}

function compileSlice(ctx: Ctx): Kernel {
  const { tf } = ctx;
  const rank = ctx.rank(0);
  const starts = intsOf(ctx, 1, 'starts');
  const ends = intsOf(ctx, 2, 'ends');
  const axes = ctx.node.inputs[3] ? intsOf(ctx, 3, 'axes').map((a) => (a < 0 ? a + rank : a)) : starts.map((_, i) => i);
  const steps = ctx.node.inputs[4] ? intsOf(ctx, 4, 'steps') : starts.map(() => 1);
  if (steps.some((s) => s === 0)) ctx.fail('slice step 0');
  return (xs) => {
    const x = xs[0]!;
    const shape = x.shape as number[];
    const begin = shape.map(() => 0);
    const end = [...shape];
    const stride = shape.map(() => 1);
    let endMask = 0;
    axes.forEach((axis, i) => {
      const p = physAxis(axis, rank);
      const size = shape[p]!;
      const step = steps[i]!;
      const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + size : v, lo), hi);
      begin[p] = step > 0 ? clamp(starts[i]!, 0, size) : clamp(starts[i]!, -1, size - 1);
      end[p] = step > 0 ? clamp(ends[i]!, 0, size) : clamp(ends[i]!, -1, size - 1);
      stride[p] = step;
      if (step < 0 && end[p] === -1) endMask |= 1 << p;
    });
    if (stride.every((s) => s === 1)) return [tf.slice(x, begin, end.map((e, i) => Math.max(0, e - begin[i]!)))];
    return [tf.stridedSlice(x, begin, end, stride, 0, endMask)];
  };
}

function compilePad(ctx: Ctx): Kernel {
  const { tf, node } = ctx;
  const rank = ctx.rank(0);
  const pads = intsOf(ctx, 1, 'pads');
  if (pads.some((p) => p < 0)) ctx.fail('negative pads (cropping) are not supported');
  const mode = getString(node.attrs, 'mode', 'constant');
  const value = node.inputs[2] ? (ctx.constant(2) ?? ctx.fail('constant_value must be a constant')).float32()[0] ?? 0 : 0;
  const paddings = Array.from({ length: rank }, (_, p): [number, number] => {
    const l = rank === 4 ? LOGICAL_AT[p]! : p;
    return [pads[l]!, pads[l + rank]!];
  });
  if (mode === 'constant') return (xs) => [tf.pad(xs[0]!, paddings, value)];
  if (mode === 'reflect') return (xs) => [tf.mirrorPad(xs[0]!, paddings, 'reflect')];
  ctx.fail(`pad mode '${mode}' has no TF.js equivalent`);
}

function compileSoftmax(ctx: Ctx): Kernel {
  const { tf } = ctx;
  const rank = ctx.rank(0);
  const axis = physAxis(getInt(ctx.node.attrs, 'axis', -1), rank);
  if (axis === rank - 1) return (xs) => [tf.softmax(xs[0]!)];
  const perm = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis).concat(axis);
  const back = perm.map((_, i) => perm.indexOf(i));
  return (xs) => [tf.transpose(tf.softmax(tf.transpose(xs[0]!, perm)), back)];
}

function compileGemm(ctx: Ctx): Kernel {
  const { tf, node } = ctx;
  const alpha = getFloat(node.attrs, 'alpha', 1);
  const beta = getFloat(node.attrs, 'beta', 1);
  const transA = getInt(node.attrs, 'transA', 0) === 1;
  const transB = getInt(node.attrs, 'transB', 0) === 1;
  const a = operand(ctx, 0);
  const b = operand(ctx, 1);
  const cConst = ctx.constant(2);
  let c: ((xs: (T | undefined)[]) => T) | undefined;
  if (cConst) {
    const t = ctx.keep(tf.tensor(Float32Array.from(cConst.float32(), (v) => v * beta), [...cConst.dims]));
    c = () => t;
  } else if (node.inputs[2]) {
    c = (xs) => (beta === 1 ? xs[2]! : tf.mul(xs[2]!, beta));
  }
  return (xs) => {
    let y: T = tf.matMul(a(xs) as TF.Tensor2D, b(xs) as TF.Tensor2D, transA, transB);
    if (alpha !== 1) y = tf.mul(y, alpha);
    return [c ? tf.add(y, c(xs)) : y];
  };
}

function compileMatMul(ctx: Ctx): Kernel {
  const { tf } = ctx;
  const [ra, rb, ro] = [ctx.rank(0), ctx.rank(1), ctx.outRank(0)];
  const a = operand(ctx, 0);
  const b = operand(ctx, 1);
  return (xs) => {
    let x = toLogical(tf, a(xs));
    let y = toLogical(tf, b(xs));
    if (ra === 1) x = tf.reshape(x, [1, x.shape[0]!]);
    if (rb === 1) y = tf.reshape(y, [y.shape[0]!, 1]);
    let out: T = tf.matMul(x, y);
    if (ra === 1 || rb === 1) {
      const s = out.shape as number[];
      out = tf.reshape(out, [...s.slice(0, -2), ...(ra === 1 ? [] : [s[s.length - 2]!]), ...(rb === 1 ? [] : [s[s.length - 1]!])]);
    }
    return [ro === 4 ? toPhysical(tf, out) : out];
  };
}

function compileReduceMean(ctx: Ctx): Kernel {
  return compileReduce(ctx, getInts(ctx.node.attrs, 'axes'), (tf, x, axes, keep) => tf.mean(x, axes, keep));
}

/**
 * ONNX Resize of an image tensor (held NHWC, as TF.js's resize kernels want it), for the
 * coordinate modes TF's own resizes correspond to (what the TF.js importer writes).
 */
function compileResize(ctx: Ctx): Kernel {
  const { tf, node } = ctx;
  if (ctx.rank(0) !== 4) ctx.fail('only 4-d (image) tensors are resized');
  const [, , H, W] = ctx.shape(0);
  const sizes = ctx.constant(3)?.integers();
  const scales = ctx.constant(2)?.float32();
  const size: [number, number] = sizes && sizes.length ? [sizes[2]!, sizes[3]!] : scales ? [Math.floor(H! * scales[2]!), Math.floor(W! * scales[3]!)] : ctx.fail('Resize needs constant scales or sizes');
  const mode = getString(node.attrs, 'mode', 'nearest');
  const coords = getString(node.attrs, 'coordinate_transformation_mode', 'half_pixel');
  const alignCorners = coords === 'align_corners';
  const halfPixel = mode === 'linear' ? coords === 'half_pixel' : coords === 'tf_half_pixel_for_nn';
  if (!alignCorners && !halfPixel && coords !== 'asymmetric') ctx.fail(`coordinate_transformation_mode '${coords}' with mode '${mode}' has no TF.js resize`);
  if (mode === 'linear') return (xs) => [tf.image.resizeBilinear(xs[0] as TF.Tensor4D, size, alignCorners, halfPixel)];
  if (mode !== 'nearest') ctx.fail(`mode '${mode}' is not supported`);
  return (xs) => [tf.image.resizeNearestNeighbor(xs[0] as TF.Tensor4D, size, alignCorners, halfPixel)];
}

function compileReduceSum(ctx: Ctx): Kernel {
  const given = ctx.node.inputs[1] ? intsOf(ctx, 1, 'axes') : undefined;
  return compileReduce(ctx, given && given.length ? given : undefined, (tf, x, axes, keep) => tf.sum(x, axes, keep));
}

function compileReduce(ctx: Ctx, given: number[] | undefined, reduce: (tf: Tf, x: T, axes: number[], keep: boolean) => T): Kernel {
  const { tf, node } = ctx;
  const rank = ctx.rank(0);
  const axes = (given ?? Array.from({ length: rank }, (_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  const keep = getInt(node.attrs, 'keepdims', 1) === 1;
  const phys = axes.map((a) => physAxis(a, rank));
  if (keep || rank !== 4) return (xs) => [reduce(tf, xs[0]!, phys, keep)];
  // 4-D without keepdims: the kept axes come out in physical order; put them in logical order.
  const kept = [0, 1, 2, 3].filter((p) => !phys.includes(p));
  const order = [...kept].sort((p, q) => LOGICAL_AT[p]! - LOGICAL_AT[q]!).map((p) => kept.indexOf(p));
  const identity = order.every((o, i) => o === i);
  return (xs) => {
    const m = reduce(tf, xs[0]!, phys, false);
    return [identity ? m : tf.transpose(m, order)];
  };
}

function compileGlobalPool(kind: 'mean' | 'max'): OpCompiler {
  return (ctx) => {
    if (ctx.rank(0) !== 4) ctx.fail('only 2-D global pooling is supported');
    const { tf } = ctx;
    return (xs) => [kind === 'mean' ? tf.mean(xs[0]!, [1, 2], true) : tf.max(xs[0]!, [1, 2], true)];
  };
}

/** x truncated toward zero, in float32 (exact for the integers int32 indices hold below 2^24). */
function trunc(tf: Tf, x: T): T {
  return tf.mul(tf.sign(x), tf.floor(tf.abs(x)));
}

/** ONNX Div: on integers it truncates toward zero, where TF.js's int32 div floors. */
function compileDiv(ctx: Ctx): Kernel {
  const integer = tfDtype(ctx.dtype(0)) === 'int32';
  return binary((tf, a, b) => (integer ? tf.cast(trunc(tf, tf.div(tf.cast(a, 'float32'), tf.cast(b, 'float32'))), 'int32') : tf.div(a, b)))(ctx);
}

/**
 * ONNX Mod. fmod = 0 (integers only in ONNX): the remainder takes the divisor's sign, which is
 * TF.js's mod (floor mod). fmod = 1: C's fmod, the dividend's sign: a − trunc(a / b)·b.
 */
function compileMod(ctx: Ctx): Kernel {
  const fmod = getInt(ctx.node.attrs, 'fmod', 0) === 1;
  const integer = tfDtype(ctx.dtype(0)) === 'int32';
  if (!fmod) return binary((tf, a, b) => tf.mod(a, b))(ctx);
  return binary((tf, a, b) => {
    const [fa, fb] = [tf.cast(a, 'float32'), tf.cast(b, 'float32')];
    const r = tf.sub(fa, tf.mul(trunc(tf, tf.div(fa, fb)), fb));
    return integer ? tf.cast(r, 'int32') : r;
  })(ctx);
}

/** ONNX TensorProto.DataType codes as TF.js element types (every integer width as int32). */
const CAST_TO: Record<number, 'float32' | 'int32' | 'bool'> = { 1: 'float32', 2: 'int32', 3: 'int32', 6: 'int32', 7: 'int32', 9: 'bool', 10: 'float32', 11: 'float32' };

function compileCast(ctx: Ctx): Kernel {
  const to = CAST_TO[getInt(ctx.node.attrs, 'to', 0)] ?? ctx.fail(`cannot cast to element type ${getInt(ctx.node.attrs, 'to', 0)}`);
  const { tf } = ctx;
  // float → int truncates toward zero in ONNX and in TF.js's cast alike.
  return (xs) => [tf.cast(xs[0]!, to)];
}

function compileSplit(ctx: Ctx): Kernel {
  const { tf, node } = ctx;
  const rank = ctx.rank(0);
  const logical = getInt(node.attrs, 'axis', 0);
  const a = logical < 0 ? logical + rank : logical;
  const size = ctx.shape(0)[a]!;
  const n = node.outputs.length;
  let sizes = node.inputs[1] ? intsOf(ctx, 1, 'split') : undefined;
  if (!sizes) {
    const each = Math.ceil(size / n);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, size - i * each)));
  }
  const axis = physAxis(a, rank);
  const parts = sizes;
  return (xs) => tf.split(xs[0]!, parts, axis);
}

/**
 * An operator computed in the IR's logical order: its 4-D inputs are moved to NCHW first and a
 * 4-D output back to NHWC. For the index operators, whose axes and index tuples name logical
 * positions; they run on small post-processing tensors, where the transposes cost little.
 */
function logical(f: (ctx: Ctx) => (tf: Tf, xs: T[]) => T[]): OpCompiler {
  return (ctx) => {
    const { tf } = ctx;
    const inputs = ctx.node.inputs.map((name, i) => (name ? operand(ctx, i) : undefined));
    const run = f(ctx);
    const outRanks = ctx.node.outputs.map((_, j) => ctx.outRank(j));
    return (xs) => {
      const ys = run(tf, inputs.map((get) => (get ? toLogical(tf, get(xs)) : (undefined as unknown as T))));
      return ys.map((y, j) => (outRanks[j] === 4 ? toPhysical(tf, y) : y));
    };
  };
}

const compileArgMax = logical((ctx) => {
  if (getInt(ctx.node.attrs, 'select_last_index', 0) === 1) ctx.fail('select_last_index = 1 is not supported (TF.js picks the first maximum)');
  const rank = ctx.rank(0);
  const given = getInt(ctx.node.attrs, 'axis', 0);
  const axis = given < 0 ? given + rank : given;
  const keep = getInt(ctx.node.attrs, 'keepdims', 1) === 1;
  return (tf, [x]) => {
    const i = tf.argMax(x!, axis);
    return [keep ? tf.expandDims(i, axis) : i];
  };
});

/** TF.js's topk works on the last axis: another axis is moved there and back. largest = 0: the top k of −x. */
const compileTopK = logical((ctx) => {
  const k = scalarOf(ctx, 1, Number.NaN);
  const rank = ctx.rank(0);
  const given = getInt(ctx.node.attrs, 'axis', -1);
  const axis = given < 0 ? given + rank : given;
  const largest = getInt(ctx.node.attrs, 'largest', 1) === 1;
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[axis] = rank - 1;
  perm[rank - 1] = axis;
  const moved = axis !== rank - 1;
  return (tf, [x]) => {
    let v = moved ? tf.transpose(x!, perm) : x!;
    if (!largest) v = tf.neg(v);
    const { values, indices } = tf.topk(v, k, true);
    const vals = largest ? values : tf.neg(values);
    return moved ? [tf.transpose(vals, perm), tf.transpose(indices, perm)] : [vals, indices];
  };
});

/** Negative indices count from the end of their axis, as ONNX allows and TF.js's gathers do not. */
function wrapIndices(tf: Tf, indices: T, sizes: T): T {
  return tf.where(tf.less(indices, 0), tf.add(indices, sizes), indices);
}

const compileGather = logical((ctx) => {
  const rank = ctx.rank(0);
  const given = getInt(ctx.node.attrs, 'axis', 0);
  const axis = given < 0 ? given + rank : given;
  return (tf, [x, indices]) => [tf.gather(x!, wrapIndices(tf, tf.cast(indices!, 'int32'), tf.scalar(x!.shape[axis]!, 'int32')), axis)];
});

const compileGatherND = logical((ctx) => {
  if (getInt(ctx.node.attrs, 'batch_dims', 0) !== 0) ctx.fail('batch_dims other than 0 is not supported');
  return (tf, [x, indices]) => {
    const depth = indices!.shape[indices!.rank - 1]!;
    const sizes = tf.tensor1d((x!.shape as number[]).slice(0, depth), 'int32');
    return [tf.gatherND(x!, wrapIndices(tf, tf.cast(indices!, 'int32'), sizes))];
  };
});

function hardSigmoid(tf: Tf, x: T, alpha: number, beta: number): T {
  return tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);
}

/** Every operator this engine executes. */
export const TFJS_OPS: Record<string, OpCompiler> = {
  Conv: compileConv,
  BatchNormalization: compileBatchNorm,
  Relu: unary((tf, x) => tf.relu(x)),
  Clip: compileClip,
  Sigmoid: unary((tf, x) => tf.sigmoid(x)),
  Tanh: unary((tf, x) => tf.tanh(x)),
  Sqrt: unary((tf, x) => tf.sqrt(x)),
  Exp: unary((tf, x) => tf.exp(x)),
  Neg: unary((tf, x) => tf.neg(x)),
  Abs: unary((tf, x) => tf.abs(x)),
  Elu: unary((tf, x, ctx) => {
    const alpha = getFloat(ctx.node.attrs, 'alpha', 1);
    return alpha === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(tf.sub(tf.exp(x), 1), alpha));
  }),
  LeakyRelu: unary((tf, x, ctx) => tf.leakyRelu(x, getFloat(ctx.node.attrs, 'alpha', 0.01))),
  HardSigmoid: unary((tf, x, ctx) => hardSigmoid(tf, x, getFloat(ctx.node.attrs, 'alpha', 0.2), getFloat(ctx.node.attrs, 'beta', 0.5))),
  HardSwish: unary((tf, x) => tf.mul(x, hardSigmoid(tf, x, 1 / 6, 0.5))),
  Softmax: compileSoftmax,
  Identity: unary((tf, x) => tf.clone(x)),
  Dropout: (ctx) => {
    if (ctx.node.outputs.length > 1 && ctx.node.outputs[1]) ctx.fail('the mask output is not supported');
    return (xs) => [ctx.tf.clone(xs[0]!)];
  },
  Add: binary((tf, a, b) => tf.add(a, b)),
  Sub: binary((tf, a, b) => tf.sub(a, b)),
  Mul: binary((tf, a, b) => tf.mul(a, b)),
  Div: compileDiv,
  Mod: compileMod,
  Equal: binary((tf, a, b) => tf.equal(a, b)),
  Less: binary((tf, a, b) => tf.less(a, b)),
  Greater: binary((tf, a, b) => tf.greater(a, b)),
  Cast: compileCast,
  Max: binary((tf, a, b) => tf.maximum(a, b)),
  Min: binary((tf, a, b) => tf.minimum(a, b)),
  Pow: binary((tf, a, b) => tf.pow(a, b)),
  // ONNX's PRelu: the slope broadcasts against x like a binary operand; one prelu kernel, not three.
  PRelu: binary((tf, x, slope) => tf.prelu(x, slope)),
  Floor: unary((tf, x) => tf.floor(x)),
  MaxPool: compileMaxPool,
  AveragePool: compileAveragePool,
  GlobalAveragePool: compileGlobalPool('mean'),
  GlobalMaxPool: compileGlobalPool('max'),
  ReduceMean: compileReduceMean,
  ReduceSum: compileReduceSum,
  Resize: compileResize,
  Flatten: compileFlatten,
  Reshape: compileReshape,
  Squeeze: compileSqueeze,
  Unsqueeze: compileUnsqueeze,
  Transpose: compileTranspose,
  Concat: compileConcat,
  Split: compileSplit,
  ArgMax: compileArgMax,
  TopK: compileTopK,
  Gather: compileGather,
  GatherND: compileGatherND,
  Slice: compileSlice,
  Pad: compilePad,
  Gemm: compileGemm,
  MatMul: compileMatMul,
};

export function tfjsSupportedOps(): string[] {
  return Object.keys(TFJS_OPS).sort();
}

/** Compiles a graph for the current backend; throws a UserError naming the first node it cannot run. */
export function compileGraph(tf: Tf, graph: Graph, engine: string, options: CompileOptions): Program {
  for (const node of graph.nodes) {
    if (!TFJS_OPS[node.op]) {
      throw new Unsupported(`${engine}: operator '${node.op}' (node '${node.name}') is not supported by the TF.js engine`, `supported: ${tfjsSupportedOps().join(', ')}`);
    }
  }
  if (graph.inputs.length !== 1) throw new UserError(`${engine}: the model has ${graph.inputs.length} inputs; one is supported`);
  const input = graph.inputs[0]!;
  // Ranks (and the non-batch sizes) do not depend on the batch: bind every symbol to 1.
  const bindings = Object.fromEntries(input.type.shape.filter((d): d is string => typeof d === 'string').map((d) => [d, 1]));
  const types = inferShapes(graph, bindings);
  const typeOf = (name: string): TensorType => types.get(name)!;
  const staticShape = (name: string): number[] => typeOf(name).shape.map((d) => (typeof d === 'number' ? d : 1));

  const kept: T[] = [];
  const units = planConvUnits(graph);
  const absorbed = new Set<string>([...units.values()].flatMap((u) => u.nodes.slice(1).map((n) => n.name)));
  // A fused unit runs where its Conv is: what it absorbs reads only the Conv's chain and constants.
  const order = topologicalOrder(graph).filter((node) => !absorbed.has(node.name));
  const outputName = graph.outputs[0]!.name;
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const unitOf = (node: Node): ConvUnit | undefined => {
    const unit = units.get(node.name);
    // A Conv alone, without bias, stays a plain tf.conv2d.
    return unit && (unit.nodes.length > 1 || unit.conv.inputs[2]) ? unit : undefined;
  };
  const covered = (node: Node): Node[] => unitOf(node)?.nodes ?? [node];
  const stepOutputs = (node: Node): string[] => {
    const unit = unitOf(node);
    return unit ? [unit.output] : node.outputs;
  };
  // Last reader of each computed value, to dispose it as soon as it is dead.
  const lastUse = new Map<string, number>();
  order.forEach((node, k) => {
    for (const n of covered(node)) for (const name of n.inputs) if (name && !graph.initializers.has(name)) lastUse.set(name, k);
    for (const name of stepOutputs(node)) if (name && !lastUse.has(name)) lastUse.set(name, k);
  });

  interface Step {
    unit: ProgramStep;
    inputs: string[];
    outputs: string[];
    kernel: Kernel;
    dead: string[];
  }
  const steps: Step[] = [];
  try {
    order.forEach((node, k) => {
      const fail = (reason: string): never => {
        throw new Unsupported(`${engine}: node '${node.name}' (${node.op}): ${reason}`);
      };
      const ctx: Ctx = {
        tf,
        options,
        node,
        rank: (i) => typeOf(node.inputs[i]!).shape.length,
        shape: (i) => staticShape(node.inputs[i]!),
        outRank: (j) => typeOf(node.outputs[j]!).shape.length,
        dtype: (i) => typeOf(node.inputs[i]!).dtype,
        constant: (i) => (node.inputs[i] ? graph.initializers.get(node.inputs[i]!) : undefined),
        keep: (t) => {
          kept.push(t);
          return t;
        },
        fail,
      };
      const unit = unitOf(node);
      let kernel: Kernel;
      try {
        kernel = unit ? compileConvUnit(ctx, unit, foldConvUnit(graph, unit)) : TFJS_OPS[node.op]!(ctx);
      } catch (e) {
        if (e instanceof UserError) throw e;
        fail((e as Error).message);
      }
      const dead = [...lastUse].filter(([name, at]) => at === k && !outputs.has(name)).map(([name]) => name);
      const op = unit ? (getInt(node.attrs, 'group', 1) > 1 && graph.initializers.get(node.inputs[1]!)!.dims[1] === 1 ? 'FusedDepthwiseConv2D' : 'FusedConv2D') : node.op;
      steps.push({ unit: { node, nodes: covered(node), op }, inputs: node.inputs, outputs: stepOutputs(node), kernel: kernel!, dead });
    });
  } catch (e) {
    for (const t of kept) t.dispose();
    throw e;
  }

  /** One step's kernel on its inputs from `env`: its outputs, none of them an input tensor itself. */
  function computeStep(step: (typeof steps)[number], env: Map<string, T>): (T | undefined)[] {
    const xs = step.inputs.map((name) => (name ? env.get(name) : undefined));
    return tf.tidy(() => step.kernel(xs).map((y) => (xs.includes(y) ? tf.clone(y) : y)));
  }

  /** Keeps a step's outputs in `env` and frees the tensors no later step reads. */
  function storeStep(step: (typeof steps)[number], ys: (T | undefined)[], env: Map<string, T>): void {
    step.outputs.forEach((name, j) => {
      if (name && ys[j]) env.set(name, ys[j]!);
    });
    for (const name of step.dead) {
      if (name === input.name) continue;
      env.get(name)?.dispose();
      env.delete(name);
    }
  }

  function finish(env: Map<string, T>): T {
    const out = env.get(outputName);
    if (!out) throw new Error(`${engine}: the graph output '${outputName}' was not computed`);
    // Engines answer float32: an integer output (indices) is converted at the boundary.
    const y = tf.tidy(() => {
      const l = toLogical(tf, out);
      return l.dtype === 'float32' ? l : tf.cast(l, 'float32');
    });
    return y === out ? tf.clone(out) : y;
  }

  function execute(x: T, onStep?: (step: ProgramStep, ms: number) => void, readBack = false): T {
    const env = new Map<string, T>([[input.name, x]]);
    try {
      for (const step of steps) {
        const t0 = onStep ? performance.now() : 0;
        const ys = computeStep(step, env);
        if (onStep) {
          if (readBack) for (const y of ys) y?.dataSync();
          onStep(step.unit, performance.now() - t0);
        }
        storeStep(step, ys, env);
      }
      return finish(env);
    } finally {
      for (const [name, t] of env) if (name !== input.name) t.dispose();
    }
  }

  async function executeMeasured(x: T, measure: (step: ProgramStep, compute: () => (T | undefined)[]) => Promise<(T | undefined)[]>): Promise<T> {
    const env = new Map<string, T>([[input.name, x]]);
    try {
      for (const step of steps) storeStep(step, await measure(step.unit, () => computeStep(step, env)), env);
      return finish(env);
    } finally {
      for (const [name, t] of env) if (name !== input.name) t.dispose();
    }
  }

  return {
    inputName: input.name,
    inputRank: input.type.shape.length,
    run: (x) => execute(x),
    runProfiled: (x, onStep, readBack) => execute(x, onStep, readBack),
    runMeasured: (x, measure) => executeMeasured(x, measure),
    dispose() {
      for (const t of kept) t.dispose();
      kept.length = 0;
    },
  };
}
