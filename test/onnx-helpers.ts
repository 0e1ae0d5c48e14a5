import ort from 'onnxruntime-node';
import { ConstTensor, inferShapes, type AttrValue, type DType, type Graph, type Node, type Shape } from '../src/ir/index.js';
import { ModelProto } from '../src/onnx/schema.js';
import { Rng } from '../src/weights/index.js';

/** Seeded uniform values in [-scale, scale), from the project's own generator. */
export function pseudoRandom(n: number, seed = 1, scale = 1): Float32Array {
  const rng = new Rng(seed, 'test');
  return Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
}

let seedCounter = 1;
export const weight = (...dims: number[]): ConstTensor =>
  ConstTensor.fromFloat32(dims, pseudoRandom(dims.reduce((a, b) => a * b, 1), seedCounter++, 0.5));
export const positive = (...dims: number[]): ConstTensor =>
  ConstTensor.fromFloat32(dims, pseudoRandom(dims.reduce((a, b) => a * b, 1), seedCounter++, 0.5).map((v) => 1 + v));
export const scalar = (v: number): ConstTensor => ConstTensor.fromFloat32([], Float32Array.of(v));
export const ints = (...v: number[]): ConstTensor => ConstTensor.fromInt64([v.length], v);

export const node = (name: string, op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = [name]): Node => ({
  name,
  op,
  inputs,
  outputs,
  attrs,
});

export interface GraphSpec {
  inputs?: { name: string; shape: Shape; dtype?: DType }[];
  outputs?: string[];
  nodes: Node[];
  initializers?: Record<string, ConstTensor>;
}

/** A graph with input `x` [N, …] by default and the last node's first output as output. */
export function graphOf(spec: GraphSpec, inputShape: Shape = ['N', 3, 8, 8]): Graph {
  const inputs = (spec.inputs ?? [{ name: 'x', shape: inputShape }]).map((i) => ({ name: i.name, type: { dtype: i.dtype ?? 'float32', shape: i.shape } }));
  const outputs = spec.outputs ?? [spec.nodes[spec.nodes.length - 1]!.outputs[0]!];
  const graph: Graph = {
    name: 'test',
    inputs,
    outputs: outputs.map((name) => ({ name, type: { dtype: 'float32', shape: [] } })),
    initializers: new Map(Object.entries(spec.initializers ?? {})),
    nodes: spec.nodes,
    metadata: { origin: 'onnx test' },
  };
  // Declared output types as the IR infers them.
  const types = inferShapes(graph);
  graph.outputs = outputs.map((name) => ({ name, type: types.get(name)! }));
  return graph;
}

const ORT_TYPES = { float32: 'float32', float16: 'float16', int8: 'int8', uint8: 'uint8', int32: 'int32', int64: 'int64', bool: 'bool', float64: 'float64' } as const;

/** Runs an ONNX model in onnxruntime with pseudo-random float inputs; symbolic dims bound to `batch`. */
export async function runOrt(bytes: Uint8Array, graph: Graph, batch: number, seed = 7): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of graph.inputs) {
      const dims = input.type.shape.map((d) => (typeof d === 'number' ? d : batch));
      const n = dims.reduce((a, b) => a * b, 1);
      const dtype = input.type.dtype;
      if (dtype !== 'float32') throw new Error(`test inputs are float32, not ${dtype}`);
      feeds[input.name] = new ort.Tensor(ORT_TYPES[dtype], pseudoRandom(n, seed), dims);
    }
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

// ---- Hand-written ONNX protobuf messages, for models the IR exporter would never write. ----

export interface ProtoNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attrs?: Record<string, number | number[] | string | { tensor: object } | { floats: number[] } | { float: number }>;
}

/** An AttributeProto from a terse JS value: integers → INT(S), {float}/{floats} → FLOAT(S), strings → STRING. */
function attrMsg(name: string, v: NonNullable<ProtoNode['attrs']>[string]): object {
  if (typeof v === 'number') return { name, type: 2, i: v };
  if (typeof v === 'string') return { name, type: 3, s: Buffer.from(v) };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if ('float' in v) return { name, type: 1, f: v.float };
  if ('floats' in v) return { name, type: 6, floats: v.floats };
  return { name, type: 4, t: v.tensor };
}

export function floatTensorMsg(name: string, dims: number[], values: Float32Array): object {
  return { name, dims, data_type: 1, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export function valueInfoMsg(name: string, shape: (number | string)[], elemType = 1): object {
  return {
    name,
    type: { tensor_type: { elem_type: elemType, shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

export interface ProtoModel {
  opset: number;
  nodes: ProtoNode[];
  initializers?: object[];
  inputs: object[];
  outputs: object[];
  irVersion?: number;
}

export function modelBytes(m: ProtoModel): Uint8Array {
  return ModelProto.encode({
    ir_version: m.irVersion ?? (m.opset >= 15 ? 8 : m.opset >= 9 ? 4 : 3),
    producer_name: 'onnx-test',
    opset_import: [{ domain: '', version: m.opset }],
    graph: {
      name: 'legacy',
      node: m.nodes.map((n) => ({
        op_type: n.op,
        input: n.inputs,
        output: n.outputs,
        ...(n.name !== undefined ? { name: n.name } : {}),
        ...(n.domain !== undefined ? { domain: n.domain } : {}),
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attrMsg(k, v)),
      })),
      initializer: m.initializers ?? [],
      input: m.inputs,
      output: m.outputs,
    },
  }).finish();
}

/** Largest absolute difference between two float arrays. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
