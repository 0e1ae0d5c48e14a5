/**
 * The fidelity check: is formbench running a native framework as fast as the framework's own users
 * would? Each native engine's session is timed interleaved, in one worker process, against the
 * framework's idiomatic execution of the same network with the same weights and input.
 */
import { fileURLToPath } from 'node:url';
import type { EngineChoice } from '../engines/index.js';
import { checkBatchesFit, resolveModel } from '../model/index.js';
import type { FidelityRecord } from './fidelity-record.js';
import { withPreparedModel } from './prepared.js';
import { LOAD_ALLOWANCE_MS, limitAfterFirstRun } from './trial.js';
import { timedLimitMs, type TimingBudget, type TimingResult } from './protocol.js';
import { summarize } from './stats.js';
import { runWorkerProcess } from './worker-process.js';
import type { WorkerModelRequest } from './worker-session.js';

export { FIDELITY_WARNING_RATIO, type FidelityRecord } from './fidelity-record.js';

export interface FidelityRequest extends WorkerModelRequest {
  /** For each of the two sides: the interleaved runs share it. */
  budget: TimingBudget;
}

export type FidelityResult =
  | {
      status: 'ok';
      engineVersion: string;
      idiomatic: string;
      engineSamplesMs: number[];
      idiomaticSamplesMs: number[];
      outputRelativeError: number;
      stoppedBy: TimingResult['stoppedBy'];
    }
  | { status: 'failed'; reason: string; engineVersion?: string; idiomatic?: string };

const WORKER = fileURLToPath(new URL('./fidelity-worker.js', import.meta.url));

/** Sent after the first run of both sides, so that slow models get time for their minimum runs. */
export interface FidelityProgress {
  progress: 'first-run';
  /** Both sides' first runs together. */
  firstRunMs: number;
}

/**
 * engine ÷ idiomatic for each round of the interleaved timing: the two runs of a round are
 * adjacent in time, so a change in the machine's speed (a shared host here switched between
 * modes 4× apart within seconds, on both sides at once) cancels within a pair, where it would
 * not between two medians of samples taken at different moments.
 */
export function pairedRatios(engineMs: number[], idiomaticMs: number[]): number[] {
  return engineMs.map((e, i) => e / idiomaticMs[i]!);
}

export interface FidelitySetup {
  spec: string;
  onnxPath: string;
  batch: number;
  inputSeed: number;
  budget: TimingBudget;
  signal?: AbortSignal;
}

/** One engine's fidelity on one model and batch, in its own worker process. */
export async function measureFidelity(choice: EngineChoice, setup: FidelitySetup): Promise<FidelityRecord> {
  const request: FidelityRequest = { spec: setup.spec, onnxPath: setup.onnxPath, engine: choice.engine.name, options: choice.options, batch: setup.batch, inputSeed: setup.inputSeed, budget: setup.budget };
  // Two sides share the budget's wall time, each warming up: twice a trial's allowance.
  const timeoutMs = 2 * (setup.budget.warmupBudgetMs + timedLimitMs(setup.budget)) + 2 * LOAD_ALLOWANCE_MS;
  const result = await runWorkerProcess<FidelityResult, FidelityProgress>(WORKER, request, {
    timeoutMs,
    ...(setup.signal ? { signal: setup.signal } : {}),
    limitAfterProgress: (m) => 2 * limitAfterFirstRun(setup.budget, m.firstRunMs / 2),
  });
  const base: FidelityRecord = { model: setup.spec, batch: setup.batch, engine: choice.label, engineName: choice.engine.name, options: choice.options, status: result.status };
  const known = { ...('engineVersion' in result && result.engineVersion ? { engineVersion: result.engineVersion } : {}), ...('idiomatic' in result && result.idiomatic ? { idiomatic: result.idiomatic } : {}) };
  if (result.status === 'failed') return { ...base, ...known, reason: result.reason };
  const engine = summarize(result.engineSamplesMs);
  const idiomatic = summarize(result.idiomaticSamplesMs);
  const paired = summarize(pairedRatios(result.engineSamplesMs, result.idiomaticSamplesMs));
  return {
    ...base,
    ...known,
    engineMedianMs: engine.medianMs,
    idiomaticMedianMs: idiomatic.medianMs,
    ratio: paired.medianMs,
    ...(paired.ciMs ? { ratioInterval: paired.ciMs } : {}),
    engineSamplesMs: result.engineSamplesMs,
    idiomaticSamplesMs: result.idiomaticSamplesMs,
    outputRelativeError: result.outputRelativeError,
  };
}

export interface FidelityPlan {
  specs: string[];
  engines: EngineChoice[];
  batches: number[];
  budget: TimingBudget;
  inputSeed: number;
}

/** Every model × batch × engine fidelity check, one worker each, in plan order. */
export async function runFidelity(plan: FidelityPlan, onRecord: (r: FidelityRecord, done: number, total: number) => void = () => {}): Promise<FidelityRecord[]> {
  const records: FidelityRecord[] = [];
  const total = plan.specs.length * plan.batches.length * plan.engines.length;
  // Every spec resolved and every batch checked before the first check runs: a typo in the last
  // model fails at once, not after the others' measurements.
  const resolved = plan.specs.map((spec) => resolveModel(spec));
  for (const model of resolved) checkBatchesFit(model, plan.batches);
  for (const [i, spec] of plan.specs.entries()) {
    await withPreparedModel(resolved[i]!, async ({ onnxPath }) => {
      for (const batch of plan.batches) {
        for (const choice of plan.engines) {
          const record = await measureFidelity(choice, { spec, onnxPath, batch, inputSeed: plan.inputSeed, budget: plan.budget });
          records.push(record);
          onRecord(record, records.length, total);
        }
      }
    });
  }
  return records;
}
