import { closeSync, openSync, writeSync } from 'node:fs';
import { UserError } from '../errors.js';
import { bindShape, ConstTensor, getInt, inferShapes, leadingDimBindings, type AttrValue, type Graph, type Node, type TensorType } from '../ir/index.js';
import { ATTR_TYPE, GraphProto, ModelProto, ONNX_DTYPE, TensorProto, type AttributeMsg, type ValueInfoMsg } from './schema.js';

export interface ExportOptions {
  /** Declared opset of the default domain; the IR's operator semantics are opset 17's. */
  opset?: number;
  /** Fix the symbolic batch dimension of the inputs to this size; default keeps it symbolic. */
  batch?: number;
}

/** The opset whose operator semantics the IR uses. */
export const IR_OPSET = 17;
/** ONNX IR version 8 goes with opsets up to 18. */
const IR_VERSION = 8;

/**
 * The ONNX file as a list of byte chunks. Weights are raw little-endian bytes taken straight from
 * each tensor (generated on demand for zoo models), never copied into intermediate arrays.
 */
function onnxChunks(graph: Graph, options: ExportOptions): Uint8Array[] {
  const bindings = options.batch === undefined ? {} : leadingDimBindings(graph, options.batch);
  const types = inferShapes(graph, bindings);
  const valueInfo = (name: string, declared: TensorType): ValueInfoMsg => {
    const t = types.get(name) ?? declared;
    return { name, type: { tensor_type: { elem_type: ONNX_DTYPE[t.dtype], shape: { dim: bindShape(t.shape, bindings).map(dimMsg) } } } };
  };
  // The IR splits into ceil-sized parts when Split has no sizes (opset 18's rule); opset 17 wants
  // equal parts, so uneven splits get their sizes written out.
  const extra = new Map<string, ConstTensor>();
  const nodeInputs = (n: Node): string[] => {
    if (n.op !== 'Split' || n.inputs[1]) return n.inputs;
    const x = types.get(n.inputs[0]!);
    const axis = getInt(n.attrs, 'axis', 0);
    const sizes = n.outputs.map((o) => types.get(o)?.shape.at(axis));
    if (!x || sizes.some((d) => typeof d !== 'number') || new Set(sizes).size <= 1) return n.inputs;
    let name = `${n.name}.split`;
    for (let k = 1; types.has(name) || extra.has(name); k++) name = `${n.name}.split_${k}`;
    extra.set(name, ConstTensor.fromInt64([sizes.length], sizes as number[]));
    return [n.inputs[0]!, name];
  };
  const nodes = graph.nodes.map((n) => ({
    name: n.name,
    op_type: n.op,
    input: nodeInputs(n),
    output: n.outputs,
    attribute: Object.entries(n.attrs).map(([name, a]) => attributeMsg(name, a)),
  }));
  const model = {
    ir_version: IR_VERSION,
    producer_name: 'formbench',
    producer_version: '0.1.0',
    opset_import: [{ domain: '', version: options.opset ?? IR_OPSET }],
    metadata_props: Object.entries(graph.metadata).map(([key, value]) => ({ key, value })),
  };
  const graphMsg = {
    name: graph.name,
    input: graph.inputs.map((i) => valueInfo(i.name, i.type)),
    output: graph.outputs.map((o) => valueInfo(o.name, o.type)),
    node: nodes,
  };
  // Weights bypass protobufjs (whose writer grows by doubling and copies again when finishing):
  // each TensorProto is its small encoded header, then raw_data's tag and length, then the
  // tensor's own bytes, so that the file is assembled with one copy of each weight, or none.
  const tensorChunks: Uint8Array[] = [];
  for (const [name, t] of [...graph.initializers, ...extra]) {
    const head = TensorProto.encode({ name, dims: [...t.dims], data_type: ONNX_DTYPE[t.dtype] }).finish();
    const raw = t.bytes();
    const rawHeader = fieldHeader(TENSOR_RAW_DATA, raw.byteLength);
    tensorChunks.push(fieldHeader(GRAPH_INITIALIZER, head.byteLength + rawHeader.byteLength + raw.byteLength), head, rawHeader, raw);
  }
  const graphHead = GraphProto.encode(graphMsg).finish();
  const graphLength = graphHead.byteLength + tensorChunks.reduce((n, c) => n + c.byteLength, 0);
  const chunks = [ModelProto.encode(model).finish(), fieldHeader(MODEL_GRAPH, graphLength), graphHead, ...tensorChunks];
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  if (total > MAX_PROTOBUF_BYTES) {
    throw new UserError(
      `the ONNX file for '${graph.name}' would be ${(total / 2 ** 30).toFixed(2)} GiB, over protobuf's 2 GiB limit`,
      'use a smaller width or depth, or a lower-precision variant of the model',
    );
  }
  return chunks;
}

/** Serialises an IR graph as an ONNX model (one buffer of exactly the file's size). */
export function toOnnxBytes(graph: Graph, options: ExportOptions = {}): Uint8Array {
  const chunks = onnxChunks(graph, options);
  const out = Buffer.allocUnsafeSlow(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** Writes the model to a file piece by piece, without assembling it in memory. */
export function writeOnnxFile(graph: Graph, path: string, options: ExportOptions = {}): void {
  const chunks = onnxChunks(graph, options);
  const fd = openSync(path, 'w');
  try {
    for (const c of chunks) {
      for (let done = 0; done < c.byteLength; ) done += writeSync(fd, c, done, c.byteLength - done);
    }
  } finally {
    closeSync(fd);
  }
}

/** Protobuf messages (and so ONNX files without external data) are limited to 2 GiB. */
const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

/** Field numbers of onnx.proto used when assembling the file by hand. */
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;

/** The tag and length of a length-delimited field (wire type 2); lengths may exceed 2^32. */
function fieldHeader(field: number, length: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = field * 8 + 2; ; ) {
    if (v < 0x80) {
      bytes.push(v);
      break;
    }
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  for (let v = length; ; ) {
    if (v < 0x80) {
      bytes.push(v);
      break;
    }
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  return Uint8Array.from(bytes);
}

function dimMsg(d: number | string): { dim_value: number } | { dim_param: string } {
  return typeof d === 'number' ? { dim_value: d } : { dim_param: d };
}

function attributeMsg(name: string, a: AttrValue): AttributeMsg {
  const type = ATTR_TYPE[a.type];
  switch (a.type) {
    case 'int':
      return { name, type, i: a.value };
    case 'float':
      return { name, type, f: a.value };
    case 'string':
      return { name, type, s: Buffer.from(a.value, 'utf8') };
    case 'ints':
      return { name, type, ints: a.value };
    case 'floats':
      return { name, type, floats: a.value };
    case 'strings':
      return { name, type, strings: a.value.map((s) => Buffer.from(s, 'utf8')) };
  }
}
