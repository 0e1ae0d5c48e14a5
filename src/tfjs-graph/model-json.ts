/**
 * The shape of model.json, checked before any importer reads it. The importers cast what they
 * read; a model.json from the internet may hold anything (a shape of "four", a node list that is
 * a string), so the parts they read are checked here, and everything else passes through.
 */
import { z } from 'zod';
import { UserError } from '../errors.js';
import { MAX_TENSOR_ELEMENTS } from '../ir/index.js';
import type { WeightsManifestGroup } from './weights.js';

/** model.json as the TF.js converter writes it (graph-model) or Keras/TF.js save (layers-model). */
export interface ModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest?: WeightsManifestGroup[];
  /** The SavedModel's serving signature (the converter writes it here; TF.js also reads it from userDefinedMetadata). */
  signature?: unknown;
  userDefinedMetadata?: unknown;
}

const HINT = 'give a model.json written by the TF.js converter or tf.LayersModel.save';

/** A dimension of a stored weight: 0 is allowed (an empty tensor), nothing negative or fractional. */
const weightDim = z.number().int().nonnegative().max(MAX_TENSOR_ELEMENTS);

const weightSpec = z.looseObject({
  name: z.string(),
  shape: z.array(weightDim).max(8),
  dtype: z.string(),
  quantization: z
    .looseObject({ dtype: z.string(), scale: z.number().finite().optional(), min: z.number().finite().optional(), original_dtype: z.string().optional() })
    .optional(),
});

const manifest = z.array(z.looseObject({ paths: z.array(z.string()), weights: z.array(weightSpec) }));

/** TF's int64 fields are JSON strings ("-1"); either spelling, an integer either way. */
const int64 = z.union([z.number().int(), z.string().regex(/^-?\d{1,16}$/)]);

const tfAttr = z.looseObject({
  s: z.string().optional(),
  i: int64.optional(),
  f: z.number().optional(),
  b: z.boolean().optional(),
  type: z.string().optional(),
  list: z.looseObject({ i: z.array(int64).optional(), s: z.array(z.string()).optional(), f: z.array(z.number()).optional() }).optional(),
  shape: z.looseObject({ dim: z.array(z.looseObject({ size: int64.optional() })).optional(), unknownRank: z.boolean().optional() }).optional(),
});

const graphTopology = z.looseObject({
  node: z.array(z.looseObject({ name: z.string(), op: z.string(), input: z.array(z.string()).optional(), attr: z.record(z.string(), tfAttr).optional() })),
  library: z.looseObject({ function: z.array(z.unknown()).optional() }).optional(),
});

/** batch_input_shape: null for a free dimension, else a positive size. */
const kerasShape = z.array(z.union([z.null(), z.number().int().positive()])).max(8);

const kerasLayer = z.looseObject({
  name: z.string(),
  class_name: z.string(),
  config: z.looseObject({ batch_input_shape: kerasShape.optional(), batch_shape: kerasShape.optional() }),
  inbound_nodes: z.array(z.array(z.array(z.unknown()))).optional(),
});

const kerasConfig = z.union([
  z.array(kerasLayer),
  z.looseObject({
    name: z.string().optional(),
    layers: z.array(kerasLayer).optional(),
    output_layers: z.array(z.array(z.unknown())).optional(),
  }),
]);

const layersTopology = z.looseObject({
  model_config: z.looseObject({ class_name: z.string().optional(), config: kerasConfig.optional() }).optional(),
  class_name: z.string().optional(),
  config: kerasConfig.optional(),
  keras_version: z.string().optional(),
});

const modelJson = z.looseObject({
  format: z.string().optional(),
  modelTopology: z.union([graphTopology, layersTopology]),
  weightsManifest: manifest.optional(),
  signature: z.unknown().optional(),
  userDefinedMetadata: z.unknown().optional(),
});

export function checkModelJson(parsed: unknown, source: string): ModelJson {
  const m = parsed as { modelTopology?: unknown } | null;
  if (!m || typeof m !== 'object' || Array.isArray(m) || !m.modelTopology || typeof m.modelTopology !== 'object') {
    throw new UserError(`${source} is not a TF.js model (it has no modelTopology)`, HINT);
  }
  const topology = m.modelTopology as Record<string, unknown>;
  // A graph model's topology has a node list: check it as one, so that its errors name the node.
  const schema = 'node' in topology ? modelJson.extend({ modelTopology: graphTopology }) : modelJson.extend({ modelTopology: layersTopology });
  const r = schema.safeParse(parsed);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.map(String).join('.') || 'the top level';
    throw new UserError(`${source}: ${where} is malformed (${issue.message.replace(/\s+/g, ' ')})`, HINT);
  }
  return parsed as ModelJson;
}
