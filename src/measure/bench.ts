import { parseEngineChoice, type EngineChoice } from '../engines/index.js';
import { UserError } from '../errors.js';
import { checkBatchesFit, checkOnnxFits, resolveModel, type ResolvedModel } from '../model/index.js';
import { activationHealth, isHealthy } from '../weights/index.js';
import { formatGib, WORKER_MEMORY_ENV, workerMemoryCapBytes } from './memory-cap.js';
import { estimateTrialMemory, overCapReason } from './memory-estimate.js';
import { runTrials, type PlannedRun, type TrialRecord, type TrialSink } from './pipeline.js';
import type { TimingBudget } from './protocol.js';
import { speedup, type Speedup } from './stats.js';

export { impreciseReason, measureTrial, referenceOutput, type TrialRecord, type TrialSetup } from './pipeline.js';

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
  const choices = uniqueChoices([plan.baseline, ...plan.engines]);
  const runs: PlannedRun[] = plan.specs.flatMap((spec) => plan.batches.flatMap((batch) => choices.map((choice) => ({ spec, batch, choice, inputSeed: plan.inputSeed, budget: plan.budget }))));
  const result: BenchResult = { trials: [], speedups: [], health: [] };
  // Every spec resolved before any trial runs: a typo in the last one fails at once.
  const resolved = new Map(plan.specs.map((spec) => [spec, resolveModel(spec)]));
  // And every input at every batch within the size formbench allocates, before the first trial.
  for (const model of resolved.values()) checkBatchesFit(model, plan.batches);
  for (const r of resolved.values()) if (r.zoo) checkOnnxFits(r.graph);
  refuseOverCap(runs, plan.reference, resolved);
  await runTrials(runs, memorySink(plan, result, (t) => onTrial(t, result.trials.length, runs.length)), { reference: plan.reference, models: plan.specs, resolved });
  return result;
}

/**
 * A bench is one command a user waits for: a trial predicted not to fit is an error before any
 * model is built, not a failed row after the others ran.
 */
function refuseOverCap(runs: PlannedRun[], reference: EngineChoice, resolved: ReadonlyMap<string, ResolvedModel>): void {
  const capBytes = workerMemoryCapBytes();
  for (const run of runs) {
    for (const choice of [run.choice, reference]) {
      const estimate = estimateTrialMemory(resolved.get(run.spec)!.graph, run.batch, choice);
      if (!overCapReason(estimate, capBytes)) continue;
      throw new UserError(
        `${run.spec} at batch ${run.batch} on ${choice.label} would need about ${formatGib(estimate.totalBytes)} of memory ` +
          `(weights ${formatGib(estimate.weightBytes)}, activations ${formatGib(estimate.activationBytes)}), more than the ${formatGib(capBytes)} a worker may use`,
        `use a smaller --batch or a narrower model; ${WORKER_MEMORY_ENV} sets the cap, by default 80% of this machine's memory`,
      );
    }
  }
}

/** Keeps every record, each model's activation health, and the speed-ups over the baseline. */
function memorySink(plan: BenchPlan, result: BenchResult, onTrial: (t: TrialRecord) => void): TrialSink<PlannedRun> {
  return {
    async model(prepared) {
      const h = await activationHealth(prepared.graph, { batch: 1, seed: plan.inputSeed });
      result.health.push({ model: prepared.spec, healthy: isHealthy(h), maxSubnormalFraction: h.maxSubnormalFraction, minStd: h.minStd, maxStd: h.maxStd });
    },
    async trial(run, record) {
      result.trials.push(record);
      onTrial(record);
      if (run.choice.label === plan.baseline.label || !record.summary) return;
      const base = result.trials.find((t) => t.model === record.model && t.batch === record.batch && t.engine === plan.baseline.label);
      // A software adapter's times are the CPU's: never a GPU speed-up, nor the base of one.
      if (record.gpu?.software || base?.gpu?.software) return;
      if (base?.summary) result.speedups.push({ model: record.model, batch: record.batch, engine: run.choice.label, baseline: plan.baseline.label, ...speedup(base.summary, record.summary) });
    },
  };
}

function uniqueChoices(choices: EngineChoice[]): EngineChoice[] {
  const seen = new Set<string>();
  return choices.filter((c) => !seen.has(c.label) && seen.add(c.label));
}

export function defaultReference(): EngineChoice {
  return parseEngineChoice('ort:opt=disabled');
}

