/**
 * From stored probes to a stored model and back: the kernel samples of every probe fit a ridge
 * model per kernel class, the probes' totals fit the network model, and the fusion signatures
 * are counted; the result is rows of coefficients (store/calibration.ts), read back into an
 * EngineLatencyModel only on the machine and engine version they were fitted for.
 */
import { UserError } from '../errors.js';
import type { StoredFusionRule, StoredLatencyModel, StoredProbe } from '../store/index.js';
import type { KernelClass } from './kernels.js';
import { fitKernelModels, fitNetworkModel, predictKernelMs, type EngineLatencyModel, type KernelSample, type NetworkSample } from './model.js';
import type { LinearModel } from './regression.js';
import { medianOf } from './accuracy.js';

export function probeSamples(probes: readonly StoredProbe[]): KernelSample[] {
  return probes.filter((p) => p.status === 'ok').flatMap((p) => p.kernels as KernelSample[]).filter((k) => k.ms > 0);
}

/** Fits the whole model of one engine from its probes. */
export function fitEngineModel(fingerprint: string, engine: string, engineVersion: string, probes: readonly StoredProbe[], fittedAt = new Date().toISOString()): EngineLatencyModel {
  const ok = probes.filter((p) => p.status === 'ok' && p.unprofiledMedianMs !== null);
  const samples = probeSamples(ok);
  const kernels = fitKernelModels(samples);
  const fusion = new Map<string, number>();
  for (const s of samples) fusion.set(s.signature, (fusion.get(s.signature) ?? 0) + 1);
  const networkRows: NetworkSample[] = ok.map((p) => {
    const ks = (p.kernels as KernelSample[]).filter((k) => k.ms > 0);
    return { kernelSumMs: ks.reduce((a, k) => a + predictKernelMs(kernels, k.kernelClass, k.shape).ms, 0), kernels: ks.length, measuredMs: p.unprofiledMedianMs! };
  });
  return { fingerprint, engine, engineVersion, fusion, kernels, network: fitNetworkModel(networkRows), probes: ok.length, fittedAt };
}

/** In-sample fit quality per class: samples and median |error| (what adaptive sampling refines). */
export function classErrors(model: Pick<EngineLatencyModel, 'kernels'>, samples: readonly KernelSample[]): Map<KernelClass, { samples: number; mdape: number; worst: KernelSample[] }> {
  const byClass = new Map<KernelClass, { s: KernelSample; e: number }[]>();
  for (const s of samples) {
    const e = Math.abs(predictKernelMs(model.kernels, s.kernelClass, s.shape).ms / s.ms - 1);
    byClass.set(s.kernelClass, [...(byClass.get(s.kernelClass) ?? []), { s, e }]);
  }
  const out = new Map<KernelClass, { samples: number; mdape: number; worst: KernelSample[] }>();
  for (const [cls, rows] of byClass) {
    const sorted = [...rows].sort((a, b) => b.e - a.e);
    out.set(cls, { samples: rows.length, mdape: medianOf(rows.map((r) => r.e)), worst: sorted.slice(0, Math.max(1, Math.ceil(rows.length / 4))).map((r) => r.s) });
  }
  return out;
}

/** The model as store rows: one per kernel class (and 'fallback'), plus the 'network' row. */
export function modelRows(m: EngineLatencyModel, samples: readonly KernelSample[]): { models: StoredLatencyModel[]; rules: StoredFusionRule[] } {
  const count = (cls: string) => (cls === 'fallback' ? samples.length : samples.filter((s) => s.kernelClass === cls).length);
  const base = { fingerprint: m.fingerprint, engine: m.engine, engineVersion: m.engineVersion, probes: m.probes, fittedAt: m.fittedAt };
  const models: StoredLatencyModel[] = [...m.kernels].map(([cls, lm]) => ({ ...base, kernelClass: cls, featureNames: lm.featureNames, intercept: lm.intercept, coefficients: lm.coefficients, means: lm.means, scales: lm.scales, samples: count(cls) }));
  models.push({ ...base, kernelClass: 'network', featureNames: ['kernelSumMs', 'kernels'], intercept: m.network.interceptMs, coefficients: [m.network.kernelSumScale, m.network.perKernelMs], means: [0, 0], scales: [1, 1], samples: m.probes });
  return { models, rules: [...m.fusion].map(([signature, seen]) => ({ signature, seen })) };
}

/**
 * The stored model of an engine for this machine and engine version. Refuses, as a user error
 * with the reason, when there is none, when the only calibration is another machine's (its
 * fingerprint differs), or when it was made with another version of the engine.
 */
export function loadEngineModel(rows: readonly StoredLatencyModel[], rules: readonly StoredFusionRule[], engine: string, fingerprint: string, engineVersion: string): EngineLatencyModel {
  const ofEngine = rows.filter((r) => r.engine === engine);
  const hint = `run 'formbench calibrate --engines ${engine}' on this machine first (about 10 minutes)`;
  if (ofEngine.length === 0) throw new UserError(`no calibration of ${engine} in this store: predictions need a latency model fitted on this machine`, hint);
  const here = ofEngine.filter((r) => r.fingerprint === fingerprint);
  if (here.length === 0) {
    const other = [...new Set(ofEngine.map((r) => r.fingerprint))].join(', ');
    throw new UserError(`the calibration of ${engine} was made on another machine (fingerprint ${other}, this one is ${fingerprint}): its kernel times do not hold here`, hint);
  }
  const version = here[0]!.engineVersion;
  if (version !== engineVersion) throw new UserError(`the calibration of ${engine} was made with version ${version}, but ${engineVersion} is installed: kernels and fusion may have changed`, hint);
  const kernels = new Map<KernelClass | 'fallback', LinearModel>();
  let network: EngineLatencyModel['network'] | undefined;
  for (const r of here) {
    if (r.kernelClass === 'network') network = { interceptMs: r.intercept, kernelSumScale: r.coefficients[0]!, perKernelMs: r.coefficients[1]! };
    else kernels.set(r.kernelClass as KernelClass, { featureNames: r.featureNames, intercept: r.intercept, coefficients: r.coefficients, means: r.means, scales: r.scales });
  }
  if (!network) throw new UserError(`the calibration of ${engine} in this store is incomplete (no network model)`, hint);
  return { fingerprint, engine, engineVersion: version, fusion: new Map(rules.map((r) => [r.signature, r.seen])), kernels, network, probes: here[0]!.probes, fittedAt: here[0]!.fittedAt };
}
