import { dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { MAX_MODEL_FILE_BYTES, pathInsideFolder, readInputFile } from '../input/files.js';
import { ConstTensor, type DType } from '../ir/index.js';
import { toNumber, type TensorMsg } from './schema.js';

const DTYPE_OF_CODE: Record<number, DType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

export function dtypeOfCode(code: number | undefined, where: string): DType {
  const dtype = DTYPE_OF_CODE[code ?? 0];
  if (!dtype) throw new UserError(`${where}: element type ${code} is not supported`, 'formbench reads float32/16/64, int8/32/64, uint8 and bool tensors');
  return dtype;
}

/**
 * A TensorProto as a ConstTensor. raw_data stays a view into the file's buffer (no copy); the
 * typed repeated fields (float_data, int64_data, …) that small exporters use are converted.
 */
export function tensorFromMsg(t: TensorMsg, external: ExternalData | undefined): ConstTensor {
  const where = `tensor '${t.name ?? ''}'`;
  const dtype = dtypeOfCode(t.data_type, where);
  const dims = (t.dims ?? []).map((d) => toNumber(d));
  const count = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new UserError(`${where} has invalid dimensions [${dims.join(', ')}]`, 'the file is corrupt');
  if (t.data_location === 1) {
    const data = readExternal(t, external, where);
    const tensor = new ConstTensor(dtype, dims, data);
    if (data.byteLength !== tensor.byteLength) {
      throw new UserError(`${where}: its external data holds ${data.byteLength} bytes for ${count} ${dtype} values`, 'the external data file is truncated or does not belong to this model');
    }
    return tensor;
  }
  if (t.raw_data && t.raw_data.byteLength > 0) {
    const tensor = new ConstTensor(dtype, dims, t.raw_data);
    if (t.raw_data.byteLength !== tensor.byteLength) {
      throw new UserError(`${where} holds ${t.raw_data.byteLength} bytes of data for ${count} ${dtype} values`, 'the file is corrupt or truncated');
    }
    return tensor;
  }
  let bytes: Uint8Array;
  switch (dtype) {
    case 'float32':
      bytes = asBytes(Float32Array.from(t.float_data ?? []));
      break;
    case 'float64':
      bytes = asBytes(Float64Array.from(t.double_data ?? []));
      break;
    case 'int64':
      bytes = asBytes(BigInt64Array.from(t.int64_data ?? [], (v) => BigInt(toNumber(v))));
      break;
    case 'int32':
      bytes = asBytes(Int32Array.from(t.int32_data ?? []));
      break;
    case 'float16':
      bytes = asBytes(Uint16Array.from(t.int32_data ?? []));
      break;
    default:
      bytes = Uint8Array.from(t.int32_data ?? []);
  }
  const tensor = new ConstTensor(dtype, dims, bytes);
  if (bytes.byteLength !== tensor.byteLength) {
    throw new UserError(`${where} holds ${bytes.byteLength} bytes of data for ${count} ${dtype} values`, 'the file is corrupt or truncated');
  }
  return tensor;
}

function asBytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Reads external tensor data relative to the model's folder; each data file is read once. */
export class ExternalData {
  private readonly files = new Map<string, Buffer>();
  constructor(readonly modelDir: string | undefined) {}

  file(location: string, where: string): Buffer {
    if (!this.modelDir) {
      throw new UserError(`${where} keeps its data in the external file '${location}'`, 'load the model from its file path so the data file beside it can be found');
    }
    const path = pathInsideFolder(this.modelDir, location, `${where}: its external data location`, 'external data must lie beside the .onnx file');
    let data = this.files.get(path);
    if (!data) {
      data = readInputFile(path, { what: `external data file of ${where}`, maxBytes: MAX_MODEL_FILE_BYTES, hint: 'keep the data file next to the .onnx file' });
      this.files.set(path, data);
    }
    return data;
  }
}

function readExternal(t: TensorMsg, external: ExternalData | undefined, where: string): Uint8Array {
  const entry = (key: string) => t.external_data?.find((e) => e.key === key)?.value;
  const location = entry('location');
  if (!location) throw new UserError(`${where} is stored externally but names no location`, 'the file is corrupt');
  const data = (external ?? new ExternalData(undefined)).file(location, where);
  const offset = Number(entry('offset') ?? 0);
  const length = entry('length');
  const end = length === undefined ? data.byteLength : offset + Number(length);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(end) || offset < 0 || end > data.byteLength || end < offset) {
    throw new UserError(`${where}: its external data range ${offset}..${end} lies outside ${location} (${data.byteLength} bytes)`, 'the external data file is truncated or does not belong to this model');
  }
  return data.subarray(offset, end);
}

export function modelDirOf(path: string): string {
  return dirname(resolve(path));
}
