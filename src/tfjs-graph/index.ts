/**
 * TF.js model import: model.json + weight shards (from a file, a folder, or the models bundled in
 * the nsfwjs package) → the IR, for both TF.js formats: graph-model (the converter's frozen TF
 * GraphDef; one importer per TF op) and layers-model (Keras topology; one importer per layer
 * class). Weights are dequantized (uint8/uint16/float16) to float32; NHWC becomes NCHW with one
 * Transpose after the graph's NHWC input, filters are transposed to OIHW, and TF 'SAME' padding
 * becomes explicit (possibly asymmetric) pads.
 */
import { UserError } from '../errors.js';
import { validateGraph, type Graph } from '../ir/index.js';
import { readTfjsArtifacts, type TfjsArtifacts } from './artifacts.js';
import { importGraphModel } from './graph-model.js';
import { importLayersModel } from './layers-model.js';

export { isTfjsSpec, NSFWJS_MODELS, readTfjsArtifacts, type ModelJson, type TfjsArtifacts } from './artifacts.js';
export { decodeWeights, halfToFloat, type WeightSpec, type WeightsManifestGroup } from './weights.js';
export { OP_IMPORTERS, importGraphModel, type TfNode } from './graph-model.js';
export { LAYER_IMPORTERS, importLayersModel } from './layers-model.js';
export { samePads } from './builder.js';

/** Reads a TF.js model (`nsfwjs:<name>`, a model.json, or its folder) into a validated IR graph. */
export function readTfjsModel(spec: string): Graph {
  return tfjsArtifactsToGraph(readTfjsArtifacts(spec));
}

export function tfjsArtifactsToGraph(art: TfjsArtifacts): Graph {
  const topo = art.modelJson.modelTopology as Record<string, unknown>;
  let graph: Graph;
  if (art.modelJson.format === 'graph-model' || Array.isArray(topo['node'])) graph = importGraphModel(art);
  else if (art.modelJson.format === 'layers-model' || topo['model_config'] || topo['class_name']) graph = importLayersModel(art);
  else throw new UserError(`${art.source} is neither a TF.js graph-model nor a layers-model`, 'give a model.json written by the TF.js converter or tf.LayersModel.save');
  validateGraph(graph);
  return graph;
}
