/**
 * `formbench calibrate`: samples kernel configurations on this machine and fits each engine's
 * latency model. Kernels are timed in the worker protocol by profiling whole probe networks
 * (profile-worker.ts: the unprofiled median with the timing protocol, then the engine's own
 * per-kernel profile, mapped back to IR nodes) and attributing each kernel's time from the
 * profile. Sampling starts space-filling, then goes adaptive: each next probe is aimed at the
 * kernel class whose model errs most (scaled down as its samples grow), near its worst-predicted
 * samples. Probes are stored as they finish, so a re-run continues where the last one stopped.
 */
import { analyzeGraph } from '../analysis/index.js';
import { availabilityOf, type EngineChoice } from '../engines/index.js';
import { producers, topologicalOrder, type Graph } from '../ir/index.js';
import { INPUT_SEED, median, type Environment, type TimingBudget } from '../measure/index.js';
import { runProfileWorker } from '../measure/profile.js';
import { withPreparedModel } from '../measure/prepared.js';
import type { CalibrationTables, StoredProbe } from '../store/index.js';
import { classErrors, fitEngineModel, modelRows, probeSamples } from './fit.js';
import { kernelClassOf, kernelShape, layerCosts, signatureOf, type KernelClass } from './kernels.js';
import { networkLatencyMs, predictKernelMs, type EngineLatencyModel, type KernelSample } from './model.js';
import { buildProbe, networkProbes, probeKey, PROBE_MAX_MACS, PROBE_MIN_MACS, sampleProbe, seededRandom, type Probe, type ProbeFocus } from './probes.js';

/** A probe's unprofiled timing sets the total its profile's kernels share (attributed below): short, but the protocol's. */
export const PROBE_BUDGET: TimingBudget = { targetCiRelative: 0.03, timedBudgetMs: 400, warmupBudgetMs: 250, minRuns: 5, maxRuns: 400 };
/** Profiled runs per probe (after one unrecorded). */
export const PROBE_PROFILE_RUNS = 12;
/** Space-filling probes before sampling turns adaptive. */
export const INITIAL_PROBES = 16;
const PROBE_TIMEOUT_MS = 90_000;
/** Kept free at the end of each engine's share of the time for fitting and storing its model: at most this, and this share of it. */
const FIT_ALLOWANCE_MS = 4_000;
const FIT_ALLOWANCE_SHARE = 0.02;

export interface CalibrationEvent {
  engine: string;
  done: number;
  purpose: string;
  status: StoredProbe['status'];
  kernels: number;
  unprofiledMs: number | null;
  reason: string | null;
  /** Seconds left of this engine's share of the time limit. */
  leftS: number;
}

export interface EngineCalibration {
  engine: string;
  engineVersion: string;
  /** Probes stored before this run, measured in this run, and failed among all. */
  resumed: number;
  measured: number;
  failed: number;
  kernelSamples: number;
  wallS: number;
  model: EngineLatencyModel;
  /** In-sample median |error| per kernel class. */
  classes: { kernelClass: KernelClass; samples: number; mdape: number }[];
  /** Median |error| of the network model over the probes' unprofiled medians. */
  probeMdape: number;
}

export interface CalibrateOptions {
  engines: EngineChoice[];
  minutes: number;
  environment: Environment;
  tables: CalibrationTables;
  onProbe?: (e: CalibrationEvent) => void;
  /** The clock the time limit is kept by, ms (tests inject one). */
  nowMs?: () => number;
}

/** Native engines (torch) pay a Python start per probe: they get twice the share of the time. */
function shareOf(choice: EngineChoice, all: EngineChoice[]): number {
  const weight = (c: EngineChoice) => (c.engine.role === 'native' ? 2 : 1);
  return weight(choice) / all.reduce((a, c) => a + weight(c), 0);
}

export async function calibrate(o: CalibrateOptions): Promise<EngineCalibration[]> {
  const now = o.nowMs ?? Date.now;
  const end = now() + o.minutes * 60_000;
  const results: EngineCalibration[] = [];
  for (const [i, choice] of o.engines.entries()) {
    // Each engine's share of what is left, so time one engine did not use goes to the next.
    const left = end - now();
    const rest = o.engines.slice(i);
    const deadline = now() + left * shareOf(choice, rest);
    results.push(await calibrateEngine(choice, deadline, o, now));
  }
  return results;
}

async function calibrateEngine(choice: EngineChoice, deadlineMs: number, o: CalibrateOptions, now: () => number): Promise<EngineCalibration> {
  const start = now();
  const availability = await availabilityOf(choice.engine);
  if (!availability.available) throw new Error(`${choice.label} is not available: ${availability.reason}`);
  const engineVersion = availability.version;
  const fingerprint = o.environment.fingerprint;
  const stored = await o.tables.probes(fingerprint, choice.label, engineVersion);
  const keys = new Set(stored.map((p) => p.probeKey));
  const resumed = stored.length;
  let measured = 0;
  let seed = 0;
  let probeMs = 2_000;
  // The fit after the last probe takes seconds too (2.3 s for 688 ort probes, the neighbours of
  // each of their kernels found once): left for it, so that --minutes bounds the whole calibration.
  const fitAllowanceMs = Math.min(FIT_ALLOWANCE_MS, FIT_ALLOWANCE_SHARE * (deadlineMs - start));
  while (now() + probeMs + fitAllowanceMs < deadlineMs) {
    const probe = nextProbe(stored, keys, () => ++seed);
    const t0 = now();
    const row = await measureProbe(probe, choice, fingerprint, engineVersion);
    probeMs = Math.max(probeMs * 0.7 + (now() - t0) * 0.3, now() - t0);
    await o.tables.insertProbe(row);
    stored.push(row);
    keys.add(row.probeKey);
    measured++;
    o.onProbe?.({ engine: choice.label, done: stored.length, purpose: row.purpose, status: row.status, kernels: row.kernelCount ?? 0, unprofiledMs: row.unprofiledMedianMs, reason: row.reason, leftS: Math.max(0, (deadlineMs - now()) / 1000) });
  }
  const model = fitEngineModel(fingerprint, choice.label, engineVersion, stored);
  const samples = probeSamples(stored);
  const { models, rules } = modelRows(model, samples);
  if (samples.length > 0) await o.tables.saveModel(fingerprint, choice.label, engineVersion, models, rules);
  // Each probe predicted with its own samples left out of the correction (fit.ts numbers probes so).
  const probeErrors = stored.filter((p) => p.status === 'ok' && p.unprofiledMedianMs !== null).map((p, i) => {
    const ks = probeSamples([p]);
    const predicted = networkLatencyMs(model.network, ks.reduce((a, k) => a + predictKernelMs(model.kernels, k, model.correction, i).ms, 0), ks.length);
    return Math.abs(predicted / p.unprofiledMedianMs! - 1);
  });
  return {
    engine: choice.label,
    engineVersion,
    resumed,
    measured,
    failed: stored.filter((p) => p.status === 'failed').length,
    kernelSamples: samples.length,
    wallS: (now() - start) / 1000,
    model,
    classes: [...classErrors(model, samples)].map(([kernelClass, e]) => ({ kernelClass, samples: e.samples, mdape: e.mdape })),
    probeMdape: probeErrors.length ? median(probeErrors) : NaN,
  };
}

/**
 * The next probe to measure: the first space-filling probes not yet stored (the same on every
 * run, so a re-run skips them), then probes aimed at the class whose model errs most.
 */
export function nextProbe(stored: readonly StoredProbe[], keys: ReadonlySet<string>, nextSeed: () => number): Probe {
  for (let i = 1; i <= INITIAL_PROBES; i++) {
    const p = affordableProbe(i);
    if (!keys.has(probeKey(p))) return p;
  }
  // Then every other probe is the next pattern network not yet stored, until all are.
  const networks = networkProbes();
  const pending = networks.filter((p) => !keys.has(probeKey(p)));
  const chains = stored.filter((p) => !(p.probe as Probe).network).length;
  if (pending.length > 0 && networks.length - pending.length < chains - INITIAL_PROBES + 1) return pending[0]!;
  const samples = probeSamples(stored);
  // Sampling steers by the class models' errors; the correction is chosen once, at the end.
  const model = fitEngineModel('', '', '', stored, undefined, { correction: false });
  // Element-wise kernels are refined too: an engine that runs op by op (torch) spends a large
  // share of its time in BatchNorms and activations on the widest tensors.
  const errors = [...classErrors(model, samples)].filter(([cls]) => !['reshape', 'gap', 'gemm', 'data'].includes(cls));
  const shares = timeShares(stored);
  for (;;) {
    const seed = 1000 + stored.length * 7 + nextSeed();
    const rng = seededRandom(seed);
    let focus: ProbeFocus | undefined;
    if (errors.length && rng() < 0.8) {
      // Error large, samples few and the class a large share of what networks spend: where another
      // probe teaches the model most. (Without the share, ort's calibration aimed 59 of its first 99
      // refinement probes at stand-alone activations, which it fuses nearly everywhere.)
      const weighted = errors.map(([cls, e]) => (e.mdape * (shares.get(cls) ?? 0)) / Math.sqrt(e.samples));
      const scores = weighted.some((x) => x > 0) ? weighted : errors.map(([, e]) => e.mdape / Math.sqrt(e.samples));
      let r = rng() * scores.reduce((a, b) => a + b, 0);
      const at = Math.max(0, scores.findIndex((s) => (r -= s) <= 0));
      const [kernelClass, e] = errors[at]!;
      focus = { kernelClass, near: e.worst[Math.floor(rng() * e.worst.length)]!.shape };
    }
    const p = affordableProbe(seed, focus);
    if (!keys.has(probeKey(p))) return p;
  }
}

/**
 * Each kernel class's share of the kernel time of the pattern-network probes stored (of every
 * probe before any pattern network is): how much of a network's time its model's errors can move.
 */
export function timeShares(stored: readonly StoredProbe[]): Map<KernelClass, number> {
  const networks = stored.filter((p) => (p.probe as Probe).network);
  const samples = probeSamples(networks.length ? networks : stored);
  const total = samples.reduce((a, k) => a + k.ms, 0);
  const shares = new Map<KernelClass, number>();
  for (const k of samples) shares.set(k.kernelClass, (shares.get(k.kernelClass) ?? 0) + k.ms / total);
  return shares;
}

/** A probe from a seed, redrawn until it is within the size a probe may have. */
export function affordableProbe(seed: number, focus?: ProbeFocus): Probe {
  for (let attempt = 0; ; attempt++) {
    const p = sampleProbe(seed * 101 + attempt, focus);
    const macs = analyzeGraph(buildProbe(p), { batch: 1 }).macs;
    if ((macs <= PROBE_MAX_MACS && macs >= PROBE_MIN_MACS) || attempt >= 50) return p;
  }
}

/** Profiles one probe in a worker and turns its profile into kernel samples. */
export async function measureProbe(probe: Probe, choice: EngineChoice, fingerprint: string, engineVersion: string): Promise<StoredProbe> {
  const t0 = Date.now();
  const graph = buildProbe(probe);
  const key = probeKey(probe);
  const spec = `probe-${key}`;
  const base = { probeKey: key, fingerprint, engine: choice.label, engineVersion, purpose: probe.purpose, probe, batch: probe.batch, measuredAt: '' };
  const r = await withPreparedModel({ spec, source: 'onnx', graph }, ({ onnxPath }) =>
    runProfileWorker({ spec, onnxPath, engine: choice.engine.name, options: choice.options, batch: probe.batch, inputSeed: INPUT_SEED, runs: PROBE_PROFILE_RUNS, budget: PROBE_BUDGET }, PROBE_TIMEOUT_MS),
  );
  const measuredAt = new Date().toISOString();
  if (r.status !== 'ok') return { ...base, measuredAt, status: 'failed', reason: r.reason, unprofiledMedianMs: null, kernelSumMs: null, kernelCount: null, layoutMs: null, kernels: [], wallMs: Date.now() - t0 };
  const unprofiledMedianMs = median(r.unprofiled.samplesMs);
  const { kernels, layoutMs } = kernelSamples(graph, probe.batch, attributed(r.engineProfile.layers, unprofiledMedianMs));
  return {
    ...base,
    measuredAt,
    status: 'ok',
    reason: null,
    unprofiledMedianMs,
    kernelSumMs: kernels.reduce((a, k) => a + k.ms, 0),
    kernelCount: kernels.length,
    layoutMs,
    kernels,
    wallMs: Date.now() - t0,
  };
}

/**
 * The profile splits the time, the protocol's median sets it: each unit's share of the profiled
 * total times the unprofiled median. Profiled runs are few and come from a second, fresh session
 * (ort's profiler is a session option), so their absolute times carry its cold runs and the
 * profiler's own cost; measured here, sums of profiled kernels ran 0.9–5.6× the warm median.
 */
export function attributed<T extends { ms: number }>(layers: readonly T[], unprofiledMedianMs: number): T[] {
  const total = layers.reduce((a, l) => a + l.ms, 0);
  return total > 0 ? layers.map((l) => ({ ...l, ms: (l.ms / total) * unprofiledMedianMs })) : [...layers];
}

/**
 * Each profiled unit that did an IR node's work is one kernel sample: its nodes in graph order
 * give its fusion signature (main node first), their static cost its shape. Units that stand for
 * no node (ort's layout conversions) are charged to the kernel whose tensor they convert, read
 * from the order units ran in (profiles list them so): a ReorderOutput to the kernel before it,
 * which produced the blocked tensor, any other to the kernel after it, which consumes what it
 * converts. A kernel's sample so carries the conversions its channel counts cause (measured on
 * ort: 53 reorders, a third of bottleneck/d13/w40's time, none in standard networks of aligned
 * widths), which a prediction cannot otherwise see. `layoutMs` is their total.
 */
export function kernelSamples(graph: Graph, batch: number, layers: readonly { kind: string; op?: string; nodes: string[]; ms: number }[]): { kernels: KernelSample[]; layoutMs: number } {
  const cost = analyzeGraph(graph, { batch });
  const costs = layerCosts(cost);
  const producedBy = producers(graph);
  const order = topologicalOrder(graph);
  const position = new Map(order.map((n, i) => [n.name, i]));
  const byName = new Map(order.map((n) => [n.name, n]));
  const kernels: KernelSample[] = [];
  let layoutMs = 0;
  let pendingMs = 0;
  for (const l of layers) {
    const nodes = l.nodes.filter((n) => byName.has(n)).sort((a, b) => position.get(a)! - position.get(b)!).map((n) => byName.get(n)!);
    if (l.kind !== 'compute' || nodes.length === 0) {
      layoutMs += l.ms;
      const previous = kernels[kernels.length - 1];
      if (l.op === 'ReorderOutput' && previous) previous.ms += l.ms;
      else pendingMs += l.ms;
      continue;
    }
    kernels.push({ kernelClass: kernelClassOf(nodes[0]!, graph), signature: signatureOf(nodes), shape: kernelShape(graph, cost, nodes, costs, producedBy), ms: l.ms + pendingMs });
    pendingMs = 0;
  }
  const last = kernels[kernels.length - 1];
  if (last) last.ms += pendingMs;
  return { kernels, layoutMs };
}
