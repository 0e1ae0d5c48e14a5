/**
 * ONNX models as decoded protobuf messages, for rewrites the IR cannot express (QuantizeLinear,
 * DequantizeLinear, float16 compute). The IR stays the single source of FP32 models: every
 * lower-precision model starts as the IR's own export, pre-optimised by onnxruntime.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSession } from '../engines/ort-runtime.js';
import { UserError } from '../errors.js';
import { ModelProto, toNumber, type GraphMsg, type ModelMsg, type NodeMsg, type TensorMsg } from '../onnx/schema.js';

export type { GraphMsg, ModelMsg, NodeMsg, TensorMsg };

/** ONNX TensorProto.DataType codes used by the rewrites. */
export const DT = { float: 1, uint8: 2, int8: 3, int32: 6, int64: 7, float16: 10 } as const;

export function decodeModel(bytes: Uint8Array, source = 'the model'): ModelMsg {
  let model: ModelMsg;
  try {
    model = ModelProto.decode(bytes) as unknown as ModelMsg;
  } catch (e) {
    throw new UserError(`${source} is not a valid ONNX model (${(e as Error).message})`, 'check that the file is a complete .onnx file');
  }
  if (!model.graph?.node?.length) throw new UserError(`${source} is not a valid ONNX model (it has no graph nodes)`, 'check that the file is a complete .onnx file');
  return model;
}

export function encodeModel(model: ModelMsg): Uint8Array {
  return ModelProto.encode(model).finish();
}

/**
 * onnxruntime's own basic-level rewrite of an FP32 model (constant folding, BatchNorm folded into
 * the Conv before it, MatMul+Add into Gemm), the same pre-processing onnxruntime's Python
 * quantisation tool applies: a BatchNorm left between a Conv and its QuantizeLinear would stop
 * the runtime from fusing the pair into an integer kernel, and FP16 conversion should round the
 * weights the FP32 model actually multiplies by. Basic level keeps standard ONNX operators only.
 */
export async function preOptimize(onnx: Uint8Array): Promise<ModelMsg> {
  const dir = mkdtempSync(join(tmpdir(), 'formbench-preopt-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const session = await createSession(onnx, { graphOptimizationLevel: 'basic', optimizedModelFilePath: path });
    await session.release();
    return decodeModel(readFileSync(path), 'the pre-optimised model');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The float32 values of an initializer (raw_data or float_data). */
export function floatValues(t: TensorMsg): Float32Array {
  if (t.data_type !== DT.float) throw new Error(`tensor '${t.name}' is not float32 (type ${t.data_type})`);
  if (t.raw_data && t.raw_data.byteLength > 0) {
    // raw_data may be unaligned inside the file's buffer: copy it out.
    const copy = new Uint8Array(t.raw_data);
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return Float32Array.from(t.float_data ?? []);
}

export function dimsOf(t: TensorMsg): number[] {
  return (t.dims ?? []).map((d) => toNumber(d));
}

/** An initializer whose data is raw little-endian bytes. */
export function tensorMsg(name: string, dims: number[], dataType: number, data: ArrayBufferView): TensorMsg {
  return { name, dims, data_type: dataType, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Names not yet used by any value in the graph, derived from a base name. */
export class NameSource {
  private readonly used = new Set<string>();
  constructor(graph: GraphMsg) {
    for (const t of graph.initializer ?? []) this.used.add(t.name ?? '');
    for (const v of [...(graph.input ?? []), ...(graph.output ?? [])]) this.used.add(v.name ?? '');
    for (const n of graph.node ?? []) {
      for (const v of [...(n.input ?? []), ...(n.output ?? [])]) this.used.add(v);
      if (n.name) this.used.add(n.name);
    }
  }

  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}

/** Nodes reading each value (a node reading a value twice is listed once). */
export function consumersOf(graph: GraphMsg): Map<string, NodeMsg[]> {
  const consumers = new Map<string, NodeMsg[]>();
  for (const n of graph.node ?? []) {
    for (const v of new Set(n.input ?? [])) {
      if (!v) continue;
      consumers.set(v, [...(consumers.get(v) ?? []), n]);
    }
  }
  return consumers;
}

export function producersOf(graph: GraphMsg): Map<string, NodeMsg> {
  const producers = new Map<string, NodeMsg>();
  for (const n of graph.node ?? []) for (const v of n.output ?? []) producers.set(v, n);
  return producers;
}

/** A node's attribute as an int or float (undefined when absent). */
export function attrNumber(node: NodeMsg, name: string): number | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  if (!a) return undefined;
  return a.type === 1 ? a.f : toNumber(a.i);
}

export function isDefaultDomain(node: NodeMsg): boolean {
  return !node.domain || node.domain === 'ai.onnx';
}
