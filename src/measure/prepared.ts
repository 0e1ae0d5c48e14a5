import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Graph } from '../ir/index.js';
import { checkBatchesFit, prepareModel, resolveModel, type ResolvedModel } from '../model/index.js';
import { toOnnxBytes } from '../onnx/index.js';

/**
 * A model made ready once for every worker that runs it: its spec resolved, zoo weights
 * calibrated, and the graph written to an ONNX file that trial, reference, fidelity, profile and
 * counter workers all load, so that each of them measures the very same weights.
 */
export interface PreparedModel {
  /** The spec in canonical form (zoo specs normalised). */
  spec: string;
  resolved: ResolvedModel;
  /** The graph with weights ready to run. */
  graph: Graph;
  /** The ONNX file the workers load; it exists while the callback of withPreparedModel runs. */
  onnxPath: string;
}

/**
 * Prepares a model (a spec, or one already resolved, e.g. by the study's plan) into a temporary
 * ONNX file, runs `use` with it, and removes the file whatever `use` does. The batches it will run
 * at, where given, are checked against the tensor cap first.
 */
export async function withPreparedModel<T>(model: string | ResolvedModel, use: (prepared: PreparedModel) => Promise<T>, batches: readonly number[] = []): Promise<T> {
  const resolved = typeof model === 'string' ? resolveModel(model) : model;
  checkBatchesFit(resolved, batches);
  const graph = await prepareModel(resolved);
  const dir = mkdtempSync(join(tmpdir(), 'formbench-model-'));
  try {
    const onnxPath = join(dir, 'model.onnx');
    writeFileSync(onnxPath, toOnnxBytes(graph));
    return await use({ spec: resolved.spec, resolved, graph, onnxPath });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
