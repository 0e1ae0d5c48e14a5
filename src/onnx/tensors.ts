import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';
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
export function tensorFromMsg(t: TensorMsg, modelDir: string | undefined): ConstTensor {
  const where = `tensor '${t.name ?? ''}'`;
  const dtype = dtypeOfCode(t.data_type, where);
  const dims = (t.dims ?? []).map((d) => toNumber(d));
  if (t.data_location === 1) return new ConstTensor(dtype, dims, readExternal(t, modelDir, where));
  if (t.raw_data && t.raw_data.byteLength > 0) return new ConstTensor(dtype, dims, t.raw_data);
  const count = dims.reduce((a, b) => a * b, 1);
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

function readExternal(t: TensorMsg, modelDir: string | undefined, where: string): Uint8Array {
  const entry = (key: string) => t.external_data?.find((e) => e.key === key)?.value;
  const location = entry('location');
  if (!location || !modelDir) {
    throw new UserError(`${where} keeps its data in an external file`, 'load the model from its file path so the data file beside it can be found');
  }
  const path = resolve(modelDir, location);
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch {
    throw new UserError(`${where}: external data file ${path} cannot be read`, 'keep the .data file next to the .onnx file');
  }
  const offset = Number(entry('offset') ?? 0);
  const length = entry('length');
  return data.subarray(offset, length === undefined ? undefined : offset + Number(length));
}

export function modelDirOf(path: string): string {
  return dirname(resolve(path));
}
