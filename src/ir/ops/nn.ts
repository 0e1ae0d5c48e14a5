import { getInt, getInts, getString, type Node } from '../graph.js';
import type { Dim, TensorType } from '../tensor.js';
import {
  broadcastShapes,
  defineOps,
  fail,
  normAxis,
  numericDim,
  requireInput,
  requireRank,
  type InferContext,
} from './registry.js';

/** Spatial window geometry shared by Conv and the pools (ONNX semantics). */
export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin0, begin1, …, end0, end1, …] as ONNX orders them. */
  pads: number[];
}

export function windowOf(node: Node, spatialIn: number[], kernel: number[]): Window {
  const n = kernel.length;
  const strides = getInts(node.attrs, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = getInts(node.attrs, 'dilations') ?? new Array<number>(n).fill(1);
  let pads = getInts(node.attrs, 'pads') ?? new Array<number>(2 * n).fill(0);
  const autoPad = getString(node.attrs, 'auto_pad', 'NOTSET');
  if (strides.length !== n || dilations.length !== n || pads.length !== 2 * n) {
    fail(`strides/dilations/pads do not match a ${n}-d kernel`);
  }
  // ONNX requires these; a stride of 0 would divide by zero and a negative pad crop silently.
  requireAtLeast(kernel, 1, 'kernel size');
  requireAtLeast(strides, 1, 'strides');
  requireAtLeast(dilations, 1, 'dilations');
  requireAtLeast(pads, 0, 'pads');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(spatialIn[i]! / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + dilations[i]! * (kernel[i]! - 1) + 1 - spatialIn[i]!);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i]!;
    }
  } else if (autoPad === 'VALID') {
    pads = new Array<number>(2 * n).fill(0);
  } else if (autoPad !== 'NOTSET') {
    fail(`auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  }
  return { kernel, strides, dilations, pads };
}

function requireAtLeast(values: number[], min: number, what: string): void {
  const bad = values.find((v) => !Number.isSafeInteger(v) || v < min);
  if (bad !== undefined) fail(`${what} [${values.join(', ')}] must be integers of at least ${min}, got ${bad}`);
}

export function windowOutput(spatialIn: number[], w: Window, ceilMode = false): number[] {
  const n = w.kernel.length;
  return spatialIn.map((size, i) => {
    const span = w.dilations[i]! * (w.kernel[i]! - 1) + 1;
    const room = size + w.pads[i]! + w.pads[i + n]! - span;
    if (room < 0) fail(`the ${w.kernel.join('x')} window does not fit spatial size ${size} with pads ${w.pads.join(',')}`);
    let out = (ceilMode ? Math.ceil(room / w.strides[i]!) : Math.floor(room / w.strides[i]!)) + 1;
    // ONNX/PyTorch: with ceil_mode the last window must start inside the (left-padded) input.
    if (ceilMode && (out - 1) * w.strides[i]! >= size + w.pads[i]!) out--;
    return out;
  });
}

function spatial(x: TensorType, what: string): number[] {
  return x.shape.slice(2).map((d, i) => numericDim(d, `${what} spatial dimension ${i}`));
}

function inferConv(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const w = requireInput(ctx, 1);
  if (x.shape.length < 3) fail(`input must be N×C×spatial, got [${x.shape.join(', ')}]`);
  requireRank(w, x.shape.length, 'weight');
  const group = getInt(ctx.node.attrs, 'group', 1);
  const cin = numericDim(x.shape[1]!, 'input channels');
  const cout = numericDim(w.shape[0]!, 'output channels');
  const cinPerGroup = numericDim(w.shape[1]!, 'weight input channels');
  if (group < 1 || cin % group !== 0 || cout % group !== 0) {
    fail(`group ${group} must divide input channels ${cin} and output channels ${cout}`);
  }
  if (cin / group !== cinPerGroup) {
    fail(`weight expects ${cinPerGroup} input channels per group, input has ${cin} in ${group} group(s)`);
  }
  const kernel = w.shape.slice(2).map((d) => numericDim(d, 'kernel size'));
  const given = getInts(ctx.node.attrs, 'kernel_shape');
  if (given && given.join() !== kernel.join()) fail(`kernel_shape [${given}] disagrees with weight [${kernel}]`);
  const b = ctx.inputs[2];
  if (b && (b.shape.length !== 1 || b.shape[0] !== cout)) fail(`bias must have shape [${cout}]`);
  const spatialIn = spatial(x, 'input');
  const out = windowOutput(spatialIn, windowOf(ctx.node, spatialIn, kernel));
  return [{ dtype: x.dtype, shape: [x.shape[0]!, cout, ...out] }];
}

function inferPool(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  if (x.shape.length < 3) fail(`input must be N×C×spatial, got [${x.shape.join(', ')}]`);
  const kernel = getInts(ctx.node.attrs, 'kernel_shape');
  if (!kernel) fail('kernel_shape is required');
  const spatialIn = spatial(x, 'input');
  const ceilMode = getInt(ctx.node.attrs, 'ceil_mode', 0) === 1;
  const out = windowOutput(spatialIn, windowOf(ctx.node, spatialIn, kernel), ceilMode);
  const y: TensorType = { dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...out] };
  return ctx.node.outputs.length > 1 ? [y, { dtype: 'int64', shape: y.shape }] : [y];
}

function inferGlobalPool(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  if (x.shape.length < 3) fail(`input must be N×C×spatial, got [${x.shape.join(', ')}]`);
  return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] }];
}

function inferBatchNorm(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const c = x.shape[1];
  for (let i = 1; i <= 4; i++) {
    const p = requireInput(ctx, i);
    if (p.shape.length !== 1 || (typeof c === 'number' && p.shape[0] !== c)) {
      fail(`parameter input ${i} must have shape [${c}], got [${p.shape.join(', ')}]`);
    }
  }
  if (getInt(ctx.node.attrs, 'training_mode', 0) !== 0) fail('training_mode=1 is not supported (inference only)');
  return [x];
}

function inferGemm(ctx: InferContext): TensorType[] {
  const a = requireInput(ctx, 0);
  const b = requireInput(ctx, 1);
  requireRank(a, 2, 'A');
  requireRank(b, 2, 'B');
  const transA = getInt(ctx.node.attrs, 'transA', 0) === 1;
  const transB = getInt(ctx.node.attrs, 'transB', 0) === 1;
  const [m, ka] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [kb, n] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) fail(`inner dimensions differ: ${ka} and ${kb}`);
  const c = ctx.inputs[2];
  if (c) broadcastShapes([[m, n], c.shape]);
  return [{ dtype: a.dtype, shape: [m, n] }];
}

function inferMatMul(ctx: InferContext): TensorType[] {
  const a = requireInput(ctx, 0);
  const b = requireInput(ctx, 1);
  if (a.shape.length === 0 || b.shape.length === 0) fail('MatMul inputs must have rank ≥ 1');
  const as: Dim[] = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const bs: Dim[] = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  const ka = as[as.length - 1]!;
  const kb = bs[bs.length - 2]!;
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) fail(`inner dimensions differ: ${ka} and ${kb}`);
  const batch = broadcastShapes([as.slice(0, -2), bs.slice(0, -2)]);
  const shape: Dim[] = [...batch];
  if (a.shape.length > 1) shape.push(as[as.length - 2]!);
  if (b.shape.length > 1) shape.push(bs[bs.length - 1]!);
  return [{ dtype: a.dtype, shape }];
}

function inferReduce(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const rank = x.shape.length;
  const axes = (getInts(ctx.node.attrs, 'axes') ?? x.shape.map((_, i) => i)).map((a) => normAxis(a, rank));
  return [reduced(x, axes, getInt(ctx.node.attrs, 'keepdims', 1) === 1)];
}

/** A reduction's output: the axes dropped, or kept as 1 with keepdims. */
function reduced(x: TensorType, axes: number[], keep: boolean): TensorType {
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return { dtype: x.dtype, shape };
}

/** ReduceSum (opset 13+): the axes are a constant input, not an attribute. */
function inferReduceSum(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const rank = x.shape.length;
  const given = ctx.inputs[1] ? ctx.constant(1)?.integers() : undefined;
  if (ctx.inputs[1] && !given) fail('axes (input 1) must be a constant for static shape inference');
  const axes = (given && given.length ? given : x.shape.map((_, i) => i)).map((a) => normAxis(a, rank));
  return [reduced(x, axes, getInt(ctx.node.attrs, 'keepdims', 1) === 1)];
}

const windowAttrs = {
  auto_pad: 'string',
  kernel_shape: 'ints',
  pads: 'ints',
  strides: 'ints',
} as const;

defineOps(
  { op: 'Conv', inputs: [2, 3], outputs: [1, 1], attrs: { ...windowAttrs, dilations: 'ints', group: 'int' }, infer: inferConv },
  {
    op: 'MaxPool',
    inputs: [1, 1],
    outputs: [1, 2],
    attrs: { ...windowAttrs, dilations: 'ints', ceil_mode: 'int', storage_order: 'int' },
    infer: inferPool,
  },
  {
    op: 'AveragePool',
    inputs: [1, 1],
    outputs: [1, 1],
    attrs: { ...windowAttrs, ceil_mode: 'int', count_include_pad: 'int' },
    infer: inferPool,
  },
  { op: 'GlobalAveragePool', inputs: [1, 1], outputs: [1, 1], attrs: {}, infer: inferGlobalPool },
  { op: 'GlobalMaxPool', inputs: [1, 1], outputs: [1, 1], attrs: {}, infer: inferGlobalPool },
  {
    op: 'BatchNormalization',
    inputs: [5, 5],
    outputs: [1, 1],
    attrs: { epsilon: 'float', momentum: 'float', training_mode: 'int' },
    infer: inferBatchNorm,
  },
  { op: 'Gemm', inputs: [2, 3], outputs: [1, 1], attrs: { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' }, infer: inferGemm },
  { op: 'MatMul', inputs: [2, 2], outputs: [1, 1], attrs: {}, infer: inferMatMul },
  { op: 'ReduceMean', inputs: [1, 1], outputs: [1, 1], attrs: { axes: 'ints', keepdims: 'int' }, infer: inferReduce },
  { op: 'ReduceSum', inputs: [1, 2], outputs: [1, 1], attrs: { keepdims: 'int' }, infer: inferReduceSum },
);
