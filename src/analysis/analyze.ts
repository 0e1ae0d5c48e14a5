import { UserError } from '../errors.js';
import {
  BYTES_PER_ELEMENT,
  elementCount,
  inferShapes,
  MAX_BATCH,
  topologicalOrder,
  type DimBindings,
  type Graph,
  type TensorType,
} from '../ir/index.js';
import { nodeCompute, PARAMETER_INPUTS } from './costs.js';

export interface LayerCost {
  name: string;
  op: string;
  /** Design-pattern block ('stem', 'block3', 'head') for zoo models. */
  block?: string;
  outputShape: number[];
  macs: number;
  elementwiseOps: number;
  /** Learned parameters this layer reads (a tensor shared by several layers counts for each). */
  params: number;
  /** Bytes of the constant tensors this layer reads (parameters and BN statistics). */
  weightBytes: number;
  /** Bytes of the activations this layer reads (non-constant inputs). */
  inputBytes: number;
  /** Bytes of the activations this layer writes. */
  activationBytes: number;
  /** FLOPs (2·MACs + elementwise) per byte moved under the byte model below. */
  arithmeticIntensity: number;
}

export interface ModelCost {
  batch: number;
  macs: number;
  flops: number;
  elementwiseOps: number;
  /** Sum of the layers' parameters: a shared tensor counts once per layer that reads it. */
  params: number;
  /** Parameters as stored: each distinct tensor once. */
  uniqueParams: number;
  weightBytes: number;
  /** Sum of every layer's output bytes: the activation traffic of one forward pass. */
  activationBytes: number;
  /** Bytes of the largest single activation tensor (a lower bound on activation memory). */
  peakActivationBytes: number;
  arithmeticIntensity: number;
  layers: LayerCost[];
}

/**
 * The byte model behind arithmetic intensity: each layer reads its input activations and its
 * constants once and writes its outputs once (perfect reuse inside a layer, none across layers).
 */
export const BYTE_MODEL =
  'bytes moved = input activations read + constants read + outputs written, each once per layer';

export interface AnalyzeOptions {
  /** Binds the model's symbolic batch dimension; default 1. */
  batch?: number;
}

/** Static cost of a graph, per layer (topological order) and in total. */
export function analyzeGraph(graph: Graph, options: AnalyzeOptions = {}): ModelCost {
  const batch = options.batch ?? fixedBatch(graph) ?? 1;
  const types = inferShapes(graph, batchBindings(graph, batch));
  const seen = new Set<string>();
  let uniqueParams = 0;
  const layers: LayerCost[] = [];
  for (const node of topologicalOrder(graph)) {
    const inputs = node.inputs.map((v) => (v ? types.get(v) : undefined));
    const outputs = node.outputs.map((v) => types.get(v)!).filter(Boolean);
    const compute = nodeCompute(node, inputs, outputs);
    const paramInputs = PARAMETER_INPUTS[node.op] ?? [];
    let params = 0;
    let weightBytes = 0;
    let inputBytes = 0;
    node.inputs.forEach((v, i) => {
      if (!v) return;
      const constant = graph.initializers.get(v);
      if (!constant) {
        inputBytes += bytesOf(types.get(v)!);
        return;
      }
      weightBytes += constant.byteLength;
      if (!paramInputs.includes(i) || !constant.dtype.startsWith('float')) return;
      params += constant.elementCount;
      if (!seen.has(v)) uniqueParams += constant.elementCount;
      seen.add(v);
    });
    const activationBytes = outputs.reduce((a, t) => a + bytesOf(t), 0);
    const flops = 2 * compute.macs + compute.elementwiseOps;
    const moved = inputBytes + weightBytes + activationBytes;
    const out = outputs[0]?.shape ?? [];
    layers.push({
      name: node.name,
      op: node.op,
      ...(node.block ? { block: node.block } : {}),
      outputShape: out as number[],
      ...compute,
      params,
      weightBytes,
      inputBytes,
      activationBytes,
      arithmeticIntensity: moved > 0 ? flops / moved : 0,
    });
  }
  const sum = (f: (l: LayerCost) => number) => layers.reduce((a, l) => a + f(l), 0);
  const macs = sum((l) => l.macs);
  const elementwiseOps = sum((l) => l.elementwiseOps);
  const moved = sum((l) => l.inputBytes + l.weightBytes + l.activationBytes);
  return {
    batch,
    macs,
    flops: 2 * macs,
    elementwiseOps,
    params: sum((l) => l.params),
    uniqueParams,
    weightBytes: sum((l) => l.weightBytes),
    activationBytes: sum((l) => l.activationBytes),
    // A loop, not Math.max(...spread): a spread of a long graph's layers overflows the call stack.
    peakActivationBytes: layers.reduce((a, l) => Math.max(a, l.activationBytes), 0),
    arithmeticIntensity: moved > 0 ? (2 * macs + elementwiseOps) / moved : 0,
    layers,
  };
}

/** The batch a model was exported with, when its leading input dimension is fixed. */
function fixedBatch(graph: Graph): number | undefined {
  const lead = graph.inputs[0]?.type.shape[0];
  return typeof lead === 'number' ? lead : undefined;
}

function bytesOf(t: TensorType): number {
  return elementCount(t.shape) * BYTES_PER_ELEMENT[t.dtype];
}

/**
 * Binds the leading (batch) dimension of every graph input. A model exported with a fixed batch
 * cannot be analysed at another batch without re-exporting, so that is a user error.
 */
export function batchBindings(graph: Graph, batch: number): DimBindings {
  if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH) throw new UserError(`batch must be a whole number from 1 to ${MAX_BATCH}, got ${batch}`, `give a batch from 1 to ${MAX_BATCH}`);
  const bindings: DimBindings = {};
  for (const input of graph.inputs) {
    const [lead, ...rest] = input.type.shape;
    if (typeof lead === 'string') bindings[lead] = batch;
    else if (lead !== undefined && lead !== batch) {
      throw new UserError(
        `input '${input.name}' has a fixed batch of ${lead}; cannot analyse it at batch ${batch}`,
        're-export the model with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={...: {0: "N"}}))',
      );
    }
    const unbound = rest.find((d) => typeof d === 'string');
    if (unbound !== undefined) {
      throw new UserError(
        `input '${input.name}' has the symbolic dimension '${unbound}' besides the batch`,
        'export the model with a fixed input resolution',
      );
    }
  }
  return bindings;
}

