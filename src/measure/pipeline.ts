/**
 * The one trial pipeline that `bench` and `study` share: each model prepared once, the reference
 * engine's output taken once per model, batch and input, then every trial run in its own worker,
 * and each record handed to a sink (bench keeps them in memory, a study commits them to its
 * store). See docs/ARCHITECTURE.md.
 */
import { availabilityOf, numericsOf, type EngineChoice, type GpuAdapter, type KernelPrecisionSummary, type WorkPlacement } from '../engines/index.js';
import type { ResolvedModel } from '../model/index.js';
import { compareOutputs, type OutputComparison } from './compare.js';
import type { TrialLifecycle } from './lifecycle.js';
import { workerMemoryCapBytes } from './memory-cap.js';
import { estimateTrialMemory, overCapReason } from './memory-estimate.js';
import { withPreparedModel, type PreparedModel } from './prepared.js';
import { timedLimitMs, type TimingBudget } from './protocol.js';
import { summarize, type SampleSummary } from './stats.js';
import { runTrial } from './trial.js';

/** What one trial is, whoever planned it: a model, a batch, an engine choice, an input seed, a budget. */
export interface PlannedRun {
  spec: string;
  batch: number;
  choice: EngineChoice;
  inputSeed: number;
  budget: TimingBudget;
}

/** Where records go, and the hooks a caller adds around them. */
export interface TrialSink<T extends PlannedRun> {
  /** Before a model is prepared (progress: calibrating a large network takes a while). */
  preparing?(spec: string): void;
  /** Once per model, before its trials, with the prepared model (activation health, fidelity checks). */
  model?(prepared: PreparedModel): Promise<void>;
  /** Before each trial (progress). */
  start?(trial: T): void;
  /** Each trial's record, the moment it is measured. */
  trial(trial: T, record: TrialRecord, prepared: PreparedModel): Promise<void>;
}

export interface PipelineOptions {
  /** The engine whose output every other engine's is compared with. */
  reference: EngineChoice;
  /**
   * Models in the order to run them; a model with no trials still gets the sink's `model` hook
   * (a study whose trials are stored but whose fidelity checks are not). Default: the trials' order.
   */
  models?: string[];
  /** Models already resolved (the study's plan resolves each once), by spec. */
  resolved?: ReadonlyMap<string, ResolvedModel>;
  /** Stops after the step in flight; what that step returned is not handed to the sink. */
  signal?: AbortSignal;
}

/** Runs trials grouped by model, then batch and input seed, in the order they were planned. */
export async function runTrials<T extends PlannedRun>(trials: T[], sink: TrialSink<T>, options: PipelineOptions): Promise<void> {
  const { signal } = options;
  const models = options.models ?? [...new Set(trials.map((t) => t.spec))];
  const capBytes = workerMemoryCapBytes();
  for (const spec of models) {
    if (signal?.aborted) return;
    sink.preparing?.(spec);
    await withPreparedModel(options.resolved?.get(spec) ?? spec, async (prepared) => {
      await sink.model?.(prepared);
      for (const group of groupBy(trials.filter((t) => t.spec === spec), (t) => `${t.batch}|${t.inputSeed}`).values()) {
        if (signal?.aborted) return;
        const { batch, inputSeed } = group[0]!;
        // Refused before any worker starts: a trial the cap would kill anyway costs nothing.
        const estimates = new Map(group.map((t) => [t, estimateTrialMemory(prepared.graph, batch, t.choice)]));
        const refusal = (t: T) => overCapReason(estimates.get(t)!, capBytes);
        const referenceFits = !overCapReason(estimateTrialMemory(prepared.graph, batch, options.reference), capBytes);
        const output = referenceFits && group.some((t) => !refusal(t)) ? await referenceOutput(options.reference, prepared.onnxPath, prepared.spec, batch, inputSeed, signal, capBytes) : undefined;
        const reference = output ? { output, label: options.reference.label } : undefined;
        for (const trial of group) {
          if (signal?.aborted) return;
          sink.start?.(trial);
          const estimatedPeakBytes = estimates.get(trial)!.totalBytes;
          const refused = refusal(trial);
          const record: TrialRecord = refused
            ? { model: prepared.spec, engine: trial.choice.label, options: trial.choice.options, batch, status: 'failed', reason: refused, estimatedPeakBytes }
            : await measureTrial(trial.choice, { spec: prepared.spec, onnxPath: prepared.onnxPath, batch, inputSeed, budget: trial.budget, capBytes, estimatedPeakBytes, ...(reference ? { reference } : {}), ...(signal ? { signal } : {}) });
          // An interrupt kills the worker too: what it returned then is not a measurement.
          if (signal?.aborted) return;
          await sink.trial(trial, record, prepared);
        }
      }
    });
  }
}

/** Items by key, groups and items in their first-seen order. */
export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(item);
  }
  return groups;
}

export interface TrialRecord {
  model: string;
  engine: string;
  options: Record<string, string>;
  batch: number;
  status: 'ok' | 'failed' | 'mismatch';
  reason?: string;
  engineVersion?: string;
  loadMs?: number;
  /** The first inference, apart: allocation and, on a GPU, shader compilation. */
  firstRunMs?: number;
  summary?: SampleSummary;
  samplesMs?: number[];
  stoppedBy?: string;
  outputs?: OutputComparison;
  /** What the kernels computed in (lower-precision ort trials). */
  kernels?: KernelPrecisionSummary;
  /** The WebGPU adapter of a GPU engine's trial; `software` marks one that is no GPU. */
  gpu?: GpuAdapter;
  /** Where a GPU trial's kernels ran, and its on-device time. */
  placement?: WorkPlacement;
  /** The most resident memory the worker and its children were seen to hold, bytes (Linux). */
  peakRssBytes?: number;
  /** What memory-estimate.ts predicted for it, bytes. */
  estimatedPeakBytes?: number;
  /** RSS growth, CPU time against wall time, frequency and energy over the timed runs (lifecycle.ts). */
  lifecycle?: TrialLifecycle;
}

/** One run of the reference engine, in a worker too, with a minimal budget: only its output is used. */
export async function referenceOutput(reference: EngineChoice, onnxPath: string, spec: string, batch: number, inputSeed: number, signal?: AbortSignal, capBytes?: number): Promise<Float32Array | undefined> {
  const budget = { targetCiRelative: 1, timedBudgetMs: 0, warmupBudgetMs: 0, minRuns: 1, maxRuns: 1 };
  const r = await runTrial({ spec, onnxPath, engine: reference.engine.name, options: reference.options, batch, inputSeed, budget }, undefined, signal, capBytes);
  return r.status === 'ok' ? r.output : undefined;
}

/** What one measured trial needs besides the engine: the model file, batch, input and budget. */
export interface TrialSetup {
  spec: string;
  onnxPath: string;
  batch: number;
  inputSeed: number;
  budget: TimingBudget;
  /** The reference engine's output for this model and batch, and that engine's label. */
  reference?: { output: Float32Array; label: string };
  /** Stops the trial in flight (its worker is killed). */
  signal?: AbortSignal;
  /** The worker's memory cap, bytes (default: memory-cap.ts). */
  capBytes?: number;
  /** The trial's estimated peak memory, bytes, kept with its record. */
  estimatedPeakBytes?: number;
}

/** Runs one trial in its own worker and turns its outcome into a record: ok, failed, or mismatch. */
export async function measureTrial(choice: EngineChoice, setup: TrialSetup): Promise<TrialRecord> {
  const r = await runTrial({ spec: setup.spec, onnxPath: setup.onnxPath, engine: choice.engine.name, options: choice.options, batch: setup.batch, inputSeed: setup.inputSeed, budget: setup.budget }, undefined, setup.signal, setup.capBytes);
  const base = {
    model: setup.spec,
    engine: choice.label,
    options: choice.options,
    batch: setup.batch,
    ...(r.peakRssBytes !== undefined ? { peakRssBytes: r.peakRssBytes } : {}),
    ...(setup.estimatedPeakBytes !== undefined ? { estimatedPeakBytes: setup.estimatedPeakBytes } : {}),
  };
  if (r.status === 'failed') {
    // A failed GPU trial still says which adapter it failed on (FP16 refused on one without shader-f16).
    const availability = await availabilityOf(choice.engine);
    const gpu = availability.available ? availability.gpu : undefined;
    return { ...base, status: 'failed', reason: r.reason, ...(gpu ? { gpu } : {}) };
  }
  const outputs = setup.reference ? compareOutputs(setup.reference.output, r.output, setup.batch, numericsOf(choice.engine, choice.options).tolerance) : undefined;
  const summary = summarize(r.timing.samplesMs);
  const imprecise = impreciseReason(summary, r.timing.stoppedBy, setup.budget);
  return {
    ...base,
    status: outputs && !outputs.matches ? 'mismatch' : 'ok',
    ...(outputs && !outputs.matches ? { reason: `outputs differ from ${setup.reference!.label}: relative error ${outputs.relativeError.toExponential(2)}` } : imprecise ? { reason: imprecise } : {}),
    engineVersion: r.engineVersion,
    loadMs: r.loadMs,
    firstRunMs: r.firstRunMs,
    summary,
    samplesMs: r.timing.samplesMs,
    stoppedBy: r.timing.stoppedBy,
    ...(r.lifecycle ? { lifecycle: r.lifecycle } : {}),
    ...(outputs ? { outputs } : {}),
    ...(r.kernels ? { kernels: r.kernels } : {}),
    ...(r.gpu ? { gpu: r.gpu } : {}),
    ...(r.placement ? { placement: r.placement } : {}),
  };
}

/**
 * Why a measured trial's median is less precise than the budget asked, if it is: the interval
 * still wider than the target when the (extended) budget or the run cap ran out. The trial is
 * kept: it is a measurement, flagged, not a failure.
 */
export function impreciseReason(summary: SampleSummary, stoppedBy: string, budget: TimingBudget): string | undefined {
  if (stoppedBy === 'ci-target' || budget.targetCiRelative >= 1) return undefined;
  const ci = summary.ciRelative;
  if (ci !== undefined && ci <= budget.targetCiRelative) return undefined;
  const target = `±${(100 * budget.targetCiRelative).toFixed(0)}%`;
  const what = ci === undefined ? 'too few runs for a 95% interval' : `95% interval ±${(100 * ci).toFixed(1)}%, wider than the ${target} target`;
  const limit = stoppedBy === 'max-runs' ? `the ${budget.maxRuns}-run cap` : `${(timedLimitMs(budget) / 1000).toFixed(0)} s of timed runs`;
  return `imprecise: ${what} after ${limit} (${summary.runs} runs; a noisy machine, or timings in two modes)`;
}

