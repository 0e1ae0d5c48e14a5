/**
 * One engine's latency model on one machine, as plain data: its fusion signatures, a ridge model
 * per kernel class (ln ms on log shape features), a fallback model over every kernel for a class
 * it never sampled, a local correction from the nearest stored samples (KernelCorrection), and a
 * network model that turns the sum of kernel times (taken under the profiler, which inflates each
 * kernel by a roughly constant amount) into unprofiled latency:
 *   latency ≈ a + b · Σ kernel ms + c · kernels.
 */
import { analyzeGraph } from '../analysis/index.js';
import { cpuInfo } from '../engines/cpu.js';
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
 * One timed kernel sample as a neighbour: where it lies (neighbourPosition), how far its ln(ms)
 * lies from its class model (the residual), and the probe it came from.
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
  /** The channel multiple the engine's blocked layouts pad to on this machine (neighbourPosition). */
  paddingUnit: number;
  byClass: ReadonlyMap<KernelClass, readonly Neighbour[]>;
  /**
   * The same samples by class and fusion signature (signatureKey): a kernel's neighbours are of
   * its own signature where it has at least k of them (a Conv alone and a Conv+BN+ReLU of one
   * shape are not alike). Keyed by class too: one signature spans classes (a Conv+BN+ReLU is a
   * conv, a conv1x1, a dwconv or a gconv), and each sample's residual is from its own class's
   * model. (Keyed by signature alone, a convolution's pool once mixed them, and their feature
   * vectors, then of different lengths, gave NaN distances that zeroed the correction.)
   */
  bySignature: ReadonlyMap<string, readonly Neighbour[]>;
}

export const NO_CORRECTION: KernelCorrection = { k: 0, paddingUnit: 16, byClass: new Map(), bySignature: new Map() };

/**
 * The channel multiple blocked layouts pad to on a CPU with these extensions (engines/cpu.ts):
 * one vector of floats, 16 with AVX-512, 8 with AVX2, else 4 (SSE, NEON).
 */
export function paddingUnitOf(isa: readonly string[]): number {
  return isa.includes('AVX-512F') ? 16 : isa.includes('AVX2') ? 8 : 4;
}

let machineUnit: number | undefined;
/** paddingUnitOf this machine's CPU. */
export function machinePaddingUnit(): number {
  return (machineUnit ??= paddingUnitOf(cpuInfo().isa));
}

/**
 * Where a kernel lies among its neighbours: its shape in log units, channels both as they are and
 * as the engine's blocked layout pads them (to paddingUnit), so that a kernel of 40 channels lies
 * close to one of 48 with 16-float vectors (they run the same blocks); a factor of two in a size
 * is 0.69 away, a flag that differs 1. Among the flags, whether channels in and out each fill the
 * blocks: padded alike is not run alike where an engine keeps the blocked layout for aligned
 * tensors only (ORT's max-pool of 72 channels at 56 × 56 took 0.21–0.27 ms in pattern networks, of
 * 80 channels a median 0.10 ms). The same for every class, unlike the class models' features.
 */
export function neighbourPosition(s: KernelShape, paddingUnit: number): number[] {
  const padded = (c: number) => Math.log(Math.max(1, Math.ceil(c / paddingUnit) * paddingUnit));
  const l = (v: number) => Math.log(Math.max(v, 1));
  const aligned = (c: number) => (c % paddingUnit === 0 ? 1 : 0);
  return [padded(s.channelsIn), padded(s.channelsOut), l(s.channelsIn), l(s.channelsOut), aligned(s.channelsIn), aligned(s.channelsOut), l(s.spatialOut), l(s.kernelArea), l(s.stride), l(s.batch), l(s.groups), s.fusedAdd, s.fusedActivation, s.afterGrouped ?? 0, s.repeated ?? 0, s.first ?? 0, s.sizeInNetwork ?? 0];
}

/** The key of KernelCorrection.bySignature. */
export function signatureKey(kernelClass: KernelClass, signature: string): string {
  return `${kernelClass}|${signature}`;
}

/** The samples a kernel's correction averages over: its signature's, else its class's. */
export function neighbourPool(correction: KernelCorrection, kernelClass: KernelClass, signature: string): readonly Neighbour[] | undefined {
  const own = correction.bySignature.get(signatureKey(kernelClass, signature));
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
  conv: ['macs', 'macs2', 'paddedMacs8', 'paddedMacs16', 'bytes', 'channelsIn', 'channelsOut', 'spatialOut', 'kernelArea', 'stride', 'batch', 'fusedAdd', 'fusedActivation', 'channelsAligned', 'inAligned16', 'outAligned16', 'repeated', 'first', 'sizeInNetwork'],
  conv1x1: ['macs', 'macs2', 'paddedMacs8', 'paddedMacs16', 'bytes', 'channelsIn', 'channelsOut', 'spatialOut', 'stride', 'batch', 'fusedAdd', 'fusedActivation', 'channelsAligned', 'inAligned16', 'outAligned16', 'repeated', 'first', 'sizeInNetwork'],
  dwconv: ['macs', 'macs2', 'paddedMacs8', 'paddedMacs16', 'bytes', 'channelsOut', 'spatialOut', 'kernelArea', 'stride', 'batch', 'fusedAdd', 'fusedActivation', 'channelsAligned', 'repeated', 'first', 'sizeInNetwork'],
  gconv: ['macs', 'macs2', 'paddedMacs8', 'paddedMacs16', 'bytes', 'channelsIn', 'channelsOut', 'spatialOut', 'kernelArea', 'groups', 'stride', 'batch', 'fusedActivation', 'channelsAligned', 'outAligned16', 'repeated', 'first', 'sizeInNetwork'],
  gemm: ['macs', 'bytes', 'channelsIn', 'channelsOut', 'batch'],
  maxpool: ['bytes', 'outputElements', 'paddedElements8', 'paddedElements16', 'channelsOut', 'spatialOut', 'kernelArea', 'stride', 'batch', 'repeated', 'first', 'sizeInNetwork'],
  avgpool: ['bytes', 'outputElements', 'paddedElements8', 'paddedElements16', 'channelsOut', 'spatialOut', 'kernelArea', 'stride', 'batch', 'repeated', 'first', 'sizeInNetwork'],
  gap: ['bytes', 'outputElements', 'channelsOut', 'batch'],
  batchnorm: ['bytes', 'outputElements', 'paddedElements8', 'paddedElements16', 'channelsOut', 'spatialOut', 'batch', 'fusedActivation', 'afterGrouped', 'repeated', 'first', 'sizeInNetwork'],
  activation: ['bytes', 'outputElements', 'paddedElements8', 'paddedElements16', 'channelsOut', 'spatialOut', 'batch', 'afterGrouped', 'repeated', 'first', 'sizeInNetwork'],
  binary: ['bytes', 'outputElements', 'paddedElements8', 'paddedElements16', 'channelsOut', 'spatialOut', 'batch', 'fusedActivation', 'repeated', 'first', 'sizeInNetwork'],
  reshape: ['bytes', 'batch'],
  data: ['bytes', 'outputElements', 'batch'],
  fallback: ['macs', 'bytes', 'outputElements', 'batch'],
};

/**
 * Features computed from a shape rather than stored with it (so samples stored before them have
 * them too): ln(MACs)², whether the input and the output channels are each a multiple of 16, and
 * the work as the engine's blocked layouts do it, channels padded to a multiple of 8 or of 16
 * (oneDNN's nChw16c and ORT's NCHWc pad them to the vector width: 16 floats with AVX-512, 8 with
 * AVX2; both are offered and the fit weighs them). The flags alone cannot draw the staircase:
 * measured on this project's VM (AVX-512), ORT's 3×3 convolution at 56 × 56 took 0.18 and
 * 0.19 ms at 28 and 32 channels, 0.41 and 0.38 ms at 36 and 48, 0.70 and 0.64 ms at 56 and 64
 * (medians of a calibration's pattern-network samples), a step every 16 channels that MACs alone draw as a smooth slope.
 * Alone, each flag steps the speed as much as both together: measured on torch (oneDNN), a stem
 * convolution 3→40 at 224 × 224 ran in 0.40 ms and 3→48 in 1.87 ms, 3→24 in 0.29 ms and 3→32 in
 * 1.26 ms, while `channelsAligned` is 0 for every stem (3 input channels).
 */
export type DerivedFeature = 'macs2' | 'inAligned16' | 'outAligned16' | 'paddedMacs8' | 'paddedMacs16' | 'paddedElements8' | 'paddedElements16';

/** How much a channel count grows when padded to a multiple of `unit`. */
const padding = (channels: number, unit: number) => (channels > 0 ? (Math.ceil(channels / unit) * unit) / channels : 1);

/** MACs with channels padded: a depthwise or grouped convolution pads its output channels only, the others both. */
function paddedMacs(s: KernelShape, unit: number): number {
  const grouped = s.groups > 1;
  return s.macs * padding(s.channelsOut, unit) * (grouped ? 1 : padding(s.channelsIn, unit));
}

/** Counts and 0/1 flags enter as they are; sizes as logarithms. */
const LINEAR = new Set(['fusedAdd', 'fusedActivation', 'channelsAligned', 'afterGrouped', 'repeated', 'first', 'sizeInNetwork']);

export function featureVector(names: readonly string[], s: KernelShape): number[] {
  return names.map((name) => {
    if (name === 'macs2') return ln(s.macs) ** 2;
    if (name === 'inAligned16') return s.channelsIn % 16 === 0 ? 1 : 0;
    if (name === 'outAligned16') return s.channelsOut % 16 === 0 ? 1 : 0;
    if (name === 'paddedMacs8') return ln(paddedMacs(s, 8));
    if (name === 'paddedMacs16') return ln(paddedMacs(s, 16));
    if (name === 'paddedElements8') return ln(s.outputElements * padding(s.channelsOut, 8));
    if (name === 'paddedElements16') return ln(s.outputElements * padding(s.channelsOut, 16));
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
  const shift = neighbours ? neighbourShift(neighbourPosition(shape, correction.paddingUnit), neighbours, correction.k, excludeProbe) : 0;
  return { ms: Math.exp(evaluate(m, features) + shift), modelClass };
}

/** Distance (neighbourPosition) that an exact match is treated as: no one sample takes all the weight. */
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
export function neighboursOf(models: EngineLatencyModel['kernels'], samples: readonly (KernelSample & { probe: number })[], k: number, paddingUnit = machinePaddingUnit()): KernelCorrection {
  const byClass = new Map<KernelClass, Neighbour[]>();
  const bySignature = new Map<string, Neighbour[]>();
  for (const s of samples) {
    const m = models.get(s.kernelClass);
    if (!m || !(s.ms > 0)) continue;
    const features = featureVector(m.featureNames, s.shape);
    const n: Neighbour = { x: neighbourPosition(s.shape, paddingUnit), signature: s.signature, residual: Math.log(s.ms) - evaluate(m, features), probe: s.probe };
    const ofClass = byClass.get(s.kernelClass) ?? [];
    const key = signatureKey(s.kernelClass, s.signature);
    const ofSignature = bySignature.get(key) ?? [];
    ofClass.push(n);
    ofSignature.push(n);
    byClass.set(s.kernelClass, ofClass);
    bySignature.set(key, ofSignature);
  }
  return { k, paddingUnit, byClass, bySignature };
}

/** One probe network's totals: what the network model is fitted on. */
export interface NetworkSample {
  kernelSumMs: number;
  kernels: number;
  measuredMs: number;
}

/**
 * Rows the three-parameter network model needs; with fewer it is one scale of the kernel sum.
 * Fitted on this project's VM to the first 3 probes of a seconds-long ort calibration, the
 * three-parameter law came out as 38.95 ms − 65.5 × Σ kernel ms − 112 µs × kernels; to the
 * first 4–6, with kernel-sum scales from −2.6 to 4.6.
 */
export const NETWORK_MODEL_MIN_ROWS = 10;

/**
 * Weighted least squares of measured ms on (Σ kernel ms, kernel count), weights 1/measured²:
 * relative error. With fewer than NETWORK_MODEL_MIN_ROWS rows, or where that law would not grow
 * with the kernels' time or would predict a fitted row at ≤ 0 ms, the latency is one scale of the
 * kernel sum (the same weights, through the origin): never a negative or zero prediction.
 */
export function fitNetworkModel(rows: readonly NetworkSample[]): NetworkModel {
  const usable = rows.filter((r) => r.kernelSumMs > 0 && r.measuredMs > 0);
  if (usable.length === 0) return { interceptMs: 0, kernelSumScale: 1, perKernelMs: 0 };
  // Σ w·m·s / Σ w·s² with w = 1/m²: the scale of least relative error.
  const proportional = (): NetworkModel => ({ interceptMs: 0, kernelSumScale: usable.reduce((a, r) => a + r.kernelSumMs / r.measuredMs, 0) / usable.reduce((a, r) => a + (r.kernelSumMs / r.measuredMs) ** 2, 0), perKernelMs: 0 });
  if (usable.length < NETWORK_MODEL_MIN_ROWS) return proportional();
  const m = fitRidge(['kernelSumMs', 'kernels'], usable.map((r) => [r.kernelSumMs, r.kernels]), usable.map((r) => r.measuredMs), usable.map((r) => 1 / r.measuredMs ** 2), 1e-6);
  const [b, c] = [m.coefficients[0]! / m.scales[0]!, m.coefficients[1]! / m.scales[1]!];
  const affine: NetworkModel = { interceptMs: m.intercept - b * m.means[0]! - c * m.means[1]!, kernelSumScale: b, perKernelMs: c };
  const sane = b > 0 && usable.every((r) => networkLatencyMs(affine, r.kernelSumMs, r.kernels) > 0);
  return sane ? affine : proportional();
}

export function networkLatencyMs(n: NetworkModel, kernelSumMs: number, kernels: number): number {
  return n.interceptMs + n.kernelSumScale * kernelSumMs + n.perKernelMs * kernels;
}

/** What a prediction is multiplied by: a factor, or one chosen by the unscaled latency (speed-check.ts: speedScaleAt). */
export type SpeedScale = number | ((unscaledMs: number) => number);

/** The predicted latency of a graph at a batch on the engine the model was fitted for, with its kernels. */
export function predictGraph(model: EngineLatencyModel, graph: Graph, batch: number, speed: SpeedScale = 1): Prediction {
  const cost = analyzeGraph(graph, { batch });
  const kernels = decompose(graph, cost, model.fusion).map((k): PredictedKernel => ({ ...k, ...predictKernelMs(model.kernels, k, model.correction) }));
  const kernelSumMs = kernels.reduce((a, k) => a + k.ms, 0);
  // The network model maps the kernel sum into the range it was fitted on; far outside it (a
  // network much smaller than every probe) its intercept could take the latency to ≤ 0 ms, and
  // the kernels' own sum is the estimate left.
  const mapped = networkLatencyMs(model.network, kernelSumMs, kernels.length);
  const unscaledMs = mapped > 0 ? mapped : kernelSumMs;
  const speedScale = typeof speed === 'number' ? speed : speed(unscaledMs);
  return {
    engine: model.engine,
    batch,
    latencyMs: unscaledMs * speedScale,
    speedScale,
    kernelSumMs,
    kernels,
    macs: cost.macs,
    params: cost.uniqueParams,
  };
}
