import { fileURLToPath } from 'node:url';
import type { GpuAdapter, KernelPrecisionSummary, WorkPlacement } from '../engines/index.js';
import { UserError } from '../errors.js';
import type { TrialLifecycle } from './lifecycle.js';
import { timedLimitMs, type TimingBudget, type TimingResult } from './protocol.js';
import { runWorkerProcess, type WorkerMemory, type WorkerPhase } from './worker-process.js';
import type { WorkerModelRequest } from './worker-session.js';

/** One trial: a model (an ONNX file prepared by the parent), an engine with options, a batch, a seed. */
export interface TrialRequest extends WorkerModelRequest {
  budget: TimingBudget;
}

export type TrialResult = (
  | {
      status: 'ok';
      engineVersion: string;
      loadMs: number;
      /** The first inference, apart from the timed ones: allocation and, on a GPU, shader compilation. */
      firstRunMs: number;
      timing: TimingResult;
      /** Memory, CPU time, frequency and energy over the timed runs (lifecycle.ts). */
      lifecycle?: TrialLifecycle;
      /** The first output of the first run, for comparison with the reference engine. */
      output: Float32Array;
      /** What the kernels computed in, for a lower-precision session whose engine can tell. */
      kernels?: KernelPrecisionSummary;
      /** The WebGPU adapter the session ran on (GPU engines). */
      gpu?: GpuAdapter;
      /** Where a GPU session's kernels ran, and the on-device time. */
      placement?: WorkPlacement;
    }
  | { status: 'failed'; reason: string }
) &
  WorkerMemory;

/**
 * What a trial worker tells the parent as it goes: each phase as it starts (so that a limit of
 * its own covers each one, and a timeout names the phase), and how long the first run took.
 */
export type TrialProgress =
  | { progress: 'first-run'; firstRunMs: number }
  | { progress: 'phase'; phase: 'first-run' | 'kernel-precision' | 'placement' | 'teardown' };

/**
 * Once one run's duration is known, the limit becomes the budgets plus the minimum runs (and a
 * warm-up run) at 1.5× that duration, plus the load allowance: a model whose single run takes 10 s
 * needs its 8 runs, and a worker that then stops answering is still caught.
 */
export function limitAfterFirstRun(budget: TimingBudget, firstRunMs: number): number {
  return runsLimitMs(budget, firstRunMs) + loadAllowanceMs();
}

/** The warm-up and timed runs alone: the budgets, and the minimum runs at 1.5× the first run's pace. */
function runsLimitMs(budget: TimingBudget, firstRunMs: number): number {
  return budget.warmupBudgetMs + timedLimitMs(budget) + 1.5 * (budget.minRuns + 2) * firstRunMs;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Time allowed for start-up, model loading and compilation (and for a first run, which compiles too). */
export const LOAD_ALLOWANCE_MS = 120_000;

/** Sets the load allowance, seconds: a model that takes longer to compile, or a test of the limit. */
export const LOAD_TIMEOUT_ENV = 'FORMBENCH_LOAD_TIMEOUT_S';

/** The load allowance, ms: FORMBENCH_LOAD_TIMEOUT_S when set (a positive number of seconds), else 120 s. */
export function loadAllowanceMs(): number {
  const raw = process.env[LOAD_TIMEOUT_ENV];
  if (raw === undefined || raw.trim() === '') return LOAD_ALLOWANCE_MS;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) throw new UserError(`${LOAD_TIMEOUT_ENV} must be a positive number of seconds, got '${raw}'`, `unset it for the default of ${LOAD_ALLOWANCE_MS / 1000} s`);
  return s * 1000;
}

/** Disposing a session frees memory and joins threads: seconds, unless something hangs. */
const TEARDOWN_ALLOWANCE_MS = 30_000;

/**
 * Each phase's own limit, from when the worker says it started it: loading (from the worker's
 * start: Node, engine modules, availability, reading the file, creating the session), the first
 * run (which compiles in several engines), the warm-up and timed runs (the budgets and the
 * minimum runs at the first run's pace), the kernel-precision profile, and the teardown.
 */
export function trialPhase(budget: TimingBudget, m: TrialProgress): WorkerPhase {
  if (m.progress === 'first-run') return { doing: 'warming up and timing the runs', limitMs: runsLimitMs(budget, m.firstRunMs) + TEARDOWN_ALLOWANCE_MS };
  switch (m.phase) {
    case 'first-run':
      return { doing: 'running the first inference', limitMs: loadAllowanceMs() };
    case 'kernel-precision':
      return { doing: 'profiling kernel precision', limitMs: loadAllowanceMs() };
    case 'placement':
      return { doing: 'profiling where the kernels ran', limitMs: loadAllowanceMs() };
    case 'teardown':
      return { doing: 'tearing down the session', limitMs: TEARDOWN_ALLOWANCE_MS };
  }
}

/**
 * Runs a trial in its own worker process, so that a crash, a leak or a hang spoils only this
 * trial: a worker that dies, overruns a phase's time or its memory cap becomes a failed trial
 * with the reason. `loadTimeoutMs` limits the first phase, loading.
 */
export function runTrial(request: TrialRequest, loadTimeoutMs = loadAllowanceMs(), signal?: AbortSignal, memoryCapBytes?: number): Promise<TrialResult> {
  return runWorkerProcess<TrialResult, TrialProgress>(WORKER, request, {
    timeoutMs: loadTimeoutMs,
    ...(memoryCapBytes !== undefined ? { memoryCapBytes } : {}),
    firstPhase: 'loading the model',
    ...(signal ? { signal } : {}),
    phaseOf: (m) => trialPhase(request.budget, m),
  });
}
