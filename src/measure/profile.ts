/**
 * Layer-wise profiles: where an engine spends an inference, per layer, per operator type and per
 * design-pattern block, each set beside its share of the MACs, so that layers slower than their
 * arithmetic warrants stand out (the second study's bottleneck analysis). The engine's profiler
 * runs in a worker process, like a trial, so a crashing engine fails the profile, not the CLI.
 */
import { fileURLToPath } from 'node:url';
import { analyzeGraph, type LayerCost, type ModelCost } from '../analysis/index.js';
import { ENGINES, type EngineChoice, type EngineProfile, type LayerTiming } from '../engines/index.js';
import { UserError } from '../errors.js';
import { getInt, type Graph, type Node } from '../ir/index.js';
import { withPreparedModel } from './prepared.js';
import type { TimingBudget, TimingResult } from './protocol.js';
import { layerRoof, type MachinePeaks } from './roofline.js';
import { median } from './stats.js';
import { LOAD_ALLOWANCE_MS } from './trial.js';
import type { WorkerModelRequest } from './worker-session.js';
import { runWorkerProcess } from './worker-process.js';

export interface ProfileRequest extends WorkerModelRequest {
  /** Profiled runs recorded (after one unrecorded). */
  runs: number;
  /** Budget of the unprofiled timing the profile is compared with. */
  budget: TimingBudget;
}

export type ProfileWorkerResult =
  | { status: 'ok'; engineVersion: string; loadMs: number; unprofiled: TimingResult; engineProfile: EngineProfile }
  | { status: 'unsupported' | 'failed'; reason: string };

/** Unprofiled timing: short, since it only calibrates the profile's total. */
export const PROFILE_BUDGET: TimingBudget = { targetCiRelative: 0.02, timedBudgetMs: 3_000, warmupBudgetMs: 1_500, minRuns: 5, maxRuns: 1_000 };

/**
 * A layer whose share of the time is at least this many times its share of the MACs, and at
 * least MIN_SHARE of the time, is "software-limited": its kernel, not its arithmetic, sets its
 * cost (the seed paper's depthwise convolutions in native frameworks). A layer without MACs
 * (pooling, BatchNorm and ReLU left unfused, a layout conversion) is flagged on its time share
 * alone: whatever it costs is more than its MACs explain.
 */
export const SOFTWARE_LIMITED_RATIO = 3;
export const SOFTWARE_LIMITED_MIN_SHARE = 0.02;
/** Per-layer times should sum to the unprofiled median within this fraction, else the gap is flagged. */
export const GAP_TOLERANCE = 0.1;

export interface ProfiledLayer {
  /** The engine's unit: an IR node, or a fused kernel of ORT's optimised graph. */
  name: string;
  /** The engine's operator type. */
  op: string;
  /** The category reports group by: the main IR node's operator (depthwise and grouped Convs apart), or 'layout conversion'. */
  opType: string;
  kind: LayerTiming['kind'];
  /** IR nodes whose work this unit did, main one first. */
  nodes: string[];
  block?: string;
  ms: number;
  /** ms / totalLayerMs: the shares of all rows sum to 1. */
  share: number;
  macs: number;
  macShare: number;
  /** share / macShare, when the unit does MACs. */
  timeToMacRatio?: number;
  softwareLimited: boolean;
  /** 2·MACs per second, GFLOP/s. */
  achievedGflops: number;
  /** The main node's FLOPs per byte (src/analysis byte model). */
  arithmeticIntensity: number;
  /** Bytes the main node moves under that model: its working set. */
  bytesMoved: number;
  /**
   * min(peak, intensity · bandwidth), GFLOP/s, with the bandwidth of the smallest cache level
   * the working set fits in (DRAM beyond them); with machine peaks only.
   */
  rooflineGflops?: number;
  /** Which roof bounds the layer: 'compute', a cache level ('L2', …) or 'DRAM'. */
  rooflineLevel?: string;
  /** achievedGflops / rooflineGflops. */
  rooflineFraction?: number;
}

export interface ProfileGroup {
  key: string;
  count: number;
  ms: number;
  share: number;
  macs: number;
  macShare: number;
}

export interface ProfileReport {
  model: string;
  engine: string;
  options: Record<string, string>;
  engineVersion: string;
  batch: number;
  method: string;
  /** Profiled runs recorded per unit. */
  runs: number;
  /** Slowest first. */
  layers: ProfiledLayer[];
  byOpType: ProfileGroup[];
  byBlock: ProfileGroup[];
  totalLayerMs: number;
  unprofiledMedianMs: number;
  unprofiledRuns: number;
  /** Median wall time of an inference with the profiler on. */
  profiledRunMedianMs: number;
  /** unprofiledMedianMs − totalLayerMs: time outside the timed units (negative: the profiler inflated them). */
  gapMs: number;
  /** gapMs / unprofiledMedianMs. */
  gapFraction: number;
  withinTolerance: boolean;
  /** profiledRunMedianMs / unprofiledMedianMs − 1. */
  profilingOverhead: number;
  macs: number;
  /** IR nodes no timed unit accounts for. */
  unattributedNodes: string[];
  peaks?: MachinePeaks;
}

export interface ProfileOptions {
  batch: number;
  runs: number;
  inputSeed: number;
  budget?: TimingBudget;
  timeoutMs?: number;
}

/** Profiles one model on one engine: prepares the model, runs the worker, relates times to MACs. */
export async function profileModel(spec: string, choice: EngineChoice, o: ProfileOptions): Promise<ProfileReport> {
  if (!choice.engine.profiles) {
    const able = ENGINES.filter((e) => e.profiles).map((e) => e.name);
    throw new UserError(`engine ${choice.engine.name} has no per-layer profiler`, `profile with one of: ${able.join(', ')}`);
  }
  return withPreparedModel(spec, async ({ spec: canonical, graph, onnxPath }) => {
    const model = { spec: canonical };
    const cost = analyzeGraph(graph, { batch: o.batch });
    const budget = o.budget ?? PROFILE_BUDGET;
    const r = await runProfileWorker(
      { spec: model.spec, onnxPath, engine: choice.engine.name, options: choice.options, batch: o.batch, inputSeed: o.inputSeed, runs: o.runs, budget },
      o.timeoutMs,
    );
    if (r.status !== 'ok') {
      if (r.status === 'unsupported') throw new UserError(r.reason, `profile with one of: ${ENGINES.filter((e) => e.profiles).map((e) => e.name).join(', ')}`);
      throw new UserError(`profiling ${model.spec} on ${choice.label} failed: ${r.reason}`);
    }
    return buildProfileReport(graph, cost, r.engineProfile, r.unprofiled.samplesMs, {
      model: model.spec,
      engine: choice.label,
      options: choice.options,
      engineVersion: r.engineVersion,
      runs: o.runs,
    });
  }, [o.batch]);
}

const WORKER = fileURLToPath(new URL('./profile-worker.js', import.meta.url));

/** Default time allowed for a profile: loading plus generous room for slow engines on big models. */
const PROFILE_TIMEOUT_MS = 10 * 60_000;

/** Runs the profile worker; a death or an overrun becomes a failed result with the reason. */
export function runProfileWorker(request: ProfileRequest, timeoutMs = PROFILE_TIMEOUT_MS + LOAD_ALLOWANCE_MS): Promise<ProfileWorkerResult> {
  return runWorkerProcess<ProfileWorkerResult>(WORKER, request, { timeoutMs });
}

/** Operator category of an IR node: depthwise and grouped convolutions apart from dense ones. */
export function opTypeOf(node: Node, graph: Graph): string {
  if (node.op !== 'Conv') return node.op;
  const group = getInt(node.attrs, 'group', 1);
  if (group === 1) return 'Conv';
  const channelsIn = graph.initializers.get(node.inputs[1] ?? '')?.dims[1];
  return channelsIn === 1 ? 'Conv (depthwise)' : 'Conv (grouped)';
}

export interface ProfileMeta {
  model: string;
  engine: string;
  options: Record<string, string>;
  engineVersion: string;
  runs: number;
}

/** Relates an engine's unit times to the static cost of the IR nodes each unit covers. */
export function buildProfileReport(graph: Graph, cost: ModelCost, profile: EngineProfile, unprofiledSamplesMs: number[], meta: ProfileMeta): ProfileReport {
  const costOf = new Map<string, LayerCost>(cost.layers.map((l) => [l.name, l]));
  const nodeOf = new Map(graph.nodes.map((n) => [n.name, n]));
  const totalLayerMs = profile.layers.reduce((a, l) => a + l.ms, 0);
  const covered = new Set<string>();
  const layers = profile.layers.map((t): ProfiledLayer => {
    const nodes = t.nodes.filter((n) => costOf.has(n) && !covered.has(n));
    for (const n of nodes) covered.add(n);
    const main = nodes[0] ? costOf.get(nodes[0]) : undefined;
    const mainNode = nodes[0] ? nodeOf.get(nodes[0]) : undefined;
    const macs = nodes.reduce((a, n) => a + costOf.get(n)!.macs, 0);
    const share = totalLayerMs > 0 ? t.ms / totalLayerMs : 0;
    const macShare = cost.macs > 0 ? macs / cost.macs : 0;
    const timeToMacRatio = macShare > 0 ? share / macShare : undefined;
    return {
      name: t.name,
      op: t.op,
      opType: t.kind === 'layout' ? 'layout conversion' : mainNode ? opTypeOf(mainNode, graph) : t.op,
      kind: t.kind,
      nodes,
      ...(main?.block ? { block: main.block } : {}),
      ms: t.ms,
      share,
      macs,
      macShare,
      ...(timeToMacRatio !== undefined ? { timeToMacRatio } : {}),
      softwareLimited: share >= SOFTWARE_LIMITED_MIN_SHARE && (timeToMacRatio === undefined || timeToMacRatio >= SOFTWARE_LIMITED_RATIO),
      achievedGflops: t.ms > 0 ? (2 * macs) / (t.ms * 1e6) : 0,
      arithmeticIntensity: main?.arithmeticIntensity ?? 0,
      bytesMoved: main ? main.inputBytes + main.weightBytes + main.activationBytes : 0,
    };
  });
  layers.sort((a, b) => b.ms - a.ms);
  const unprofiledMedianMs = median(unprofiledSamplesMs);
  const profiledRunMedianMs = median(profile.profiledRunMs);
  const gapMs = unprofiledMedianMs - totalLayerMs;
  return {
    model: meta.model,
    engine: meta.engine,
    options: meta.options,
    engineVersion: meta.engineVersion,
    batch: cost.batch,
    method: profile.method,
    runs: meta.runs,
    layers,
    byOpType: groupBy(layers, (l) => l.opType, totalLayerMs, cost.macs),
    byBlock: groupBy(layers, (l) => (l.kind === 'layout' ? 'layout conversion' : (l.block ?? '(none)')), totalLayerMs, cost.macs),
    totalLayerMs,
    unprofiledMedianMs,
    unprofiledRuns: unprofiledSamplesMs.length,
    profiledRunMedianMs,
    gapMs,
    gapFraction: gapMs / unprofiledMedianMs,
    withinTolerance: Math.abs(gapMs) <= GAP_TOLERANCE * unprofiledMedianMs,
    profilingOverhead: profiledRunMedianMs / unprofiledMedianMs - 1,
    macs: cost.macs,
    unattributedNodes: cost.layers.map((l) => l.name).filter((n) => !covered.has(n)),
  };
}

function groupBy(layers: ProfiledLayer[], key: (l: ProfiledLayer) => string, totalMs: number, totalMacs: number): ProfileGroup[] {
  const groups = new Map<string, ProfileGroup>();
  for (const l of layers) {
    const k = key(l);
    const g = groups.get(k) ?? { key: k, count: 0, ms: 0, share: 0, macs: 0, macShare: 0 };
    g.count++;
    g.ms += l.ms;
    g.macs += l.macs;
    groups.set(k, g);
  }
  return [...groups.values()]
    .map((g) => ({ ...g, share: totalMs > 0 ? g.ms / totalMs : 0, macShare: totalMacs > 0 ? g.macs / totalMacs : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/** The report with each MAC-doing layer placed under the machine's roofline. */
export function withRoofline(report: ProfileReport, peaks: MachinePeaks): ProfileReport {
  const layers = report.layers.map((l) => {
    if (l.macs === 0 || l.arithmeticIntensity === 0) return l;
    const roof = layerRoof(l.arithmeticIntensity, l.bytesMoved, peaks);
    return { ...l, rooflineGflops: roof.gflops, rooflineLevel: roof.level, rooflineFraction: l.achievedGflops / roof.gflops };
  });
  return { ...report, layers, peaks };
}
