import { ByteBuffer } from 'flatbuffers';
import { UserError } from '../errors.js';
import type { OptionReader, TfliteModel, TfliteOperator, TfliteQuantization, TfliteTensor } from './model.js';
import { F, FILE_IDENTIFIER } from './schema.js';

/**
 * Parses a `.tflite` flatbuffer into a `TfliteModel` with the flatbuffers runtime's ByteBuffer,
 * field by field as schema.fbs declares them. Every offset and length is checked against the
 * file before it is followed, so that a damaged file is one error rather than a read of garbage
 * (a flatbuffer has no checksum; a bad offset would otherwise read other bytes as a length).
 */
export function readTflite(bytes: Uint8Array, source: string): TfliteModel {
  try {
    return new Reader(bytes).model();
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${source} is not a readable .tflite file: ${(e as Error).message}`, 'give a .tflite model as LiteRT\'s converter (or formbench export -o x.tflite) writes it');
  }
}

class Malformed extends Error {}

class Reader {
  private readonly bb: ByteBuffer;
  private readonly size: number;

  constructor(private readonly bytes: Uint8Array) {
    this.bb = new ByteBuffer(bytes);
    this.size = bytes.byteLength;
  }

  model(): TfliteModel {
    if (this.size < 8) throw new Malformed(`it has ${this.size} bytes, too few for a flatbuffer`);
    const ident = String.fromCharCode(...this.bytes.subarray(4, 8));
    if (ident !== FILE_IDENTIFIER) throw new Malformed(`its file identifier is '${printable(ident)}', not '${FILE_IDENTIFIER}'`);
    const root = this.table(this.u32(0), 'the model');
    const M = F.Model;
    const version = this.scalarU32(root, M.version, 0);
    const buffers = this.tables(root, M.buffers, 'buffers').map((b) => this.bytesVector(b, F.Buffer.data));
    const codes = this.tables(root, M.operator_codes, 'operator codes').map((c) => {
      const C = F.OperatorCode;
      const old = this.scalarI8(c, C.deprecated_builtin_code, 0);
      const extended = this.scalarI32(c, C.builtin_code, 0);
      return { builtin: Math.max(old, extended), custom: this.string(c, C.custom_code) };
    });
    const subgraphs = this.tables(root, M.subgraphs, 'subgraphs');
    if (subgraphs.length === 0) throw new Malformed('it has no subgraph');
    const g = subgraphs[0]!;
    const S = F.SubGraph;
    const tensors = this.tables(g, S.tensors, 'tensors').map((t) => this.tensor(t, buffers.length));
    const checkTensor = (i: number, what: string) => {
      if (i !== -1 && (i < 0 || i >= tensors.length)) throw new Malformed(`${what} names tensor ${i} of ${tensors.length}`);
      return i;
    };
    const operators = this.tables(g, S.operators, 'operators').map((o, k): TfliteOperator => {
      const O = F.Operator;
      const index = this.scalarU32(o, O.opcode_index, 0);
      const code = codes[index];
      if (!code) throw new Malformed(`operator ${k} names operator code ${index} of ${codes.length}`);
      const op: TfliteOperator = {
        builtin: code.builtin,
        inputs: this.ints(o, O.inputs).map((i) => checkTensor(i, `operator ${k}`)),
        outputs: this.ints(o, O.outputs).map((i) => checkTensor(i, `operator ${k}`)),
      };
      if (code.custom) op.custom = code.custom;
      const optionsType = this.scalarU8(o, O.builtin_options_type, 0);
      const at = this.field(o, O.builtin_options);
      if (optionsType !== 0 && at) op.readOptions = this.options(optionsType, this.table(this.indirect(at), `operator ${k}'s options`));
      return op;
    });
    return {
      version,
      description: this.string(root, M.description) ?? '',
      tensors,
      buffers,
      operators,
      inputs: this.ints(g, S.inputs).map((i) => checkTensor(i, 'the subgraph inputs')),
      outputs: this.ints(g, S.outputs).map((i) => checkTensor(i, 'the subgraph outputs')),
      subgraphCount: subgraphs.length,
    };
  }

  private tensor(t: number, bufferCount: number): TfliteTensor {
    const T = F.Tensor;
    const buffer = this.scalarU32(t, T.buffer, 0);
    if (buffer >= bufferCount) throw new Malformed(`a tensor names buffer ${buffer} of ${bufferCount}`);
    const out: TfliteTensor = {
      name: this.string(t, T.name) ?? '',
      shape: this.ints(t, T.shape),
      type: this.scalarI8(t, T.type, 0),
      buffer,
    };
    const q = this.field(t, T.quantization);
    if (q) {
      const qt = this.table(this.indirect(q), 'quantization');
      const scale = this.floats(qt, F.Quantization.scale);
      if (scale.length > 0) {
        const quant: TfliteQuantization = {
          scale,
          zeroPoint: this.longs(qt, F.Quantization.zero_point),
          axis: this.scalarI32(qt, F.Quantization.quantized_dimension, 0),
        };
        out.quantization = quant;
      }
    }
    return out;
  }

  private options(type: number, table: number): OptionReader {
    return {
      type,
      i8: (slot, fallback) => {
        const at = this.field(table, slot);
        return at ? this.i8(at) : fallback;
      },
      i32: (slot, fallback) => {
        const at = this.field(table, slot);
        return at ? this.i32(at) : fallback;
      },
      f32: (slot, fallback) => {
        const at = this.field(table, slot);
        return at ? this.f32(at) : fallback;
      },
      ints: (slot) => (this.field(table, slot) ? this.ints(table, slot) : undefined),
    };
  }

  // ---- primitives, each bounds-checked ---------------------------------------------------------

  private check(at: number, n: number, what: string): void {
    if (!Number.isSafeInteger(at) || at < 0 || at + n > this.size) throw new Malformed(`${what} at byte ${at} runs past the end of the ${this.size}-byte file`);
  }

  private u32(at: number): number {
    this.check(at, 4, 'an offset');
    return this.bb.readUint32(at);
  }
  private i32(at: number): number {
    this.check(at, 4, 'a value');
    return this.bb.readInt32(at);
  }
  private u16(at: number): number {
    this.check(at, 2, 'a vtable entry');
    return this.bb.readUint16(at);
  }
  private i8(at: number): number {
    this.check(at, 1, 'a value');
    return this.bb.readInt8(at);
  }
  private f32(at: number): number {
    this.check(at, 4, 'a value');
    return this.bb.readFloat32(at);
  }

  /** A table at position `at`, its vtable checked to lie inside the file. */
  private table(at: number, what: string): number {
    this.check(at, 4, what);
    const vtable = at - this.bb.readInt32(at);
    this.check(vtable, 4, `${what}'s vtable`);
    return at;
  }

  /** Where a field's value lies, or 0 when absent. */
  private field(table: number, slot: number): number {
    const vtable = table - this.i32(table);
    const vsize = this.u16(vtable);
    const entry = 4 + 2 * slot;
    if (entry >= vsize) return 0;
    const o = this.u16(vtable + entry);
    if (o === 0) return 0;
    const at = table + o;
    this.check(at, 1, 'a field');
    return at;
  }

  private indirect(at: number): number {
    return at + this.u32(at);
  }

  private scalarU32(t: number, slot: number, fallback: number): number {
    const at = this.field(t, slot);
    return at ? this.u32(at) : fallback;
  }
  private scalarI32(t: number, slot: number, fallback: number): number {
    const at = this.field(t, slot);
    return at ? this.i32(at) : fallback;
  }
  private scalarI8(t: number, slot: number, fallback: number): number {
    const at = this.field(t, slot);
    return at ? this.i8(at) : fallback;
  }
  private scalarU8(t: number, slot: number, fallback: number): number {
    const at = this.field(t, slot);
    return at ? this.i8(at) & 0xff : fallback;
  }

  /** A vector's start and length, checked to fit `elementBytes` each. */
  private vector(t: number, slot: number, elementBytes: number): { start: number; length: number } | undefined {
    const at = this.field(t, slot);
    if (!at) return undefined;
    const v = this.indirect(at);
    const length = this.u32(v);
    this.check(v + 4, length * elementBytes, `a vector of ${length} elements`);
    return { start: v + 4, length };
  }

  private ints(t: number, slot: number): number[] {
    const v = this.vector(t, slot, 4);
    if (!v) return [];
    return Array.from({ length: v.length }, (_, i) => this.bb.readInt32(v.start + 4 * i));
  }
  private floats(t: number, slot: number): number[] {
    const v = this.vector(t, slot, 4);
    if (!v) return [];
    return Array.from({ length: v.length }, (_, i) => this.bb.readFloat32(v.start + 4 * i));
  }
  private longs(t: number, slot: number): number[] {
    const v = this.vector(t, slot, 8);
    if (!v) return [];
    return Array.from({ length: v.length }, (_, i) => Number(this.bb.readInt64(v.start + 8 * i)));
  }
  private bytesVector(t: number, slot: number): Uint8Array {
    const v = this.vector(t, slot, 1);
    return v ? this.bytes.subarray(v.start, v.start + v.length) : new Uint8Array(0);
  }
  private tables(t: number, slot: number, what: string): number[] {
    const v = this.vector(t, slot, 4);
    if (!v) return [];
    return Array.from({ length: v.length }, (_, i) => this.table(this.indirect(v.start + 4 * i), what));
  }
  private string(t: number, slot: number): string | undefined {
    const v = this.vector(t, slot, 1);
    if (!v) return undefined;
    return new TextDecoder().decode(this.bytes.subarray(v.start, v.start + v.length));
  }
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}
