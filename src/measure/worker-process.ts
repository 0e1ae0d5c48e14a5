/**
 * Running one worker process (a trial, a profile) and getting its one result back: a worker that
 * dies, cannot start, overruns its time or is interrupted becomes a failed result with the
 * reason, so that a crashing engine spoils only its own measurement.
 */
import { fork, type Serializable } from 'node:child_process';

/** A message a worker sends before its result: it carries no `status`. */
export interface WorkerProgress {
  progress: string;
}

export interface WorkerRunOptions<P extends WorkerProgress> {
  /** Time limit from the start, ms. */
  timeoutMs: number;
  /** Stops the worker at once, e.g. when a study is interrupted. */
  signal?: AbortSignal;
  /** A new time limit from the start, ms, given a progress message (e.g. how long one run took). */
  limitAfterProgress?: (m: P) => number;
}

export function runWorkerProcess<R extends { status: string }, P extends WorkerProgress = never>(
  workerPath: string,
  request: Serializable,
  options: WorkerRunOptions<P>,
): Promise<R | { status: 'failed'; reason: string }> {
  type Result = R | { status: 'failed'; reason: string };
  const { signal } = options;
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve({ status: 'failed', reason: 'interrupted' });
    const child = fork(workerPath, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let settled = false;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const finish = (result: Result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(result);
    };
    const started = Date.now();
    const timeout = () => finish({ status: 'failed', reason: `timed out after ${((Date.now() - started) / 1000).toFixed(0)} s` });
    let timer = setTimeout(timeout, options.timeoutMs);
    // An interrupted study stops the worker in flight at once rather than waiting for its budget.
    const onAbort = () => finish({ status: 'failed', reason: 'interrupted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (m: R | P) => {
      if ('progress' in m) {
        if (options.limitAfterProgress) {
          const limitMs = Math.max(options.timeoutMs, options.limitAfterProgress(m));
          clearTimeout(timer);
          timer = setTimeout(timeout, Math.max(0, started + limitMs - Date.now()));
        }
        return;
      }
      finish(m);
    });
    child.on('error', (e) => finish({ status: 'failed', reason: `worker could not start: ${e.message}` }));
    child.on('exit', (code, exitSignal) => {
      const last = stderr.trim().split('\n').at(-1);
      const how = exitSignal ? `signal ${exitSignal}${exitSignal === 'SIGKILL' ? ' (out of memory?)' : ''}` : code === 0 ? 'it exited without a result' : `exit code ${code}`;
      finish({ status: 'failed', reason: `worker died (${how})${last ? `: ${last}` : ''}` });
    });
    child.send(request);
  });
}
