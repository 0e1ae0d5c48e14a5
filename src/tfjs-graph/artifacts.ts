import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { MAX_MODEL_FILE_BYTES, MAX_TEXT_FILE_BYTES, pathInsideFolder, readInputFile, readInputText } from '../input/files.js';
import type { ConstTensor, Dim } from '../ir/index.js';
import { ZOO_LIMITS } from '../zoo/spec.js';
import { checkModelJson, type ModelJson } from './model-json.js';
import { decodeWeights } from './weights.js';

export type { ModelJson } from './model-json.js';

export interface TfjsArtifacts {
  /** What the model was read from, for messages and the graph's name. */
  source: string;
  modelJson: ModelJson;
  weights: Map<string, ConstTensor>;
  /** The shards' bytes, concatenated as TF.js itself reads them (for running the model in TF.js). */
  weightData: Uint8Array;
  /** Height and width for an image input the model leaves free (`<spec>@<H>x<W>`). */
  inputSize?: { height: number; width: number };
}

/** `<spec>@<H>x<W>`: the input size of a model saved with a free height and width. */
const INPUT_SIZE_SUFFIX = /@(\d+)x(\d+)$/;

/** The spec without its input-size suffix, and the size it gives. */
export function splitInputSize(spec: string): { base: string; inputSize?: { height: number; width: number } } {
  const m = INPUT_SIZE_SUFFIX.exec(spec);
  if (!m) return { base: spec };
  const [height, width] = [Number(m[1]), Number(m[2])];
  if (height < 1 || width < 1 || height > ZOO_LIMITS.resolution || width > ZOO_LIMITS.resolution) {
    throw new UserError(`${spec}: an input size is 1 to ${ZOO_LIMITS.resolution} pixels a side, got ${height}x${width}`, 'e.g. model.json@224x224');
  }
  return { base: spec.slice(0, m.index), inputSize: { height, width } };
}

/**
 * An NHWC image input's dimensions with the spec's size put in: a model saved with a free height
 * and width (super-resolution, detection) needs one, since TF's SAME padding depends on it.
 */
export function withInputSize(art: TfjsArtifacts, input: string, dims: Dim[]): Dim[] {
  if (dims.length !== 4) {
    if (art.inputSize) throw new UserError(`${art.source}: input '${input}' is not an image tensor, so it takes no @HxW size`, `drop the @${art.inputSize.height}x${art.inputSize.width} suffix`);
    return dims;
  }
  const [n, h, w, ch] = dims as [Dim, Dim, Dim, Dim];
  const size = art.inputSize;
  if (!size) {
    if (typeof h !== 'number' || typeof w !== 'number') {
      throw new UserError(`${art.source}: input '${input}' leaves its height and width free ([${dims.join(', ')}])`, `give them after the model: ${art.source}@<height>x<width>, e.g. ${art.source}@224x224`);
    }
    return dims;
  }
  if ((typeof h === 'number' && h !== size.height) || (typeof w === 'number' && w !== size.width)) {
    throw new UserError(`${art.source}: input '${input}' is fixed at [${dims.join(', ')}], not ${size.height}x${size.width}`, 'drop the @HxW suffix: the model gives its own size');
  }
  return [n, size.height, size.width, ch];
}

/** nsfwjs's bundled models: the folder under dist/models and how many weight shards it has. */
export const NSFWJS_MODELS: Record<string, { shards: number }> = {
  mobilenet_v2: { shards: 1 },
  mobilenet_v2_mid: { shards: 2 },
  inception_v3: { shards: 6 },
};

const NSFWJS_PREFIX = 'nsfwjs:';

/** True for specs this module reads: `nsfwjs:<model>`, a `.json` file, or a folder with model.json. */
export function isTfjsSpec(fullSpec: string): boolean {
  const spec = splitInputSize(fullSpec).base;
  if (spec.startsWith(NSFWJS_PREFIX) || spec.toLowerCase().endsWith('.json')) return true;
  return existsSync(join(spec, 'model.json')) && statSync(spec).isDirectory();
}

export function readTfjsArtifacts(fullSpec: string): TfjsArtifacts {
  const { base, inputSize } = splitInputSize(fullSpec);
  const art = readBaseArtifacts(base);
  return inputSize ? { ...art, source: fullSpec, inputSize } : art;
}

function readBaseArtifacts(spec: string): TfjsArtifacts {
  if (spec.startsWith(NSFWJS_PREFIX)) return readNsfwjs(spec.slice(NSFWJS_PREFIX.length));
  const path = spec.toLowerCase().endsWith('.json') ? spec : join(spec, 'model.json');
  const modelJson = parseModelJson(readInputText(path, MODEL_JSON_FILE), path);
  const shardHint = 'keep the group*-shard* files listed in model.json next to it';
  const folder = dirname(resolve(path));
  let total = 0;
  const shards = (modelJson.weightsManifest ?? []).flatMap((g) => g.paths).map((p) => {
    const shardPath = pathInsideFolder(folder, p, `${path}: weight shard path`, shardHint);
    const bytes = readInputFile(shardPath, { what: 'weight shard', maxBytes: MAX_MODEL_FILE_BYTES, hint: shardHint });
    total += bytes.byteLength;
    if (total > MAX_MODEL_FILE_BYTES) throw new UserError(`${path}: its weight shards hold more than ${MAX_MODEL_FILE_BYTES} bytes together`, 'formbench reads TF.js models whose weights fit in 2 GiB');
    return bytes;
  });
  const weightData = standalone(Buffer.concat(shards));
  return { source: path, modelJson, weights: decodeWeights(modelJson.weightsManifest ?? [], weightData, path), weightData };
}

const MODEL_JSON_FILE = { what: 'TF.js model.json', maxBytes: MAX_TEXT_FILE_BYTES, hint: 'give a TF.js model.json (or its folder) next to its weight shards' };

function parseModelJson(text: string, source: string): ModelJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${source} is not valid JSON (${(e as Error).message})`, 'give a model.json written by the TF.js converter or tf.LayersModel.save');
  }
  return checkModelJson(parsed, source);
}

/**
 * nsfwjs ships its models as browserify bundles: model.min.js exports the model.json object, and
 * each group1-shardKofN.min.js exports that shard's bytes as one base64 string (nsfwjs's own
 * JSONHandler decodes them the same way). They are CommonJS, so `require` reads them.
 */
function readNsfwjs(name: string): TfjsArtifacts {
  const known = NSFWJS_MODELS[name];
  const hint = `nsfwjs models: ${Object.keys(NSFWJS_MODELS).map((m) => `${NSFWJS_PREFIX}${m}`).join(', ')}`;
  if (!known) throw new UserError(`unknown nsfwjs model '${name}'`, hint);
  const require = createRequire(import.meta.url);
  let modelsDir: string;
  try {
    // dist/cjs/index.js → dist/models; the bundles are not in the package's export map.
    modelsDir = join(dirname(require.resolve('nsfwjs')), '..', 'models', name);
  } catch {
    throw new UserError('the nsfwjs package is not installed', 'npm install nsfwjs');
  }
  const source = `${NSFWJS_PREFIX}${name}`;
  const modelJson = checkModelJson(bundleExport(require, join(modelsDir, 'model.min.js')), source);
  const shards: Buffer[] = [];
  for (let k = 1; k <= known.shards; k++) {
    const base64 = bundleExport(require, join(modelsDir, `group1-shard${k}of${known.shards}.min.js`));
    if (typeof base64 !== 'string') throw new UserError(`${source}: weight shard ${k} is not a base64 string`, 'reinstall nsfwjs');
    shards.push(Buffer.from(base64, 'base64'));
  }
  const weightData = standalone(Buffer.concat(shards));
  return { source, modelJson, weights: decodeWeights(modelJson.weightsManifest ?? [], weightData, source), weightData };
}

function bundleExport(require: NodeRequire, path: string): unknown {
  if (!existsSync(path)) throw new UserError(`nsfwjs has no file ${path}`, 'install nsfwjs 4.x, which bundles its models under dist/models');
  const m = require(path) as { default?: unknown } | unknown;
  return m && typeof m === 'object' && 'default' in m ? (m as { default: unknown }).default : m;
}

/** A Uint8Array that owns its whole ArrayBuffer (a small Buffer is a view into Node's shared pool). */
function standalone(bytes: Buffer): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes);
}
