/**
 * A `.tflite` model as plain data: what the writer serialises and the reader parses back. Only
 * the first subgraph is modelled (formbench writes one; it refuses files whose operators call
 * others).
 */

/** One scalar or vector field of a builtin-options table, by its vtable slot. */
export type OptionField =
  | { slot: number; kind: 'int8' | 'int32' | 'bool'; value: number }
  | { slot: number; kind: 'float32'; value: number }
  | { slot: number; kind: 'int32s'; value: number[] };

export interface TfliteOptions {
  /** The BuiltinOptions union member (schema.ts OptionsType). */
  type: number;
  fields: OptionField[];
}

export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  /** Axis the scales run along when there is more than one. */
  axis: number;
}

export interface TfliteTensor {
  name: string;
  shape: number[];
  /** schema.ts TensorTypeCode. */
  type: number;
  /** Index into the model's buffers; 0 (the empty sentinel) for activations. */
  buffer: number;
  quantization?: TfliteQuantization;
}

export interface TfliteOperator {
  /** BuiltinOperator code (schema.ts Op). */
  builtin: number;
  /** A custom operator's name, where it is one. */
  custom?: string;
  /** Tensor indices; -1 marks an omitted optional input. */
  inputs: number[];
  outputs: number[];
  options?: TfliteOptions;
  /** Read back only: the raw options table, read field by field by the importer. */
  readOptions?: OptionReader;
}

/** Reads a builtin-options table's fields by slot (the reader's side of `TfliteOptions`). */
export interface OptionReader {
  type: number;
  /** An int8 field (enums such as padding and the fused activation, and bools). */
  i8(slot: number, fallback: number): number;
  i32(slot: number, fallback: number): number;
  f32(slot: number, fallback: number): number;
  ints(slot: number): number[] | undefined;
}

export interface TfliteModel {
  version: number;
  description: string;
  tensors: TfliteTensor[];
  /** Raw bytes per buffer; buffers[0] is the empty sentinel. */
  buffers: Uint8Array[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
  /** How many subgraphs the file has (formbench reads the first). */
  subgraphCount: number;
}
