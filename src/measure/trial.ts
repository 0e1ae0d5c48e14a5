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

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Time allowed beyond the timing budget for start-up, model loading and compilation. */
export const LOAD_ALLOWANCE_MS = 120_000;

/**
 * Runs a trial in its own worker process, so that a crash, a leak or a hang spoils only this
 * trial: a worker that dies or overruns its time becomes a failed trial with the reason.
 */
export function runTrial(request: TrialRequest, timeoutMs = request.budget.warmupBudgetMs + request.budget.timedBudgetMs + LOAD_ALLOWANCE_MS): Promise<TrialResult> {
  return new Promise((resolve) => {
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
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(result);
    };
    const timer = setTimeout(() => finish({ status: 'failed', reason: `timed out after ${(timeoutMs / 1000).toFixed(0)} s` }), timeoutMs);
    child.on('message', (m: TrialResult) => finish(m));
    child.on('error', (e) => finish({ status: 'failed', reason: `worker could not start: ${e.message}` }));
    child.on('exit', (code, signal) => {
      const last = stderr.trim().split('\n').at(-1);
      const how = signal ? `signal ${signal}${signal === 'SIGKILL' ? ' (out of memory?)' : ''}` : code === 0 ? 'it exited without a result' : `exit code ${code}`;
      finish({ status: 'failed', reason: `worker died (${how})${last ? `: ${last}` : ''}` });
    });
    child.send(request);
  });
}
