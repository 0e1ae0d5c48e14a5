import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numericsOf, parseEngineChoice, type EngineChoice } from '../engines/index.js';
import { prepareModel, resolveModel } from '../model/index.js';
import { toOnnxBytes } from '../onnx/index.js';
import { activationHealth, isHealthy } from '../weights/index.js';
import type { KernelPrecisionSummary } from '../engines/index.js';
import { compareOutputs, type OutputComparison } from './compare.js';
import { timedLimitMs, type TimingBudget } from './protocol.js';
import { speedup, summarize, type SampleSummary, type Speedup } from './stats.js';
import { runTrial } from './trial.js';

export interface BenchPlan {
  specs: string[];
  engines: EngineChoice[];
  batches: number[];
  baseline: EngineChoice;
  /** Reference for output agreement (default ort:opt=disabled). */
  reference: EngineChoice;
  budget: TimingBudget;
  inputSeed: number;
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
  summary?: SampleSummary;
  samplesMs?: number[];
  stoppedBy?: string;
  outputs?: OutputComparison;
  /** What the kernels computed in (lower-precision ort trials). */
  kernels?: KernelPrecisionSummary;
}

export interface SpeedupRecord extends Speedup {
  model: string;
  batch: number;
  engine: string;
  baseline: string;
}

/** Activation scale of a model on the bench input (batch 1): subnormal values slow CPUs down. */
export interface ModelHealth {
  model: string;
  healthy: boolean;
  maxSubnormalFraction: number;
  minStd: number;
  maxStd: number;
}

export interface BenchResult {
  trials: TrialRecord[];
  speedups: SpeedupRecord[];
  health: ModelHealth[];
}

/** The seed of the inputs every engine receives. */
export const INPUT_SEED = 1;

/** Runs every model × batch × engine trial, each in its own worker, the reference engine first. */
export async function runBench(plan: BenchPlan, onTrial: (t: TrialRecord, done: number, total: number) => void = () => {}): Promise<BenchResult> {
  const trials: TrialRecord[] = [];
  const speedups: SpeedupRecord[] = [];
  const health: ModelHealth[] = [];
  const choices = uniqueChoices([plan.baseline, ...plan.engines]);
  const total = plan.specs.length * plan.batches.length * choices.length;
  const dir = mkdtempSync(join(tmpdir(), 'formbench-bench-'));
  try {
    for (const spec of plan.specs) {
      const model = resolveModel(spec);
      const graph = await prepareModel(model);
      const onnxPath = join(dir, 'model.onnx');
      writeFileSync(onnxPath, toOnnxBytes(graph));
      const h = await activationHealth(graph, { batch: 1, seed: plan.inputSeed });
      health.push({ model: model.spec, healthy: isHealthy(h), maxSubnormalFraction: h.maxSubnormalFraction, minStd: h.minStd, maxStd: h.maxStd });
      for (const batch of plan.batches) {
        const output = await referenceOutput(plan.reference, onnxPath, model.spec, batch, plan.inputSeed);
        const setup: TrialSetup = { spec: model.spec, onnxPath, batch, inputSeed: plan.inputSeed, budget: plan.budget, ...(output ? { reference: { output, label: plan.reference.label } } : {}) };
        const byLabel = new Map<string, TrialRecord>();
        for (const choice of choices) {
          const record = await measureTrial(choice, setup);
          trials.push(record);
          byLabel.set(choice.label, record);
          onTrial(record, trials.length, total);
        }
        const base = byLabel.get(plan.baseline.label)!;
        for (const choice of plan.engines) {
          const t = byLabel.get(choice.label)!;
          if (choice.label === plan.baseline.label || !base.summary || !t.summary) continue;
          speedups.push({ model: model.spec, batch, engine: choice.label, baseline: plan.baseline.label, ...speedup(base.summary, t.summary) });
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { trials, speedups, health };
}

function uniqueChoices(choices: EngineChoice[]): EngineChoice[] {
  const seen = new Set<string>();
  return choices.filter((c) => !seen.has(c.label) && seen.add(c.label));
}

/** One run of the reference engine, in a worker too, with a minimal budget: only its output is used. */
export async function referenceOutput(reference: EngineChoice, onnxPath: string, spec: string, batch: number, inputSeed: number, signal?: AbortSignal): Promise<Float32Array | undefined> {
  const budget = { targetCiRelative: 1, timedBudgetMs: 0, warmupBudgetMs: 0, minRuns: 1, maxRuns: 1 };
  const r = await runTrial({ spec, onnxPath, engine: reference.engine.name, options: reference.options, batch, inputSeed, budget }, undefined, signal);
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
}

/** Runs one trial in its own worker and turns its outcome into a record: ok, failed, or mismatch. */
export async function measureTrial(choice: EngineChoice, setup: TrialSetup): Promise<TrialRecord> {
  const base = { model: setup.spec, engine: choice.label, options: choice.options, batch: setup.batch };
  const r = await runTrial({ spec: setup.spec, onnxPath: setup.onnxPath, engine: choice.engine.name, options: choice.options, batch: setup.batch, inputSeed: setup.inputSeed, budget: setup.budget }, undefined, setup.signal);
  if (r.status === 'failed') return { ...base, status: 'failed', reason: r.reason };
  const outputs = setup.reference ? compareOutputs(setup.reference.output, r.output, setup.batch, numericsOf(choice.engine, choice.options).tolerance) : undefined;
  const summary = summarize(r.timing.samplesMs);
  const imprecise = impreciseReason(summary, r.timing.stoppedBy, setup.budget);
  return {
    ...base,
    status: outputs && !outputs.matches ? 'mismatch' : 'ok',
    ...(outputs && !outputs.matches ? { reason: `outputs differ from ${setup.reference!.label}: relative error ${outputs.relativeError.toExponential(2)}` } : imprecise ? { reason: imprecise } : {}),
    engineVersion: r.engineVersion,
    loadMs: r.loadMs,
    summary,
    samplesMs: r.timing.samplesMs,
    stoppedBy: r.timing.stoppedBy,
    ...(outputs ? { outputs } : {}),
    ...(r.kernels ? { kernels: r.kernels } : {}),
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

export function defaultReference(): EngineChoice {
  return parseEngineChoice('ort:opt=disabled');
}

