import { ConstTensor, getInt, normAxis, type Dim, type Node, type TensorType } from '../ir/index.js';

/**
 * Shape vectors that contain a symbolic dimension (the batch), as PyTorch exports
 * `x.view(x.size(0), -1)` for a dynamic batch: Shape → Gather → Unsqueeze → Concat → Reshape.
 * The importer follows such vectors through those operators; at the Reshape, a symbol standing at
 * the same position as in the data's shape becomes 0 ("copy this dimension"), which is exact.
 */
export interface SymbolicVector {
  dims: number[];
  values: Dim[];
}

export type SymbolicResult =
  | { kind: 'vector'; value: SymbolicVector }
  | { kind: 'reshape'; shape: ConstTensor }
  | { kind: 'unsupported'; reason: string };

export function hasSymbol(shape: Dim[]): boolean {
  return shape.some((d) => typeof d === 'string');
}

/** Shape of a value with a symbolic dimension. */
export function symbolicShape(node: Node, t: TensorType): SymbolicVector {
  const rank = t.shape.length;
  const start = getInt(node.attrs, 'start', 0);
  const end = node.attrs['end'] ? getInt(node.attrs, 'end', rank) : rank;
  const values = t.shape.slice(start < 0 ? start + rank : start, end < 0 ? end + rank : end);
  return { dims: [values.length], values };
}

/**
 * One step through an operator whose inputs include a symbolic vector. `vectors[i]` is the
 * symbolic value of input i, `constants[i]` its constant value; `dataShape` is Reshape's data shape.
 */
export function symbolicStep(
  node: Node,
  vectors: (SymbolicVector | undefined)[],
  constants: (ConstTensor | undefined)[],
  dataShape: Dim[] | undefined,
): SymbolicResult {
  const valueOf = (i: number): SymbolicVector | undefined => {
    if (vectors[i]) return vectors[i];
    const c = constants[i];
    return c ? { dims: [...c.dims], values: c.integers() } : undefined;
  };
  switch (node.op) {
    case 'Gather': {
      const data = valueOf(0);
      const idx = constants[1];
      if (!data || !idx || data.dims.length !== 1 || getInt(node.attrs, 'axis', 0) !== 0) break;
      const picked = idx.integers().map((k) => data.values[k < 0 ? k + data.values.length : k]!);
      return { kind: 'vector', value: { dims: [...idx.dims], values: picked } };
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const data = valueOf(0)!;
      if (data.values.length !== 1) break;
      return { kind: 'vector', value: { dims: node.op === 'Unsqueeze' ? [1] : [], values: data.values } };
    }
    case 'Cast':
    case 'Identity':
      return { kind: 'vector', value: valueOf(0)! };
    case 'Concat': {
      const parts = node.inputs.map((_, i) => valueOf(i));
      if (parts.some((p) => !p || p.dims.length !== 1) || normAxis(getInt(node.attrs, 'axis', 0), 1) !== 0) break;
      const values = parts.flatMap((p) => p!.values);
      return { kind: 'vector', value: { dims: [values.length], values } };
    }
    case 'Reshape': {
      const target = vectors[1];
      if (!target || !dataShape || vectors[0]) break;
      const resolved: number[] = [];
      for (let i = 0; i < target.values.length; i++) {
        const v = target.values[i]!;
        if (typeof v === 'number') resolved.push(v);
        else if (dataShape[i] === v) resolved.push(0);
        else return { kind: 'unsupported', reason: `its target shape puts the symbolic dimension '${v}' at position ${i}, where the data has ${dataShape[i]}` };
      }
      return { kind: 'reshape', shape: ConstTensor.fromInt64([resolved.length], resolved) };
    }
  }
  return { kind: 'unsupported', reason: 'it computes with a symbolic dimension' };
}
