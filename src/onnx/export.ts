import { writeFileSync } from 'node:fs';
import { bindShape, inferShapes, type AttrValue, type Graph, type TensorType } from '../ir/index.js';
import { ATTR_TYPE, ModelProto, ONNX_DTYPE, type AttributeMsg, type ValueInfoMsg } from './schema.js';

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
 * Serialises an IR graph as an ONNX model. Weights are written as raw little-endian bytes taken
 * straight from each tensor (generated on demand for zoo models), without intermediate arrays.
 */
export function toOnnxBytes(graph: Graph, options: ExportOptions = {}): Uint8Array {
  const bindings: Record<string, number> = {};
  if (options.batch !== undefined) {
    for (const input of graph.inputs) {
      const lead = input.type.shape[0];
      if (typeof lead === 'string') bindings[lead] = options.batch;
    }
  }
  const types = inferShapes(graph, bindings);
  const valueInfo = (name: string, declared: TensorType): ValueInfoMsg => {
    const t = types.get(name) ?? declared;
    return { name, type: { tensor_type: { elem_type: ONNX_DTYPE[t.dtype], shape: { dim: bindShape(t.shape, bindings).map(dimMsg) } } } };
  };
  const model = {
    ir_version: IR_VERSION,
    producer_name: 'formbench',
    producer_version: '0.1.0',
    opset_import: [{ domain: '', version: options.opset ?? IR_OPSET }],
    metadata_props: Object.entries(graph.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      input: graph.inputs.map((i) => valueInfo(i.name, i.type)),
      output: graph.outputs.map((o) => valueInfo(o.name, o.type)),
      initializer: [...graph.initializers].map(([name, t]) => ({
        name,
        dims: [...t.dims],
        data_type: ONNX_DTYPE[t.dtype],
        raw_data: t.bytes(),
      })),
      node: graph.nodes.map((n) => ({
        name: n.name,
        op_type: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([name, a]) => attributeMsg(name, a)),
      })),
    },
  };
  return ModelProto.encode(model).finish();
}

export function writeOnnxFile(graph: Graph, path: string, options: ExportOptions = {}): void {
  writeFileSync(path, toOnnxBytes(graph, options));
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
