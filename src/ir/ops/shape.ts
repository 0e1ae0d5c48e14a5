import { getInt, getInts, getString } from '../graph.js';
import type { Dim, TensorType } from '../tensor.js';
import {
  defineOps,
  fail,
  normAxis,
  numericDim,
  requireConstant,
  requireInput,
  type InferContext,
} from './registry.js';

/** Product of dims; symbols multiply into a 'N*k' style expression. */
function product(dims: Dim[]): Dim {
  let n = 1;
  const symbols: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else symbols.push(d);
  }
  if (symbols.length === 0) return n;
  return n === 1 ? symbols.join('*') : `${symbols.join('*')}*${n}`;
}

function inferFlatten(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const axis = getInt(ctx.node.attrs, 'axis', 1);
  const a = axis < 0 ? axis + x.shape.length : axis;
  if (a < 0 || a > x.shape.length) fail(`axis ${axis} is out of range for rank ${x.shape.length}`);
  return [{ dtype: x.dtype, shape: [product(x.shape.slice(0, a)), product(x.shape.slice(a))] }];
}

function inferReshape(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const target = requireConstant(ctx, 1, 'shape');
  const allowZero = getInt(ctx.node.attrs, 'allowzero', 0) === 1;
  const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (x.shape[i] ?? fail(`shape copies missing dim ${i}`)) : d));
  const unknown = out.indexOf(-1);
  if (out.filter((d) => d === -1).length > 1) fail('shape has more than one -1');
  // Symbols copied through (0 or an equal symbol) cancel; whatever is left must divide evenly.
  const inSymbols = x.shape.filter((d): d is string => typeof d === 'string');
  const outSymbols = out.filter((d): d is string => typeof d === 'string');
  const leftover = inSymbols.filter((s) => {
    const k = outSymbols.indexOf(s);
    if (k >= 0) outSymbols.splice(k, 1);
    return k < 0;
  });
  if (outSymbols.length > 0) fail(`shape uses the symbol '${outSymbols[0]}' that the input lacks`);
  const inN = x.shape.reduce<number>((a, d) => (typeof d === 'number' ? a * d : a), 1);
  const outN = out.reduce<number>((a, d) => (typeof d === 'number' && d !== -1 ? a * d : a), 1);
  if (unknown >= 0) {
    if (outN === 0 || inN % outN !== 0) fail(`cannot reshape [${x.shape.join(', ')}] to [${target.join(', ')}]`);
    const rest = inN / outN;
    out[unknown] = leftover.length === 0 ? rest : product([...leftover, rest]);
  } else if (leftover.length === 0 && inN !== outN) {
    fail(`cannot reshape [${x.shape.join(', ')}] (${inN} elements) to [${target.join(', ')}] (${outN})`);
  } else if (leftover.length > 0) {
    fail(`reshape to [${target.join(', ')}] drops the symbolic dimension '${leftover[0]}'`);
  }
  return [{ dtype: x.dtype, shape: out }];
}

function inferTranspose(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const rank = x.shape.length;
  const perm = getInts(ctx.node.attrs, 'perm') ?? x.shape.map((_, i) => rank - 1 - i);
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    fail(`perm [${perm}] is not a permutation of ${rank} axes`);
  }
  return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
}

function axesInput(ctx: InferContext, rank: number): number[] | undefined {
  if (!ctx.inputs[1]) return undefined;
  return requireConstant(ctx, 1, 'axes').map((a) => normAxis(a, rank));
}

function inferSqueeze(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const axes = axesInput(ctx, x.shape.length);
  for (const a of axes ?? []) if (x.shape[a] !== 1) fail(`cannot squeeze axis ${a} of size ${x.shape[a]}`);
  const shape = x.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
  return [{ dtype: x.dtype, shape }];
}

function inferUnsqueeze(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const rank = x.shape.length + requireConstant(ctx, 1, 'axes').length;
  const axes = axesInput(ctx, rank)!;
  const shape: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x.shape[k++]!);
  return [{ dtype: x.dtype, shape }];
}

function inferSlice(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const rank = x.shape.length;
  const starts = requireConstant(ctx, 1, 'starts');
  const ends = requireConstant(ctx, 2, 'ends');
  const axes = ctx.inputs[3] ? requireConstant(ctx, 3, 'axes').map((a) => normAxis(a, rank)) : starts.map((_, i) => i);
  const steps = ctx.inputs[4] ? requireConstant(ctx, 4, 'steps') : starts.map(() => 1);
  const shape = [...x.shape];
  axes.forEach((axis, i) => {
    const size = numericDim(x.shape[axis]!, `sliced axis ${axis}`);
    const step = steps[i]!;
    if (step === 0) fail('slice step 0');
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + size : v, lo), hi);
    const s = step > 0 ? clamp(starts[i]!, 0, size) : clamp(starts[i]!, -1, size - 1);
    const e = step > 0 ? clamp(ends[i]!, 0, size) : clamp(ends[i]!, -1, size - 1);
    shape[axis] = Math.max(0, Math.ceil((e - s) / step));
  });
  return [{ dtype: x.dtype, shape }];
}

function inferConcat(ctx: InferContext): TensorType[] {
  const parts = ctx.inputs.map((t, i) => t ?? fail(`input ${i} is missing`));
  const rank = parts[0]!.shape.length;
  const axis = normAxis(getInt(ctx.node.attrs, 'axis', Number.NaN), rank);
  const shape = [...parts[0]!.shape];
  const along: Dim[] = [];
  for (const p of parts) {
    if (p.shape.length !== rank) fail('inputs differ in rank');
    p.shape.forEach((d, i) => {
      if (i !== axis && d !== shape[i] && typeof d === 'number' && typeof shape[i] === 'number') {
        fail(`inputs differ in dimension ${i}: ${shape[i]} and ${d}`);
      }
    });
    along.push(p.shape[axis]!);
  }
  shape[axis] = along.every((d) => typeof d === 'number') ? (along as number[]).reduce((a, b) => a + b, 0) : along.join('+');
  return [{ dtype: parts[0]!.dtype, shape }];
}

function inferSplit(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const axis = normAxis(getInt(ctx.node.attrs, 'axis', 0), x.shape.length);
  const size = numericDim(x.shape[axis]!, `split axis ${axis}`);
  const n = ctx.node.outputs.length;
  const sizes = ctx.inputs[1] ? requireConstant(ctx, 1, 'split') : undefined;
  let parts: number[];
  if (sizes) {
    if (sizes.length !== n) fail(`split has ${sizes.length} sizes for ${n} outputs`);
    if (sizes.reduce((a, b) => a + b, 0) !== size) fail(`split sizes [${sizes}] do not sum to ${size}`);
    parts = sizes;
  } else {
    const each = Math.ceil(size / n);
    parts = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, size - i * each)));
  }
  return parts.map((p) => {
    const shape = [...x.shape];
    shape[axis] = p;
    return { dtype: x.dtype, shape };
  });
}

function inferPad(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const rank = x.shape.length;
  const pads = requireConstant(ctx, 1, 'pads');
  if (pads.length !== 2 * rank) fail(`pads has ${pads.length} values for rank ${rank}`);
  const mode = getString(ctx.node.attrs, 'mode', 'constant');
  if (!['constant', 'reflect', 'edge'].includes(mode)) fail(`pad mode '${mode}' is not supported`);
  const shape = x.shape.map((d, i) => {
    if (pads[i] === 0 && pads[i + rank] === 0) return d;
    return numericDim(d, `padded axis ${i}`) + pads[i]! + pads[i + rank]!;
  });
  return [{ dtype: x.dtype, shape }];
}

/**
 * Resize (opset 13+: X, roi, scales, sizes): the output from constant `sizes`, or from constant
 * `scales` as floor(size · scale), as ONNX defines it.
 */
function inferResize(ctx: InferContext): TensorType[] {
  const x = requireInput(ctx, 0);
  const sizes = ctx.inputs[3] ? ctx.constant(3)?.integers() : undefined;
  const scales = ctx.inputs[2] ? ctx.constant(2)?.integers() : undefined;
  if (sizes && sizes.length) {
    if (sizes.length !== x.shape.length) fail(`sizes has ${sizes.length} values for a rank-${x.shape.length} input`);
    return [{ dtype: x.dtype, shape: sizes }];
  }
  if (!scales || scales.length !== x.shape.length) fail('Resize needs constant scales or sizes, one per axis');
  const scaleValues = ctx.constant(2)!.float32();
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (scaleValues[i] === 1 ? d : Math.floor(numericDim(d, `resized axis ${i}`) * scaleValues[i]!))) }];
}

defineOps(
  {
    op: 'Resize',
    inputs: [1, 4],
    outputs: [1, 1],
    attrs: { mode: 'string', coordinate_transformation_mode: 'string', nearest_mode: 'string', cubic_coeff_a: 'float', exclude_outside: 'int', extrapolation_value: 'float' },
    infer: inferResize,
  },
  { op: 'Flatten', inputs: [1, 1], outputs: [1, 1], attrs: { axis: 'int' }, infer: inferFlatten },
  { op: 'Reshape', inputs: [2, 2], outputs: [1, 1], attrs: { allowzero: 'int' }, infer: inferReshape },
  { op: 'Transpose', inputs: [1, 1], outputs: [1, 1], attrs: { perm: 'ints' }, infer: inferTranspose },
  { op: 'Squeeze', inputs: [1, 2], outputs: [1, 1], attrs: {}, infer: inferSqueeze },
  { op: 'Unsqueeze', inputs: [2, 2], outputs: [1, 1], attrs: {}, infer: inferUnsqueeze },
  { op: 'Slice', inputs: [3, 5], outputs: [1, 1], attrs: {}, infer: inferSlice },
  { op: 'Concat', inputs: [1, Infinity], outputs: [1, 1], attrs: { axis: 'int' }, infer: inferConcat },
  { op: 'Split', inputs: [1, 2], outputs: [1, Infinity], attrs: { axis: 'int' }, infer: inferSplit },
  { op: 'Pad', inputs: [2, 3], outputs: [1, 1], attrs: { mode: 'string' }, infer: inferPad },
);
