/**
 * Resolving a model spec — a zoo name, a path to an .onnx or .tflite file, or a TF.js model (`nsfwjs:<name>`,
 * a model.json or its folder) — to an IR graph. Zoo graphs
 * come in two forms: `modelGraph` (structure and lazily generated weights, enough for static
 * analysis) and `preparedModelGraph` (BatchNorm calibrated, ready to export and run).
 */
import { existsSync } from 'node:fs';
import { UserError } from '../errors.js';
import { inferShapes, leadingDimBindings, type Graph } from '../ir/index.js';
import { readOnnxFile } from '../onnx/index.js';
import { isTfjsSpec, readTfjsModel } from '../tfjs-graph/index.js';
import { isTflitePath, readTfliteFile } from '../tflite/index.js';
import { calibrateBatchNorm } from '../weights/index.js';
import { buildZooModel, type ZooModel } from '../zoo/index.js';
import { checkOnnxFits } from './onnx-size.js';

export type { ModelIdentity, ModelKind } from './identity.js';
export { checkOnnxFits } from './onnx-size.js';

export function isOnnxPath(spec: string): boolean {
  return spec.toLowerCase().endsWith('.onnx');
}

export interface ResolvedModel {
  spec: string;
  source: 'zoo' | 'onnx' | 'tfjs' | 'tflite';
  graph: Graph;
  zoo?: ZooModel;
}

export function resolveModel(spec: string): ResolvedModel {
  if (isOnnxPath(spec)) {
    if (!existsSync(spec)) throw new UserError(`no such file: ${spec}`, 'give a path to an existing .onnx file');
    return { spec, source: 'onnx', graph: readOnnxFile(spec) };
  }
  if (isTflitePath(spec)) {
    if (!existsSync(spec)) throw new UserError(`no such file: ${spec}`, 'give a path to an existing .tflite file');
    return { spec, source: 'tflite', graph: readTfliteFile(spec) };
  }
  if (isTfjsSpec(spec)) return { spec, source: 'tfjs', graph: readTfjsModel(spec) };
  const zoo = buildZooModel(spec);
  return { spec: zoo.spec, source: 'zoo', graph: zoo.graph, zoo };
}

/**
 * Every input at each batch within the size formbench allocates for one tensor (ir/limits.ts):
 * checked before a model is prepared or a worker starts, so that a batch too large for a model's
 * input is one error up front, not a failed allocation in every worker.
 */
export function checkBatchesFit(model: ResolvedModel, batches: readonly number[]): void {
  for (const batch of batches) inferShapes(model.graph, leadingDimBindings(model.graph, batch));
}

/** The graph with weights ready to run: zoo BatchNorms calibrated, ONNX and TF.js models as they are. */
export async function prepareModel(model: ResolvedModel): Promise<Graph> {
  if (!model.zoo) return model.graph;
  checkOnnxFits(model.graph);
  return calibrateBatchNorm(model.graph, { gains: model.zoo.bnGains });
}
