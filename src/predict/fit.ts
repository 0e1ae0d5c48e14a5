/**
 * From stored probes to a stored model and back: the kernel samples of every probe fit a ridge
 * model per kernel class and are kept as its neighbours for the local correction, the probes'
 * totals fit the network model, and the fusion signatures are counted; the result is rows of coefficients (store/calibration.ts), read back into an
 * EngineLatencyModel only on the machine and engine version they were fitted for.
 */
import { UserError } from '../errors.js';
import type { StoredFusionRule, StoredLatencyModel, StoredProbe } from '../store/index.js';
import { currentClassOf, markRunContext, type KernelClass } from './kernels.js';
import {
  featureVector,
  fitKernelModels,
  fitNetworkModel,
  nearestNeighbours,
  neighboursOf,
  networkLatencyMs,
  NO_CORRECTION,
  predictKernelMs,
  shiftOfNearest,
  neighbourPosition,
  signatureKey,
  type EngineLatencyModel,
  type KernelCorrection,
  type KernelSample,
  type NetworkModel,
  type NetworkSample,
} from './model.js';
import { evaluate } from './regression.js';
import type { LinearModel } from './regression.js';
import { medianOf } from './accuracy.js';
import type { Probe } from './probes.js';

export function probeSamples(probes: readonly StoredProbe[]): KernelSample[] {
  return probes.filter((p) => p.status === 'ok').flatMap(kernelsOf);
}

/**
 * A stored probe's timed kernel samples, each in its current class (kernels.ts: currentClassOf)
 * and with where it ran in its network (markRunContext); derived once per stored probe (a calibration refits after every
 * probe, over all of them).
 */
function kernelsOf(p: StoredProbe): KernelSample[] {
  let ks = derivedKernels.get(p);
  if (!ks) {
    ks = markRunContext((p.kernels as KernelSample[]).map((k) => ({ ...k, kernelClass: currentClassOf(k.kernelClass, k.signature) }))).filter((k) => k.ms > 0);
    derivedKernels.set(p, ks);
  }
  return ks;
}
const derivedKernels = new WeakMap<StoredProbe, KernelSample[]>();

/** The probes a model is fitted on: measured, with an unprofiled median. */
function usable(probes: readonly StoredProbe[]): StoredProbe[] {
  return probes.filter((p) => p.status === 'ok' && p.unprofiledMedianMs !== null);
}

/** Every usable probe's kernel samples, tagged with the probe's index (to leave a probe's own samples out). */
function taggedSamples(ok: readonly StoredProbe[]): (KernelSample & { probe: number })[] {
  return ok.flatMap((p, probe) => kernelsOf(p).map((k) => ({ ...k, probe })));
}

/** Pattern-network probes needed before they alone choose the model (fitEngineModel). */
const MIN_NETWORK_PROBES = 10;

/** Neighbour counts tried for the local correction (0: the class models alone). */
export const NEIGHBOUR_CANDIDATES = [0, 4, 8, 12, 20] as const;

/**
 * Fits the whole model of one engine from its probes. The neighbour count of the correction is
 * chosen by the probes themselves: each probe's latency is predicted with its own samples left
 * out, and the count with the smallest median |error| over the probes wins (0 when the
 * correction does not help), so no held-out network takes part in the choice.
 */
export function fitEngineModel(
  fingerprint: string,
  engine: string,
  engineVersion: string,
  probes: readonly StoredProbe[],
  fittedAt = new Date().toISOString(),
  o: { correction?: boolean } = {},
): EngineLatencyModel {
  const ok = usable(probes);
  const samples = probeSamples(ok);
  const kernels = fitKernelModels(samples);
  const fusion = new Map<string, number>();
  for (const s of samples) fusion.set(s.signature, (fusion.get(s.signature) ?? 0) + 1);
  const all = neighboursOf(kernels, taggedSamples(ok), 0);
  const candidates = o.correction === false ? [0] : [...NEIGHBOUR_CANDIDATES];
  const kMax = Math.max(...candidates);
  // Each probe kernel's class-model ln(ms) and nearest neighbours (its own probe's left out) among
  // its signature's samples and its class's, found once for every k.
  const probeKernels = ok.map((p, i) =>
    kernelsOf(p).map((x) => {
      const m = kernels.get(x.kernelClass) ?? kernels.get('fallback');
      const features = m ? featureVector(m.featureNames, x.shape) : [];
      const lnMs = m ? evaluate(m, features) : Number.NEGATIVE_INFINITY;
      const own = kernels.get(x.kernelClass) && m ? neighbourPosition(x.shape, all.paddingUnit) : undefined;
      const ofSignature = all.bySignature.get(signatureKey(x.kernelClass, x.signature)) ?? [];
      return {
        lnMs,
        signatureSamples: ofSignature.length,
        nearestOfSignature: own ? nearestNeighbours(own, ofSignature, kMax, i) : [],
        nearestOfClass: own ? nearestNeighbours(own, all.byClass.get(x.kernelClass) ?? [], kMax, i) : [],
      };
    }),
  );
  // The error that chooses is the pattern networks' where there are enough of them: networks are
  // what predictions are for, and a kernel in a chain of units does not run as one in a network.
  const isNetwork = ok.map((p) => Boolean((p.probe as Probe).network));
  const judged = isNetwork.filter(Boolean).length >= MIN_NETWORK_PROBES ? isNetwork : ok.map(() => true);
  let best: { correction: KernelCorrection; network: NetworkModel; error: number } | undefined;
  for (const k of candidates) {
    // As neighbourPool chooses: the signature's samples where it has k of them.
    const shiftOf = (x: (typeof probeKernels)[number][number]) => shiftOfNearest(x.signatureSamples >= k ? x.nearestOfSignature : x.nearestOfClass, k);
    const rows: NetworkSample[] = ok.map((p, i) => ({
      kernelSumMs: probeKernels[i]!.reduce((a, x) => a + Math.exp(x.lnMs + shiftOf(x)), 0),
      kernels: probeKernels[i]!.length,
      measuredMs: p.unprofiledMedianMs!,
    }));
    const judgedRows = rows.filter((_, i) => judged[i]);
    // The network model from every probe, or from the judged ones alone: whichever errs less on them.
    const bases = judgedRows.length === rows.length ? [rows] : [rows, judgedRows];
    for (const network of bases.map(fitNetworkModel)) {
      const error = judgedRows.length ? medianOf(judgedRows.map((r) => Math.abs(networkLatencyMs(network, r.kernelSumMs, r.kernels) / r.measuredMs - 1))) : 0;
      if (!best || error < best.error) best = { correction: { ...all, k }, network, error };
    }
  }
  return { fingerprint, engine, engineVersion, fusion, kernels, correction: best!.correction, network: best!.network, probes: ok.length, fittedAt };
}

/** In-sample fit quality per class: samples and median |error| (what adaptive sampling refines). */
export function classErrors(model: Pick<EngineLatencyModel, 'kernels'>, samples: readonly KernelSample[]): Map<KernelClass, { samples: number; mdape: number; worst: KernelSample[] }> {
  const byClass = new Map<KernelClass, { s: KernelSample; e: number }[]>();
  for (const s of samples) {
    const e = Math.abs(predictKernelMs(model.kernels, s).ms / s.ms - 1);
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
  // The network row also carries the correction's neighbour count (its neighbours are the stored probes).
  models.push({ ...base, kernelClass: 'network', featureNames: ['kernelSumMs', 'kernels', 'neighbours'], intercept: m.network.interceptMs, coefficients: [m.network.kernelSumScale, m.network.perKernelMs, m.correction.k], means: [0, 0, 0], scales: [1, 1, 1], samples: m.probes });
  return { models, rules: [...m.fusion].map(([signature, seen]) => ({ signature, seen })) };
}

/**
 * The stored model of an engine for this machine and engine version. Refuses, as a user error
 * with the reason, when there is none, when the only calibration is another machine's (its
 * fingerprint differs), or when it was made with another version of the engine.
 */
export function loadEngineModel(rows: readonly StoredLatencyModel[], rules: readonly StoredFusionRule[], engine: string, fingerprint: string, engineVersion: string, probes: readonly StoredProbe[] = []): EngineLatencyModel {
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
  let k = 0;
  for (const r of here) {
    if (r.kernelClass === 'network') {
      network = { interceptMs: r.intercept, kernelSumScale: r.coefficients[0]!, perKernelMs: r.coefficients[1]! };
      // A calibration stored before the correction existed has no neighbour count: none.
      k = r.featureNames[2] === 'neighbours' ? r.coefficients[2]! : 0;
    }
    else kernels.set(r.kernelClass as KernelClass, { featureNames: r.featureNames, intercept: r.intercept, coefficients: r.coefficients, means: r.means, scales: r.scales });
  }
  if (!network) throw new UserError(`the calibration of ${engine} in this store is incomplete (no network model)`, hint);
  const ok = usable(probes);
  if (k > 0 && ok.length !== here[0]!.probes) throw new UserError(`the calibration of ${engine} was fitted on ${here[0]!.probes} probes, but the store holds ${ok.length}`, hint);
  const correction: KernelCorrection = k > 0 ? neighboursOf(kernels, taggedSamples(ok), k) : NO_CORRECTION;
  return { fingerprint, engine, engineVersion: version, fusion: new Map(rules.map((r) => [r.signature, r.seen])), kernels, correction, network, probes: here[0]!.probes, fittedAt: here[0]!.fittedAt };
}
