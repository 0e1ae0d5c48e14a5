/**
 * One engine's latency model on one machine, as plain data: its fusion signatures, a ridge model
 * per kernel class (ln ms on log shape features), a fallback model over every kernel for a class
 * it never sampled, and a network model that turns the sum of kernel times (taken under the
 * profiler, which inflates each kernel by a roughly constant amount) into unprofiled latency:
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

export interface EngineLatencyModel {
  fingerprint: string;
  /** The engine as calibrated, e.g. 'ort' or 'torch'. */
  engine: string;
  engineVersion: string;
  fusion: FusionRules;
  kernels: ReadonlyMap<KernelClass | 'fallback', LinearModel>;
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
  /** Predicted unprofiled latency of one run at the batch, ms. */
  latencyMs: number;
  /** Σ kernel predictions (profiler time scale), ms. */
  kernelSumMs: number;
  kernels: PredictedKernel[];
  macs: number;
  params: number;
}

const ln = (x: number) => Math.log(Math.max(x, 1));

/** The features each class is fitted on; names are stored with the coefficients. */
export const CLASS_FEATURES: Record<KernelClass | 'fallback', (keyof KernelShape | 'macs2')[]> = {
  conv: ['macs', 'macs2', 'bytes', 'channelsIn', 'channelsOut', 'spatialOut', 'kernelArea', 'stride', 'batch', 'fusedAdd', 'fusedActivation', 'channelsAligned'],
  conv1x1: ['macs', 'macs2', 'bytes', 'channelsIn', 'channelsOut', 'spatialOut', 'stride', 'batch', 'fusedAdd', 'fusedActivation', 'channelsAligned'],
  dwconv: ['macs', 'macs2', 'bytes', 'channelsOut', 'spatialOut', 'kernelArea', 'stride', 'batch', 'fusedAdd', 'fusedActivation', 'channelsAligned'],
  gconv: ['macs', 'macs2', 'bytes', 'channelsIn', 'channelsOut', 'spatialOut', 'kernelArea', 'groups', 'stride', 'batch', 'fusedActivation', 'channelsAligned'],
  gemm: ['macs', 'bytes', 'channelsIn', 'channelsOut', 'batch'],
  pool: ['bytes', 'outputElements', 'kernelArea', 'stride', 'batch'],
  gap: ['bytes', 'outputElements', 'channelsOut', 'batch'],
  elementwise: ['bytes', 'outputElements', 'batch', 'fusedActivation'],
  reshape: ['bytes', 'batch'],
  data: ['bytes', 'outputElements', 'batch'],
  fallback: ['macs', 'bytes', 'outputElements', 'batch'],
};

/** Counts and 0/1 flags enter as they are; sizes as logarithms. */
const LINEAR = new Set(['fusedAdd', 'fusedActivation', 'channelsAligned']);

export function featureVector(names: readonly string[], s: KernelShape): number[] {
  return names.map((name) => {
    if (name === 'macs2') return ln(s.macs) ** 2;
    const v = s[name as keyof KernelShape];
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

export function predictKernelMs(models: EngineLatencyModel['kernels'], kernelClass: KernelClass, shape: KernelShape): { ms: number; modelClass: KernelClass | 'fallback' } {
  const own = models.get(kernelClass);
  const modelClass = own ? kernelClass : 'fallback';
  const m = own ?? models.get('fallback');
  if (!m) return { ms: 0, modelClass };
  return { ms: Math.exp(evaluate(m, featureVector(m.featureNames, shape))), modelClass };
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
export function predictGraph(model: EngineLatencyModel, graph: Graph, batch: number): Prediction {
  const cost = analyzeGraph(graph, { batch });
  const kernels = decompose(graph, cost, model.fusion).map((k): PredictedKernel => ({ ...k, ...predictKernelMs(model.kernels, k.kernelClass, k.shape) }));
  const kernelSumMs = kernels.reduce((a, k) => a + k.ms, 0);
  return {
    engine: model.engine,
    batch,
    latencyMs: networkLatencyMs(model.network, kernelSumMs, kernels.length),
    kernelSumMs,
    kernels,
    macs: cost.macs,
    params: cost.uniqueParams,
  };
}
