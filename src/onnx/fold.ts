import { ConstTensor, elementCount, getInt, normAxis, type DType, type Node, type TensorType } from '../ir/index.js';
import { dtypeOfCode } from './tensors.js';

/**
 * Evaluation of shape-computing subgraphs on constant tensors (Shape→Gather→Unsqueeze→Concat→
 * Reshape and the like), so that imported models hold constants where exporters emitted shape
 * arithmetic. Only small tensors are folded; values are plain JS numbers.
 */
export interface SmallTensor {
  dtype: DType;
  dims: number[];
  values: number[];
}

export function smallFromConst(t: ConstTensor): SmallTensor {
  return { dtype: t.dtype, dims: [...t.dims], values: t.integers() };
}

export function constFromSmall(t: SmallTensor): ConstTensor {
  switch (t.dtype) {
    case 'int64':
      return ConstTensor.fromInt64(t.dims, t.values);
    case 'float32':
      return ConstTensor.fromFloat32(t.dims, Float32Array.from(t.values));
    case 'int32': {
      const a = Int32Array.from(t.values);
      return new ConstTensor('int32', t.dims, new Uint8Array(a.buffer));
    }
    case 'float64': {
      const a = Float64Array.from(t.values);
      return new ConstTensor('float64', t.dims, new Uint8Array(a.buffer));
    }
    case 'bool':
    case 'uint8':
      return new ConstTensor(t.dtype, t.dims, Uint8Array.from(t.values));
    case 'int8': {
      const a = Int8Array.from(t.values);
      return new ConstTensor('int8', t.dims, new Uint8Array(a.buffer));
    }
    default:
      throw new Error(`cannot fold ${t.dtype} constants`);
  }
}

/** Operators that only make sense on constants here; the importer must fold them or give up. */
export const FOLD_ONLY = new Set(['Shape', 'Size', 'ConstantOfShape', 'Range', 'Where', 'Expand']);

/** Largest tensor the folder will materialise as JS numbers. */
export const MAX_FOLD_ELEMENTS = 1 << 16;

function checkSize(dims: number[]): void {
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`[${dims.join(', ')}] is not a shape`);
  if (dims.reduce((a, b) => a * b, 1) > MAX_FOLD_ELEMENTS) throw new Error(`a [${dims.join(', ')}] result is too large to fold`);
}

type Evaluator = (node: Node, inputs: (SmallTensor | undefined)[], inputTypes: (TensorType | undefined)[], extra: FoldExtra) => SmallTensor;

export interface FoldExtra {
  /** Output type from the IR's own shape inference, for operators the IR knows. */
  inferredDims?: number[];
  /** Tensor-valued attribute (ConstantOfShape's value). */
  tensorAttr?: ConstTensor;
}

const isFloat = (d: DType) => d === 'float32' || d === 'float64' || d === 'float16';

/** Numpy-broadcast elementwise map over any number of tensors. */
function broadcastMap(inputs: SmallTensor[], dtype: DType, f: (...xs: number[]) => number): SmallTensor {
  const rank = Math.max(...inputs.map((t) => t.dims.length));
  const padded = inputs.map((t) => [...new Array<number>(rank - t.dims.length).fill(1), ...t.dims]);
  const dims = new Array<number>(rank).fill(1);
  for (const d of padded) {
    d.forEach((x, i) => {
      if (x === 1) return;
      if (dims[i] !== 1 && dims[i] !== x) throw new Error(`shapes ${inputs.map((t) => `[${t.dims.join(', ')}]`).join(' and ')} do not broadcast`);
      dims[i] = x;
    });
  }
  const n = dims.reduce((p, q) => p * q, 1);
  const values = new Array<number>(n);
  const coords = new Array<number>(rank).fill(0);
  const args = new Array<number>(inputs.length);
  for (let flat = 0; flat < n; flat++) {
    let rest = flat;
    for (let i = rank - 1; i >= 0; i--) {
      coords[i] = rest % dims[i]!;
      rest = Math.floor(rest / dims[i]!);
    }
    for (let k = 0; k < inputs.length; k++) {
      const d = padded[k]!;
      let offset = 0;
      for (let i = 0; i < rank; i++) offset = offset * d[i]! + (d[i] === 1 ? 0 : coords[i]!);
      args[k] = inputs[k]!.values[offset]!;
    }
    values[flat] = f(...args);
  }
  return { dtype, dims, values };
}

function broadcast(a: SmallTensor, b: SmallTensor, dtype: DType, f: (x: number, y: number) => number): SmallTensor {
  return broadcastMap([a, b], dtype, f);
}

function arithmetic(f: (x: number, y: number) => number, intF?: (x: number, y: number) => number): Evaluator {
  return (_n, [a, b]) => broadcast(a!, b!, a!.dtype, isFloat(a!.dtype) || !intF ? f : intF);
}

/** Gather along an axis, any rank: out = data[:axis] ++ indices ++ data[axis+1:]. */
function gather(node: Node, [data, indices]: (SmallTensor | undefined)[]): SmallTensor {
  const d = data!;
  const idx = indices!;
  const axis = normAxis(getInt(node.attrs, 'axis', 0), d.dims.length);
  const outer = d.dims.slice(0, axis).reduce((p, q) => p * q, 1);
  const size = d.dims[axis]!;
  const inner = d.dims.slice(axis + 1).reduce((p, q) => p * q, 1);
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of idx.values) {
      const k = raw < 0 ? raw + size : raw;
      if (k < 0 || k >= size) throw new Error(`index ${raw} is out of range for size ${size}`);
      for (let i = 0; i < inner; i++) values.push(d.values[(o * size + k) * inner + i]!);
    }
  }
  return { dtype: d.dtype, dims: [...d.dims.slice(0, axis), ...idx.dims, ...d.dims.slice(axis + 1)], values };
}

function concat(node: Node, inputs: (SmallTensor | undefined)[]): SmallTensor {
  const parts = inputs.filter((t): t is SmallTensor => t !== undefined);
  const rank = parts[0]!.dims.length;
  const axis = normAxis(getInt(node.attrs, 'axis', 0), rank);
  const outer = parts[0]!.dims.slice(0, axis).reduce((p, q) => p * q, 1);
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const block = p.dims.slice(axis).reduce((x, y) => x * y, 1);
      values.push(...p.values.slice(o * block, (o + 1) * block));
    }
  }
  const dims = [...parts[0]!.dims];
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0);
  return { dtype: parts[0]!.dtype, dims, values };
}

function slice1d(_node: Node, [data, starts, ends, axes, steps]: (SmallTensor | undefined)[]): SmallTensor {
  const d = data!;
  if (d.dims.length !== 1 || (axes && axes.values.some((a) => a !== 0 && a !== -1))) {
    throw new Error('only one-dimensional constant slices are folded');
  }
  const size = d.dims[0]!;
  const step = steps?.values[0] ?? 1;
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + size : v, lo), hi);
  const s = step > 0 ? clamp(starts!.values[0]!, 0, size) : clamp(starts!.values[0]!, -1, size - 1);
  const e = step > 0 ? clamp(ends!.values[0]!, 0, size) : clamp(ends!.values[0]!, -1, size - 1);
  const values: number[] = [];
  for (let i = s; step > 0 ? i < e : i > e; i += step) values.push(d.values[i]!);
  return { dtype: d.dtype, dims: [values.length], values };
}

/** Operators whose values pass through unchanged, only their dimensions change. */
const sameValues: Evaluator = (_n, [x], _t, extra) => {
  if (!extra.inferredDims) throw new Error('output shape unknown');
  return { dtype: x!.dtype, dims: extra.inferredDims, values: x!.values };
};

const EVALUATORS: Record<string, Evaluator> = {
  Shape(node, _inputs, [t]) {
    const shape = t!.shape;
    if (shape.some((d) => typeof d !== 'number')) {
      throw new Error(`its input's shape [${shape.join(', ')}] is symbolic; export the model with a static input shape`);
    }
    const start = getInt(node.attrs, 'start', 0);
    const end = node.attrs['end'] ? getInt(node.attrs, 'end', shape.length) : shape.length;
    const dims = (shape as number[]).slice(start < 0 ? start + shape.length : start, end < 0 ? end + shape.length : end);
    return { dtype: 'int64', dims: [dims.length], values: dims };
  },
  Size(_node, _inputs, [t]) {
    return { dtype: 'int64', dims: [], values: [elementCount(t!.shape)] };
  },
  Gather: gather,
  Concat: concat,
  Slice: slice1d,
  Unsqueeze: sameValues,
  Squeeze: sameValues,
  Reshape: sameValues,
  Flatten: sameValues,
  Identity: sameValues,
  Cast(node, [x]) {
    const dtype = dtypeOfCode(getInt(node.attrs, 'to', 1), `node '${node.name}'`);
    const values = isFloat(dtype) ? x!.values : x!.values.map((v) => Math.trunc(v));
    return { dtype, dims: x!.dims, values: dtype === 'bool' ? values.map((v) => (v ? 1 : 0)) : values };
  },
  ConstantOfShape(_node, [shape], _t, extra) {
    const fill = extra.tensorAttr ? smallFromConst(extra.tensorAttr) : { dtype: 'float32' as DType, dims: [1], values: [0] };
    const dims = shape!.values;
    checkSize(dims);
    return { dtype: fill.dtype, dims, values: new Array<number>(dims.reduce((a, b) => a * b, 1)).fill(fill.values[0]!) };
  },
  Range(_node, [start, limit, delta]) {
    const values: number[] = [];
    const s = start!.values[0]!;
    const d = delta!.values[0]!;
    const n = Math.max(Math.ceil((limit!.values[0]! - s) / d), 0);
    for (let i = 0; i < n; i++) values.push(s + i * d);
    return { dtype: start!.dtype, dims: [n], values };
  },
  Expand(_node, [x, shape]) {
    checkSize(shape!.values);
    const target: SmallTensor = { dtype: x!.dtype, dims: shape!.values, values: new Array<number>(shape!.values.reduce((a, b) => a * b, 1)).fill(0) };
    return broadcast(x!, target, x!.dtype, (v) => v);
  },
  Add: arithmetic((x, y) => x + y),
  Sub: arithmetic((x, y) => x - y),
  Mul: arithmetic((x, y) => x * y),
  Div: arithmetic((x, y) => x / y, (x, y) => Math.trunc(x / y)),
  Equal(_node, [a, b]) {
    return broadcast(a!, b!, 'bool', (x, y) => (x === y ? 1 : 0));
  },
  Where(_node, [c, a, b]) {
    return broadcastMap([c!, a!, b!], a!.dtype, (cond, x, y) => (cond ? x : y));
  },
};

/** Operators that move or convert values without arithmetic. */
const VALUE_PRESERVING = new Set(['Cast', 'Concat', 'Slice', 'Gather', 'Identity', 'Unsqueeze', 'Squeeze', 'Reshape', 'Flatten']);

export function canEvaluate(op: string): boolean {
  return op in EVALUATORS;
}

/** Should this node be folded? Fold-only operators always; others when all inputs are small integer constants. */
export function wantsFolding(node: Node, inputs: (ConstTensor | undefined)[]): boolean {
  if (FOLD_ONLY.has(node.op)) return true;
  if (!canEvaluate(node.op)) return false;
  const present = node.inputs.map((name, i) => (name ? inputs[i] : null)).filter((t) => t !== null);
  // Float arithmetic stays in the graph (JS doubles would round differently); moving values is exact.
  const exact = VALUE_PRESERVING.has(node.op);
  return (
    present.length > 0 &&
    present.every((t) => t !== undefined && t.dtype !== 'float16' && (exact || !isFloat(t.dtype)) && t.elementCount <= MAX_FOLD_ELEMENTS)
  );
}

export function evaluate(node: Node, inputs: (SmallTensor | undefined)[], types: (TensorType | undefined)[], extra: FoldExtra): SmallTensor {
  const f = EVALUATORS[node.op];
  if (!f) throw new Error(`cannot evaluate ${node.op}`);
  return f(node, inputs, types, extra);
}

