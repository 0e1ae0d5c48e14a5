import { allOptimisationsAllCores, createSession, runFloat32, type OrtSession } from '../engines/ort-runtime.js';
import { ConstTensor, inferShapes, leadingDimBindings, type Attrs, type Graph, type Node, type TensorType } from '../ir/index.js';
import { UserError } from '../errors.js';
import { toOnnxBytes } from '../onnx/index.js';

/**
 * A copy of a graph with extra nodes and outputs, for in-graph statistics: calibration and the
 * activation check compute their numbers inside onnxruntime and read back only scalars, so a
 * deep network's gigabytes of intermediate activations never leave the runtime.
 */
export class GraphExtender {
  readonly graph: Graph;
  readonly types: Map<string, TensorType>;
  readonly input: { name: string; dims: number[] };

  constructor(source: Graph, batch: number) {
    const first = source.inputs[0]!;
    this.types = inferShapes(source, leadingDimBindings(source, batch));
    this.input = { name: first.name, dims: first.type.shape.map((d, i) => (i === 0 ? batch : d)) as number[] };
    this.graph = { ...source, nodes: [], outputs: [...source.outputs], initializers: new Map(source.initializers) };
  }

  keep(node: Node): void {
    this.graph.nodes.push(node);
  }

  /** Adds a node and returns its output's name (`output` overrides the default, the node's name). */
  add(op: string, name: string, inputs: string[], attrs: Attrs = {}, output = name): string {
    this.graph.nodes.push({ name, op, inputs, outputs: [output], attrs });
    return output;
  }

  scalar(name: string, value: number): string {
    this.graph.initializers.set(name, ConstTensor.fromFloat32([], Float32Array.of(value)));
    return name;
  }

  /** Declares a value as a graph output (its type is inferred at export). */
  expose(name: string): string {
    this.graph.outputs.push({ name, type: { dtype: 'float32', shape: [] } });
    return name;
  }
}

/**
 * Runs a graph once in onnxruntime (CPU) and returns the requested float outputs. Used to
 * calibrate and check random weights, not to time anything.
 */
export async function runOnce(
  graph: Graph,
  input: { name: string; dims: number[]; data: Float32Array },
  outputNames: string[],
): Promise<Map<string, Float32Array>> {
  const bytes = toOnnxBytes(graph, { batch: input.dims[0] });
  let session: OrtSession;
  try {
    session = await createSession(bytes, allOptimisationsAllCores());
  } catch (e) {
    // The graph passed formbench's validation, so this is onnxruntime declining the model.
    const reason = (e as Error).message.split('\n')[0];
    throw new UserError(`onnxruntime cannot load '${graph.name}': ${reason}`, 'check the model with onnxruntime directly; formbench runs it through the CPU execution provider');
  }
  try {
    return await runFloat32(session, input, outputNames);
  } finally {
    await session.release();
  }
}
