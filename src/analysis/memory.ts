/**
 * Static memory of one forward pass: the weights as stored, and the most activation bytes alive
 * at once when the nodes run one by one in topological order, each value freed after its last
 * reader. That is what an executor that frees tensors as it goes holds at its peak (PyTorch eager
 * by reference counting; onnxruntime's memory planner reuses buffers by the same liveness).
 */
import { BYTES_PER_ELEMENT, elementCount, inferShapes, topologicalOrder, type Graph } from '../ir/index.js';
import { batchBindings } from './analyze.js';

export interface ActivationPeak {
  /** Bytes of the values alive together at the peak: a node's inputs still needed and its outputs. */
  peakBytes: number;
  /** The node whose outputs, allocated, make the peak ('' for a graph without nodes). */
  atNode: string;
}

/**
 * The liveness walk. An upper bound on what an engine must hold, as far as the order goes: every
 * node's outputs are new buffers (no in-place Relu, no Reshape sharing its input's buffer), the
 * graph's inputs stay alive until their last reader and its outputs until the end.
 */
export function activationPeak(graph: Graph, batch: number): ActivationPeak {
  const types = inferShapes(graph, batchBindings(graph, batch));
  const order = topologicalOrder(graph);
  const bytesOf = (v: string): number => {
    const t = types.get(v);
    return t ? elementCount(t.shape) * BYTES_PER_ELEMENT[t.dtype] : 0;
  };
  const isActivation = (v: string): boolean => v !== '' && !graph.initializers.has(v);
  const lastRead = new Map<string, number>();
  order.forEach((node, i) => node.inputs.filter(isActivation).forEach((v) => lastRead.set(v, i)));
  for (const o of graph.outputs) lastRead.set(o.name, order.length);
  let liveBytes = graph.inputs.filter((i) => isActivation(i.name)).reduce((a, i) => a + bytesOf(i.name), 0);
  let peak: ActivationPeak = { peakBytes: liveBytes, atNode: '' };
  order.forEach((node, i) => {
    liveBytes += node.outputs.filter(isActivation).reduce((a, v) => a + bytesOf(v), 0);
    if (liveBytes > peak.peakBytes) peak = { peakBytes: liveBytes, atNode: node.name };
    // Inputs read for the last time, and outputs nobody reads, are freed once the node has run.
    const freed = new Set([...node.inputs.filter((v) => isActivation(v) && lastRead.get(v) === i), ...node.outputs.filter((v) => isActivation(v) && !lastRead.has(v))]);
    for (const v of freed) liveBytes -= bytesOf(v);
  });
  return peak;
}

/** Bytes of the weights as stored: each initializer once, without generating lazy zoo weights. */
export function storedWeightBytes(graph: Graph): number {
  let bytes = 0;
  for (const t of graph.initializers.values()) bytes += t.byteLength;
  return bytes;
}
