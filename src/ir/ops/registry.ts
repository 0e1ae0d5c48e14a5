import type { AttrValue, Node } from '../graph.js';
import type { ConstTensor, Dim, TensorType } from '../tensor.js';

/** What an operator's shape function sees. */
export interface InferContext {
  node: Node;
  /** Types of the inputs; undefined for an omitted optional input. */
  inputs: (TensorType | undefined)[];
  /** The constant value of input i, when it is an initializer (needed by Reshape, Slice, …). */
  constant(i: number): ConstTensor | undefined;
}

export interface OpDef {
  op: string;
  /** Allowed input count, inclusive; optional trailing inputs may be omitted or ''. */
  inputs: [min: number, max: number];
  outputs: [min: number, max: number];
  /** Every attribute the operator accepts, with its type. Unknown attributes are rejected. */
  attrs: Record<string, AttrValue['type']>;
  infer(ctx: InferContext): TensorType[];
}

const registry = new Map<string, OpDef>();

export function defineOps(...defs: OpDef[]): void {
  for (const def of defs) registry.set(def.op, def);
}

export function opDef(op: string): OpDef | undefined {
  return registry.get(op);
}

export function supportedOps(): string[] {
  return [...registry.keys()].sort();
}

/** Thrown by a shape function; the inferer adds the node's name. */
export class ShapeError extends Error {}

export function fail(message: string): never {
  throw new ShapeError(message);
}

export function requireInput(ctx: InferContext, i: number): TensorType {
  const t = ctx.inputs[i];
  if (!t) fail(`input ${i} is missing`);
  return t;
}

export function requireRank(t: TensorType, rank: number, what: string): void {
  if (t.shape.length !== rank) fail(`${what} must have rank ${rank}, got shape [${t.shape.join(', ')}]`);
}

export function requireConstant(ctx: InferContext, i: number, what: string): number[] {
  const c = ctx.constant(i);
  if (!c) fail(`${what} (input ${i}) must be a constant for static shape inference`);
  return c.integers();
}

export function numericDim(d: Dim, what: string): number {
  if (typeof d !== 'number') fail(`${what} is the symbolic dimension '${d}'; bind it (e.g. --batch) first`);
  return d;
}

/** Normalises a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Numpy-style broadcasting of shapes; symbols broadcast against 1 and equal symbols. */
export function broadcastShapes(shapes: Dim[][]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim === 1) dim = d;
      else if (dim !== d) {
        if (typeof dim === 'string' && typeof d === 'number') dim = d;
        else if (typeof dim === 'number' && typeof d === 'string') continue;
        else fail(`shapes ${shapes.map((x) => `[${x.join(', ')}]`).join(' and ')} do not broadcast`);
      }
    }
    out.push(dim);
  }
  return out;
}
