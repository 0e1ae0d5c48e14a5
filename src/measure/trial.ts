import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TimingBudget, TimingResult } from './protocol.js';

/** One trial: a model (an ONNX file prepared by the parent), an engine with options, a batch, a seed. */
export interface TrialRequest {
  spec: string;
  onnxPath: string;
  engine: string;
  options: Record<string, string>;
  batch: number;
  inputSeed: number;
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
  return budget.warmupBudgetMs + budget.timedBudgetMs + 1.5 * (budget.minRuns + 2) * firstRunMs + LOAD_ALLOWANCE_MS;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Time allowed beyond the timing budget for start-up, model loading and compilation. */
export const LOAD_ALLOWANCE_MS = 120_000;

/**
 * Runs a trial in its own worker process, so that a crash, a leak or a hang spoils only this
 * trial: a worker that dies or overruns its time becomes a failed trial with the reason.
 */
export function runTrial(request: TrialRequest, timeoutMs = request.budget.warmupBudgetMs + request.budget.timedBudgetMs + LOAD_ALLOWANCE_MS, signal?: AbortSignal): Promise<TrialResult> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve({ status: 'failed', reason: 'interrupted' });
    const child = fork(WORKER, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let settled = false;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const finish = (result: TrialResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(result);
    };
    const started = Date.now();
    const timeout = () => finish({ status: 'failed', reason: `timed out after ${((Date.now() - started) / 1000).toFixed(0)} s` });
    let timer = setTimeout(timeout, timeoutMs);
    // An interrupted study stops the trial in flight at once rather than waiting for its budget.
    const onAbort = () => finish({ status: 'failed', reason: 'interrupted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (m: TrialResult | TrialProgress) => {
      if ('progress' in m) {
        const limitMs = Math.max(timeoutMs, limitAfterFirstRun(request.budget, m.firstRunMs));
        clearTimeout(timer);
        timer = setTimeout(timeout, Math.max(0, started + limitMs - Date.now()));
        return;
      }
      finish(m);
    });
    child.on('error', (e) => finish({ status: 'failed', reason: `worker could not start: ${e.message}` }));
    child.on('exit', (code, signal) => {
      const last = stderr.trim().split('\n').at(-1);
      const how = signal ? `signal ${signal}${signal === 'SIGKILL' ? ' (out of memory?)' : ''}` : code === 0 ? 'it exited without a result' : `exit code ${code}`;
      finish({ status: 'failed', reason: `worker died (${how})${last ? `: ${last}` : ''}` });
    });
    child.send(request);
  });
}
