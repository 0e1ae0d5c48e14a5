/** Element types the IR knows, named as in ONNX's TensorProto.DataType. */
export type DType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int32'
  | 'int64'
  | 'bool';

/** A dimension: a size, or a symbol (such as the batch `N`) bound later. */
export type Dim = number | string;
export type Shape = Dim[];

export interface TensorType {
  dtype: DType;
  shape: Shape;
}

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float16: 2,
  float64: 8,
  int8: 1,
  uint8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
};

export function isStatic(shape: Shape): shape is number[] {
  return shape.every((d) => typeof d === 'number');
}

/** Number of elements; throws if a dimension is still symbolic. */
export function elementCount(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') throw new Error(`shape [${shape.join(', ')}] has the unbound dimension '${d}'`);
    n *= d;
  }
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A constant tensor (weights, shape constants). Its bytes are little-endian and may be produced
 * lazily: the zoo generates seeded random weights only when an exporter or engine asks, so that
 * building and analysing a 50-block, width-512 network never allocates its half-gigabyte of
 * weights. Imported tensors hold a view into the file's buffer rather than a copy.
 */
export class ConstTensor {
  private data: Uint8Array | undefined;

  constructor(
    readonly dtype: DType,
    readonly dims: readonly number[],
    source: Uint8Array | (() => Uint8Array),
  ) {
    if (typeof source === 'function') this.generate = source;
    else this.data = source;
  }

  private generate: (() => Uint8Array) | undefined;

  get elementCount(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  get byteLength(): number {
    return this.elementCount * BYTES_PER_ELEMENT[this.dtype];
  }

  get isMaterialized(): boolean {
    return this.data !== undefined;
  }

  /** The raw bytes, generating them on first use. */
  bytes(): Uint8Array {
    if (this.data === undefined) {
      const made = this.generate!();
      if (made.byteLength !== this.byteLength) {
        throw new Error(`generator made ${made.byteLength} bytes for a ${this.dtype} tensor of ${this.byteLength}`);
      }
      this.data = made;
      this.generate = undefined;
    }
    return this.data;
  }

  /** The values as float32 (a view when aligned, a copy otherwise). */
  float32(): Float32Array {
    if (this.dtype !== 'float32') throw new Error(`tensor is ${this.dtype}, not float32`);
    return typedView(this.bytes(), Float32Array, this.elementCount);
  }

  /** Integer values as JS numbers (for shape constants: int64, int32, int8, uint8, bool). */
  integers(): number[] {
    const b = this.bytes();
    const n = this.elementCount;
    switch (this.dtype) {
      case 'int64':
        return Array.from(typedView(b, BigInt64Array, n), (v) => Number(v));
      case 'int32':
        return Array.from(typedView(b, Int32Array, n));
      case 'int8':
        return Array.from(new Int8Array(b.buffer, b.byteOffset, n));
      case 'uint8':
      case 'bool':
        return Array.from(b.subarray(0, n));
      case 'float32':
        return Array.from(this.float32());
      case 'float64':
        return Array.from(typedView(b, Float64Array, n));
      default:
        throw new Error(`cannot read ${this.dtype} values as integers`);
    }
  }

  static fromFloat32(dims: readonly number[], values: Float32Array): ConstTensor {
    return new ConstTensor('float32', dims, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  static fromInt64(dims: readonly number[], values: readonly number[]): ConstTensor {
    const arr = BigInt64Array.from(values, (v) => BigInt(v));
    return new ConstTensor('int64', dims, new Uint8Array(arr.buffer));
  }

  static lazyFloat32(dims: readonly number[], make: () => Float32Array): ConstTensor {
    return new ConstTensor('float32', dims, () => {
      const v = make();
      return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    });
  }
}

type TypedArrayCtor<T> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  new (length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

/** A typed view over bytes without copying when the offset is aligned; a copy otherwise. */
export function typedView<T>(bytes: Uint8Array, ctor: TypedArrayCtor<T>, length: number): T {
  if (bytes.byteOffset % ctor.BYTES_PER_ELEMENT === 0) return new ctor(bytes.buffer, bytes.byteOffset, length);
  const copy = new Uint8Array(length * ctor.BYTES_PER_ELEMENT);
  copy.set(bytes.subarray(0, copy.byteLength));
  return new ctor(copy.buffer, 0, length);
}
