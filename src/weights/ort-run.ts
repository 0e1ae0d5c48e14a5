import os from 'node:os';
import ort from 'onnxruntime-node';
import type { Graph } from '../ir/index.js';
import { toOnnxBytes } from '../onnx/index.js';

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
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: os.availableParallelism(),
    graphOptimizationLevel: 'all',
  });
  try {
    const feeds = { [input.name]: new ort.Tensor('float32', input.data, input.dims) };
    const results = await session.run(feeds, outputNames);
    const out = new Map<string, Float32Array>();
    for (const name of outputNames) out.set(name, results[name]!.data as Float32Array);
    return out;
  } finally {
    await session.release();
  }
}
