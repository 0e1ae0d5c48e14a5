/** Running a TF.js model in TF.js itself and its import in onnxruntime, for agreement tests. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';
import { createSession, allOptimisationsAllCores, runFloat32 } from '../src/engines/ort-runtime.js';
import type { Graph } from '../src/ir/index.js';
import { toOnnxBytes } from '../src/onnx/index.js';
import type { TfjsArtifacts } from '../src/tfjs-graph/index.js';
import { Rng } from '../src/weights/index.js';

export function seededUniform(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed, 'tfjs-test-input');
  return Float32Array.from({ length: n }, () => rng.uniform() * scale);
}

/**
 * TF.js's own execution of the artifacts (graph-model or layers-model) from memory, every output
 * in the model's order. `int32` feeds the input as TF's int32 (an image model's uint8 pixels).
 */
export async function runInTfjs(art: TfjsArtifacts, data: Float32Array, shape: number[], options: { int32?: boolean } = {}): Promise<Float32Array[]> {
  await tf.setBackend('cpu');
  const handler = {
    load: async () => ({
      modelTopology: art.modelJson.modelTopology as object,
      ...(art.modelJson.format ? { format: art.modelJson.format } : {}),
      ...(art.modelJson.userDefinedMetadata ? { userDefinedMetadata: art.modelJson.userDefinedMetadata as Record<string, object> } : {}),
      ...(art.modelJson.signature ? { signature: art.modelJson.signature as object } : {}),
      weightSpecs: (art.modelJson.weightsManifest ?? []).flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
      weightData: art.weightData.slice().buffer,
    }),
  };
  const x = options.int32 ? tf.tensor(Int32Array.from(data), shape, 'int32') : tf.tensor(data, shape);
  const isGraph = Array.isArray((art.modelJson.modelTopology as { node?: unknown }).node);
  let ys: tf.Tensor | tf.Tensor[];
  if (isGraph) {
    const model = await loadGraphModel(handler);
    ys = await model.executeAsync(x);
    model.dispose();
  } else {
    const model = await tfl.loadLayersModel(handler);
    ys = model.predict(x) as tf.Tensor | tf.Tensor[];
    model.dispose();
  }
  const list = Array.isArray(ys) ? ys : [ys];
  const out = await Promise.all(list.map(async (y) => Float32Array.from(await y.data())));
  tf.dispose([x, ...list]);
  return out;
}

/** The imported graph run once in onnxruntime (CPU, all optimisations): every output, as float32 (integer outputs converted). */
export async function runInOrt(graph: Graph, data: Float32Array, shape: number[]): Promise<Float32Array[]> {
  const session = await createSession(toOnnxBytes(graph, { batch: shape[0] }), allOptimisationsAllCores());
  try {
    const names = graph.outputs.map((o) => o.name);
    const results = await runFloat32(session, { name: graph.inputs[0]!.name, dims: shape, data }, names);
    return names.map((n) => Float32Array.from(results.get(n)! as unknown as ArrayLike<number | bigint>, Number));
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`outputs differ in length: ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

export const HUMAN = 'node_modules/@vladmandic/human/models';
export const UPSCALER = 'node_modules/@upscalerjs';

/**
 * Trained TF.js models as their authors publish them in npm packages (dev dependencies): the
 * corpus the slow tier checks against TF.js, on the engines and on LiteRT. `refused`: the
 * importer refuses it with that reason. (@upscalerjs/default-model is left out: its files are
 * byte for byte esrgan-slim's x2.)
 */
export interface CorpusModel {
  spec: string;
  /** Pixel values: [0, 1) by default; 255 for models fed uint8-range images. */
  scale?: number;
  int32?: boolean;
  refused?: RegExp;
}

export const CORPUS: CorpusModel[] = [
  { spec: 'nsfwjs:mobilenet_v2' },
  { spec: 'nsfwjs:mobilenet_v2_mid' },
  { spec: 'nsfwjs:inception_v3' },
  { spec: `${HUMAN}/antispoof.json` },
  { spec: `${HUMAN}/blazeface.json` },
  { spec: `${HUMAN}/centernet.json` },
  { spec: `${HUMAN}/emotion.json` },
  { spec: `${HUMAN}/facemesh.json` },
  { spec: `${HUMAN}/faceres.json` },
  { spec: `${HUMAN}/handlandmark-lite.json` },
  { spec: `${HUMAN}/handtrack.json`, refused: /loop/ },
  { spec: `${HUMAN}/iris.json` },
  { spec: `${HUMAN}/liveness.json` },
  { spec: `${HUMAN}/movenet-lightning.json`, scale: 255, int32: true },
  { spec: `${UPSCALER}/esrgan-slim/models/x2/model.json@32x32`, scale: 255 },
  { spec: `${UPSCALER}/esrgan-slim/models/x3/model.json@32x32`, scale: 255 },
  { spec: `${UPSCALER}/esrgan-slim/models/x4/model.json@32x32`, scale: 255 },
  { spec: `${UPSCALER}/esrgan-slim/models/x8/model.json@32x32`, scale: 255 },
];
