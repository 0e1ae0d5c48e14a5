import { ConstTensor, type DType } from '../ir/index.js';
import { IrBuilder, TO_NCHW, TO_NHWC, transpose } from './builder.js';

/** A node of the TF GraphDef, as the TF.js converter writes it into model.json. */
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

export interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
}

/**
 * A TF value inside the IR: a run-time value, with 'nchw' when it is a 4-d NHWC tensor of the TF
 * graph held transposed (every 4-d activation is), or a constant (weights, shapes, axes), which
 * importers read directly and only materialise in the layout their IR node needs.
 */
export type TfValue = { kind: 'value'; name: string; nchw: boolean } | { kind: 'const'; tensor: ConstTensor };

export interface OpContext {
  b: IrBuilder;
  node: TfNode;
  /** The node's data inputs (control inputs '^x' dropped). */
  inputs: TfValue[];
  value(i: number): { name: string; nchw: boolean };
  constant(i: number): ConstTensor;
  fail(reason: string): never;
}

/** One TF op → IR nodes; an op with several outputs (Unpack, TopKV2) returns one value per output. */
export type OpImporter = (ctx: OpContext) => TfValue | TfValue[];

export const value = (name: string, nchw: boolean): TfValue => ({ kind: 'value', name, nchw });

export function rank(c: OpContext, v: string): number {
  return c.b.shape(v).length;
}

/** The value in TF's own (NHWC) order. */
export function plain(c: OpContext, x: { name: string; nchw: boolean }): string {
  return x.nchw ? transpose(c.b, x.name, TO_NHWC, `${c.node.name}.nhwc`) : x.name;
}

/** A value computed in TF's order, held as NCHW when it is 4-d (the invariant every importer keeps). */
export function result(c: OpContext, name: string): TfValue {
  return rank(c, name) === 4 ? value(transpose(c.b, name, TO_NCHW, `${name}.nchw`), true) : value(name, false);
}

/**
 * Integers of the TF graph (int32 shapes, indices, counters) are int64 in the IR, as ONNX's index
 * operators produce them; bool stays bool, every float is float32.
 */
export function irDtypeOf(tfType: string | undefined, fallback: DType = 'float32'): DType | undefined {
  switch (tfType) {
    case undefined:
      return fallback;
    case 'DT_FLOAT':
    case 'DT_HALF':
    case 'DT_DOUBLE':
      return 'float32';
    case 'DT_INT32':
    case 'DT_INT64':
    case 'DT_INT16':
    case 'DT_INT8':
    case 'DT_UINT8':
      return 'int64';
    case 'DT_BOOL':
      return 'bool';
    default:
      return undefined;
  }
}

/** A constant converted to the IR element type it is used as (floats to float32, integers to int64). */
export function asDtype(t: ConstTensor, dtype: DType): ConstTensor {
  if (t.dtype === dtype) return t;
  if (dtype === 'float32') return ConstTensor.fromFloat32(t.dims, Float32Array.from(t.integers()));
  if (dtype === 'int64') return ConstTensor.fromInt64(t.dims, t.integers().map(Math.trunc));
  if (dtype === 'bool') return new ConstTensor('bool', t.dims, Uint8Array.from(t.integers(), (v) => (v ? 1 : 0)));
  throw new Error(`cannot convert a ${t.dtype} constant to ${dtype}`);
}

/**
 * Input i in TF's order as an IR value: a computed value transposed back from NCHW if need be, a
 * constant materialised as `dtype` (by default its own type, integers as int64).
 */
export function plainOperand(c: OpContext, i: number, dtype?: DType): string {
  const v = c.inputs[i];
  if (!v) c.fail(`input ${i} is missing`);
  if (v!.kind === 'value') return plain(c, v!);
  const t = v!.tensor;
  const own: DType = t.dtype === 'float32' || t.dtype === 'bool' ? t.dtype : t.dtype === 'float16' || t.dtype === 'float64' ? 'float32' : 'int64';
  return c.b.constant(`${c.node.name}.in${i}`, asDtype(t, dtype ?? own));
}

export function stringAttr(node: TfNode, name: string, fallback: string): string {
  const s = node.attr?.[name]?.s;
  return s === undefined ? fallback : Buffer.from(s, 'base64').toString('utf8');
}

export function intAttr(node: TfNode, name: string, fallback: number): number {
  const i = node.attr?.[name]?.i;
  return i === undefined ? fallback : Number(i);
}

export function intsAttr(node: TfNode, name: string): number[] | undefined {
  return node.attr?.[name]?.list?.i?.map(Number);
}

export function floatAttr(node: TfNode, name: string, fallback: number): number {
  return node.attr?.[name]?.f ?? fallback;
}

export function boolAttr(node: TfNode, name: string): boolean {
  return node.attr?.[name]?.b === true;
}
