import { UserError } from '../errors.js';
import { ConstTensor, MAX_TENSOR_ELEMENTS } from '../ir/index.js';

/** One entry of model.json's `weightsManifest[].weights`, as the TF.js converter writes it. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  /** Post-training quantization: stored as uint8/uint16 (value = q·scale + min) or float16. */
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

export interface WeightsManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/**
 * Decodes the weights of a manifest from the concatenation of all its shards, in manifest order
 * (TF.js packs tensors back to back, without alignment). Quantized tensors are expanded to the
 * dtype they stand for, so the IR only ever sees float32 and int32.
 */
export function decodeWeights(manifest: WeightsManifestGroup[], data: Uint8Array, source: string): Map<string, ConstTensor> {
  const out = new Map<string, ConstTensor>();
  let offsetBytes = 0;
  for (const group of manifest) {
    for (const spec of group.weights) {
      const count = spec.shape.reduce((a, b) => a * b, 1);
      if (count > MAX_TENSOR_ELEMENTS) {
        throw new UserError(`${source}: weight '${spec.name}' has ${count} elements (shape [${spec.shape.join(', ')}]), more than the ${MAX_TENSOR_ELEMENTS} formbench holds in one tensor`, 'the manifest is corrupt, or the model is too large for formbench');
      }
      const storedAs = spec.quantization?.dtype ?? spec.dtype;
      const bytesPer = STORED_BYTES[storedAs];
      if (bytesPer === undefined) {
        throw new UserError(`${source}: weight '${spec.name}' is stored as ${storedAs}, which formbench does not decode`, 'formbench reads float32, int32 and bool weights, quantized as uint8, uint16 or float16 or not');
      }
      const byteLength = count * bytesPer;
      if (offsetBytes + byteLength > data.byteLength) {
        throw new UserError(`${source}: the weight files end before weight '${spec.name}' (${offsetBytes + byteLength} bytes needed, ${data.byteLength} present)`, 'check that every group1-shard file listed in model.json is present and complete');
      }
      const bytes = data.subarray(offsetBytes, offsetBytes + byteLength);
      offsetBytes += byteLength;
      out.set(spec.name, decodeOne(spec, bytes, count));
    }
  }
  return out;
}

function decodeOne(spec: WeightSpec, bytes: Uint8Array, count: number): ConstTensor {
  const q = spec.quantization;
  const isInt = spec.dtype === 'int32' || spec.dtype === 'bool';
  let values: Float32Array;
  if (!q) {
    // A copy, not a view: Buffer.slice shares memory, and Node pools small buffers.
    const copy = new Uint8Array(bytes);
    if (spec.dtype === 'float32') return new ConstTensor('float32', spec.shape, copy);
    if (spec.dtype === 'int32') return new ConstTensor('int32', spec.shape, copy);
    return new ConstTensor('bool', spec.shape, copy);
  }
  if (q.dtype === 'float16') {
    values = new Float32Array(count);
    const halves = new Uint16Array(new Uint8Array(bytes).buffer);
    for (let i = 0; i < count; i++) values[i] = halfToFloat(halves[i]!);
  } else {
    const scale = q.scale ?? 1;
    const min = q.min ?? 0;
    const ints = q.dtype === 'uint8' ? bytes : new Uint16Array(new Uint8Array(bytes).buffer);
    values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = ints[i]! * scale + min;
  }
  if (isInt) return new ConstTensor('int32', spec.shape, new Uint8Array(Int32Array.from(values, Math.round).buffer));
  return ConstTensor.fromFloat32(spec.shape, values);
}

/** IEEE 754 binary16 → number (subnormals and infinities included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
