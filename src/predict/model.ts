/**
 * One engine's latency model on one machine, as plain data: its fusion signatures, a ridge model
 * per kernel class (ln ms on log shape features), a fallback model over every kernel for a class
 * it never sampled, a local correction from the nearest stored samples (KernelCorrection), and a
 * network model that turns the sum of kernel times (taken under the profiler, which inflates each
 * kernel by a roughly constant amount) into unprofiled latency:
 *   latency ≈ a + b · Σ kernel ms + c · kernels.
 */
import { analyzeGraph } from '../analysis/index.js';
import type { Graph } from '../ir/index.js';
import { decompose, type FusionRules, type Kernel, type KernelClass, type KernelShape } from './kernels.js';
import { evaluate, fitRidge, type LinearModel } from './regression.js';

export interface NetworkModel {
  interceptMs: number;
  /** Multiplies the sum of kernel predictions. */
  kernelSumScale: number;
  /** Added per kernel, ms (negative: the profiler's per-kernel overhead taken back out). */
  perKernelMs: number;
}

/**
 * One timed kernel sample as a neighbour: its features standardised as its class model has
 * them, how far its ln(ms) lies from the class model (the residual), and the probe it came from.
 */
export interface Neighbour {
  x: number[];
  /** The fusion signature of the sample's kernel. */
  signature: string;
  residual: number;
  probe: number;
}

/**
 * The local correction to a class model: a kernel's predicted ln(ms) moves by the weighted mean
 * residual of its `k` nearest samples. A ridge law over log features gets the trend; the steps it
 * cannot draw (a channel count that blocks well, a size that leaves the cache) show as the
 * residuals of nearby samples. The samples are the stored probes: the correction is data too.
 */
export interface KernelCorrection {
  /** Neighbours averaged; 0 turns the correction off. */
  k: number;
  byClass: ReadonlyMap<KernelClass, readonly Neighbour[]>;
  /**
   * The same samples by fusion signature: a kernel's neighbours are of its own signature where it
   * has at least k of them (a Conv alone and a Conv+BN+ReLU of one shape are not alike).
   */
  bySignature: ReadonlyMap<string, readonly Neighbour[]>;
}

export const NO_CORRECTION: KernelCorrection = { k: 0, byClass: new Map(), bySignature: new Map() };

/** The samples a kernel's correction averages over: its signature's, else its class's. */
export function neighbourPool(correction: KernelCorrection, kernelClass: KernelClass, signature: string): readonly Neighbour[] | undefined {
  const own = correction.bySignature.get(signature);
  return own && own.length >= correction.k ? own : correction.byClass.get(kernelClass);
}

export interface EngineLatencyModel {
  fingerprint: string;
  /** The engine as calibrated, e.g. 'ort' or 'torch'. */
  engine: string;
  engineVersion: string;
  fusion: FusionRules;
  kernels: ReadonlyMap<KernelClass | 'fallback', LinearModel>;
  correction: KernelCorrection;
  network: NetworkModel;
  /** Probes the model was fitted on, and when. */
  probes: number;
  fittedAt: string;
}

export interface PredictedKernel extends Kernel {
  ms: number;
  /** The class model used: the kernel's own, or 'fallback'. */
  modelClass: KernelClass | 'fallback';
}

export interface Prediction {
  engine: string;
  batch: number;
  /** Predicted unprofiled latency of one run at the batch, ms (times the speed scale). */
  latencyMs: number;
  /** The speed check's drift the latency was multiplied by (speed-check.ts); 1 without one. */
  speedScale: number;
  /** Σ kernel predictions (profiler time scale), ms. */
  kernelSumMs: number;
  kernels: PredictedKernel[];
  macs: number;
  params: number;
}

const ln = (x: number) => Math.log(Math.max(x, 1));

/** The features each class is fitted on; names are stored with the coefficients. */
export const CLASS_FEATURES: Record<KernelClass | 'fallback', (keyof KernelShape | DerivedFeature)[]> = {
  conv: ['macs', 'macs2', 'bytes', 'channelsIn', 'channelsOut', 'spatialOut', 'kernelArea', 'stride', 'batch', 'fusedAdd', 'fusedActivation', 'channelsAligned', 'inAligned16', 'outAligned16'],
  conv1x1: ['macs', 'macs2', 'bytes', 'channelsIn', 'channelsOut', 'spatialOut', 'stride', 'batch', 'fusedAdd', 'fusedActivation', 'channelsAligned', 'inAligned16', 'outAligned16'],
  dwconv: ['macs', 'macs2', 'bytes', 'channelsOut', 'spatialOut', 'kernelArea', 'stride', 'batch', 'fusedAdd', 'fusedActivation', 'channelsAligned'],
  gconv: ['macs', 'macs2', 'bytes', 'channelsIn', 'channelsOut', 'spatialOut', 'kernelArea', 'groups', 'stride', 'batch', 'fusedActivation', 'channelsAligned', 'outAligned16'],
  gemm: ['macs', 'bytes', 'channelsIn', 'channelsOut', 'batch'],
  maxpool: ['bytes', 'outputElements', 'channelsOut', 'spatialOut', 'kernelArea', 'stride', 'batch'],
  avgpool: ['bytes', 'outputElements', 'channelsOut', 'spatialOut', 'kernelArea', 'stride', 'batch'],
  gap: ['bytes', 'outputElements', 'channelsOut', 'batch'],
  batchnorm: ['bytes', 'outputElements', 'channelsOut', 'spatialOut', 'batch', 'fusedActivation', 'afterGrouped'],
  activation: ['bytes', 'outputElements', 'channelsOut', 'spatialOut', 'batch', 'afterGrouped'],
  binary: ['bytes', 'outputElements', 'channelsOut', 'spatialOut', 'batch', 'fusedActivation'],
  reshape: ['bytes', 'batch'],
  data: ['bytes', 'outputElements', 'batch'],
  fallback: ['macs', 'bytes', 'outputElements', 'batch'],
};

/**
 * Features computed from a shape rather than stored with it (so samples stored before them have
 * them too): ln(MACs)², and whether the input and the output channels are each a multiple of 16.
 * Alone, each steps the speed as much as both together: measured on torch (oneDNN), a stem
 * convolution 3→40 at 224 × 224 ran in 0.40 ms and 3→48 in 1.87 ms, 3→24 in 0.29 ms and 3→32 in
 * 1.26 ms, while `channelsAligned` is 0 for every stem (3 input channels).
 */
export type DerivedFeature = 'macs2' | 'inAligned16' | 'outAligned16';

/** Counts and 0/1 flags enter as they are; sizes as logarithms. */
const LINEAR = new Set(['fusedAdd', 'fusedActivation', 'channelsAligned', 'afterGrouped']);

export function featureVector(names: readonly string[], s: KernelShape): number[] {
  return names.map((name) => {
    if (name === 'macs2') return ln(s.macs) ** 2;
    if (name === 'inAligned16') return s.channelsIn % 16 === 0 ? 1 : 0;
    if (name === 'outAligned16') return s.channelsOut % 16 === 0 ? 1 : 0;
    // A flag a sample stored before it existed lacks reads as 0.
    const v = s[name as keyof KernelShape] ?? 0;
    return LINEAR.has(name) ? v : ln(v);
  });
}

/** One timed kernel from a probe's profile. */
export interface KernelSample {
  kernelClass: KernelClass;
  signature: string;
  shape: KernelShape;
  ms: number;
}

/** Fewer samples than this (per feature) and a class is left to the fallback model. */
const SAMPLES_PER_FEATURE = 2;

/** Fits one ridge model per class with enough samples, and the fallback over all of them. */
export function fitKernelModels(samples: readonly KernelSample[]): Map<KernelClass | 'fallback', LinearModel> {
  const models = new Map<KernelClass | 'fallback', LinearModel>();
  const fit = (cls: KernelClass | 'fallback', rows: readonly KernelSample[]) => {
    const names = CLASS_FEATURES[cls];
    if (rows.length < Math.max(4, SAMPLES_PER_FEATURE * names.length)) return;
    models.set(cls, fitRidge(names, rows.map((r) => featureVector(names, r.shape)), rows.map((r) => Math.log(r.ms))));
  };
  const byClass = new Map<KernelClass, KernelSample[]>();
  for (const s of samples) byClass.set(s.kernelClass, [...(byClass.get(s.kernelClass) ?? []), s]);
  for (const [cls, rows] of byClass) fit(cls, rows);
  fit('fallback', samples);
  return models;
}

export function predictKernelMs(
  models: EngineLatencyModel['kernels'],
  kernel: Pick<KernelSample, 'kernelClass' | 'signature' | 'shape'>,
  correction: KernelCorrection = NO_CORRECTION,
  excludeProbe = -1,
): { ms: number; modelClass: KernelClass | 'fallback' } {
  const { kernelClass, shape } = kernel;
  const own = models.get(kernelClass);
  const modelClass = own ? kernelClass : 'fallback';
  const m = own ?? models.get('fallback');
  if (!m) return { ms: 0, modelClass };
  const features = featureVector(m.featureNames, shape);
  const neighbours = own && correction.k > 0 ? neighbourPool(correction, kernelClass, kernel.signature) : undefined;
  const shift = neighbours ? neighbourShift(standardised(m, features), neighbours, correction.k, excludeProbe) : 0;
  return { ms: Math.exp(evaluate(m, features) + shift), modelClass };
}

export function standardised(m: LinearModel, features: readonly number[]): number[] {
  return features.map((v, j) => (v - m.means[j]!) / m.scales[j]!);
}

/** Distance in standardised features that an exact match is treated as: no one sample takes all the weight. */
const NEAR = 0.05;

/** The k nearest neighbours of x (a probe's own samples left out), nearest first: distance and residual. */
export function nearestNeighbours(x: readonly number[], neighbours: readonly Neighbour[], k: number, excludeProbe = -1): { d: number; r: number }[] {
  const best: { d: number; r: number }[] = [];
  if (k < 1) return best;
  for (const n of neighbours) {
    if (n.probe === excludeProbe) continue;
    let d2 = 0;
    for (let j = 0; j < x.length; j++) d2 += (n.x[j]! - x[j]!) ** 2;
    if (best.length === k && d2 >= best[k - 1]!.d) continue;
    best.push({ d: d2, r: n.residual });
    best.sort((a, b) => a.d - b.d);
    if (best.length > k) best.pop();
  }
  return best.map((b) => ({ d: Math.sqrt(b.d), r: b.r }));
}

/** The weighted mean residual (weights 1 / (distance + NEAR)) of the first k of `nearest`. */
export function shiftOfNearest(nearest: readonly { d: number; r: number }[], k: number): number {
  let weights = 0;
  let sum = 0;
  for (const b of nearest.slice(0, k)) {
    const w = 1 / (b.d + NEAR);
    weights += w;
    sum += w * b.r;
  }
  return weights ? sum / weights : 0;
}

/** The local correction of x: the weighted mean residual of its k nearest neighbours, leaving out one probe's own samples. */
export function neighbourShift(x: readonly number[], neighbours: readonly Neighbour[], k: number, excludeProbe = -1): number {
  return shiftOfNearest(nearestNeighbours(x, neighbours, k, excludeProbe), k);
}

/** Every sample as a neighbour of its class model (classes left to the fallback get none), by class and by signature. */
export function neighboursOf(models: EngineLatencyModel['kernels'], samples: readonly (KernelSample & { probe: number })[], k: number): KernelCorrection {
  const byClass = new Map<KernelClass, Neighbour[]>();
  const bySignature = new Map<string, Neighbour[]>();
  for (const s of samples) {
    const m = models.get(s.kernelClass);
    if (!m || !(s.ms > 0)) continue;
    const features = featureVector(m.featureNames, s.shape);
    const n: Neighbour = { x: standardised(m, features), signature: s.signature, residual: Math.log(s.ms) - evaluate(m, features), probe: s.probe };
    const ofClass = byClass.get(s.kernelClass) ?? [];
    const ofSignature = bySignature.get(s.signature) ?? [];
    ofClass.push(n);
    ofSignature.push(n);
    byClass.set(s.kernelClass, ofClass);
    bySignature.set(s.signature, ofSignature);
  }
  return { k, byClass, bySignature };
}

/** One probe network's totals: what the network model is fitted on. */
export interface NetworkSample {
  kernelSumMs: number;
  kernels: number;
  measuredMs: number;
}

/** Weighted least squares of measured ms on (Σ kernel ms, kernel count), weights 1/measured²: relative error. */
export function fitNetworkModel(rows: readonly NetworkSample[]): NetworkModel {
  if (rows.length < 3) return { interceptMs: 0, kernelSumScale: 1, perKernelMs: 0 };
  const m = fitRidge(['kernelSumMs', 'kernels'], rows.map((r) => [r.kernelSumMs, r.kernels]), rows.map((r) => r.measuredMs), rows.map((r) => 1 / r.measuredMs ** 2), 1e-6);
  const [b, c] = [m.coefficients[0]! / m.scales[0]!, m.coefficients[1]! / m.scales[1]!];
  return { interceptMs: m.intercept - b * m.means[0]! - c * m.means[1]!, kernelSumScale: b, perKernelMs: c };
}

export function networkLatencyMs(n: NetworkModel, kernelSumMs: number, kernels: number): number {
  return n.interceptMs + n.kernelSumScale * kernelSumMs + n.perKernelMs * kernels;
}

/** The predicted latency of a graph at a batch on the engine the model was fitted for, with its kernels. */
export function predictGraph(model: EngineLatencyModel, graph: Graph, batch: number, speedScale = 1): Prediction {
  const cost = analyzeGraph(graph, { batch });
  const kernels = decompose(graph, cost, model.fusion).map((k): PredictedKernel => ({ ...k, ...predictKernelMs(model.kernels, k, model.correction) }));
  const kernelSumMs = kernels.reduce((a, k) => a + k.ms, 0);
  return {
    engine: model.engine,
    batch,
    latencyMs: networkLatencyMs(model.network, kernelSumMs, kernels.length) * speedScale,
    speedScale,
    kernelSumMs,
    kernels,
    macs: cost.macs,
    params: cost.uniqueParams,
  };
}
