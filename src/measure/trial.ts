import { fileURLToPath } from 'node:url';
import type { KernelPrecisionSummary } from '../engines/index.js';
import { timedLimitMs, type TimingBudget, type TimingResult } from './protocol.js';
import { runWorkerProcess } from './worker-process.js';
import type { WorkerModelRequest } from './worker-session.js';

/** One trial: a model (an ONNX file prepared by the parent), an engine with options, a batch, a seed. */
export interface TrialRequest extends WorkerModelRequest {
  budget: TimingBudget;
}

export type TrialResult =
  | {
      status: 'ok';
      engineVersion: string;
      loadMs: number;
      timing: TimingResult;
      /** The first output of the first run, for comparison with the reference engine. */
      output: Float32Array;
      /** What the kernels computed in, for a lower-precision session whose engine can tell. */
      kernels?: KernelPrecisionSummary;
    }
  | { status: 'failed'; reason: string };

/** Sent by the worker after its first inference, so that slow models get time for their minimum runs. */
export interface TrialProgress {
  progress: 'first-run';
  firstRunMs: number;
}

/**
 * Once one run's duration is known, the limit becomes the budgets plus the minimum runs (and a
 * warm-up run) at 1.5× that duration, plus the load allowance: a model whose single run takes 10 s
 * needs its 8 runs, and a worker that then stops answering is still caught.
 */
export function limitAfterFirstRun(budget: TimingBudget, firstRunMs: number): number {
  return budget.warmupBudgetMs + timedLimitMs(budget) + 1.5 * (budget.minRuns + 2) * firstRunMs + LOAD_ALLOWANCE_MS;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Time allowed beyond the timing budget for start-up, model loading and compilation. */
export const LOAD_ALLOWANCE_MS = 120_000;

/**
 * Runs a trial in its own worker process, so that a crash, a leak or a hang spoils only this
 * trial: a worker that dies or overruns its time becomes a failed trial with the reason.
 */
export function runTrial(request: TrialRequest, timeoutMs = request.budget.warmupBudgetMs + timedLimitMs(request.budget) + LOAD_ALLOWANCE_MS, signal?: AbortSignal): Promise<TrialResult> {
  return runWorkerProcess<TrialResult, TrialProgress>(WORKER, request, {
    timeoutMs,
    ...(signal ? { signal } : {}),
    limitAfterProgress: (m) => limitAfterFirstRun(request.budget, m.firstRunMs),
  });
}
