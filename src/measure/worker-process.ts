/**
 * Running one worker process (a trial, a profile) and getting its one result back: a worker that
 * dies, cannot start, overruns its time or its memory, or is interrupted becomes a failed result
 * with the reason, so that a crashing, hanging or runaway engine spoils only its own measurement.
 */
import { fork, type Serializable } from 'node:child_process';
import { killPids, killTree, peakRssBytes, processTree, treeRssBytes } from './process-tree.js';
import { defaultWorkerMemoryCapBytes, formatMib } from './memory-cap.js';

/** A message a worker sends before its result: it carries no `status`. */
export interface WorkerProgress {
  progress: string;
}

/** A phase a progress message starts: what the worker does now (for a timeout's reason) and its limit. */
export interface WorkerPhase {
  /** 'loading the model', 'warming up and timing the runs', …: read after "while". */
  doing: string;
  /** Time limit from the message on, ms. */
  limitMs: number;
}

export interface WorkerRunOptions<P extends WorkerProgress> {
  /** Time limit from the start, ms (for the first phase, where the worker reports phases). */
  timeoutMs: number;
  /** What the worker does from its start until its first phase message, for a timeout's reason. */
  firstPhase?: string;
  /** Stops the worker at once, e.g. when a study is interrupted. */
  signal?: AbortSignal;
  /** A new time limit from the start, ms, given a progress message (e.g. how long one run took). */
  limitAfterProgress?: (m: P) => number;
  /** The phase a progress message starts, if it starts one: its limit then replaces every other. */
  phaseOf?: (m: P) => WorkerPhase | undefined;
  /** Resident memory the worker and its children may use together, bytes (default: memory-cap.ts). */
  memoryCapBytes?: number;
}

/** Every worker's outcome carries the most memory it was seen to hold, where /proc tells. */
export interface WorkerMemory {
  /** Peak resident memory of the worker and its children, bytes. */
  peakRssBytes?: number;
}

/**
 * How often the parent samples the worker tree's memory: a runaway engine allocating 1 GB/s
 * overshoots its cap by at most ~150 MB, and reading a handful of /proc files costs well under
 * a millisecond of the parent's time, which is idle while a trial runs.
 */
const MEMORY_SAMPLE_MS = 150;

export function runWorkerProcess<R extends { status: string }, P extends WorkerProgress = never>(
  workerPath: string,
  request: Serializable,
  options: WorkerRunOptions<P>,
): Promise<(R | { status: 'failed'; reason: string }) & WorkerMemory> {
  type Result = R | { status: 'failed'; reason: string };
  const { signal } = options;
  const capBytes = options.memoryCapBytes ?? defaultWorkerMemoryCapBytes();
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve({ status: 'failed', reason: 'interrupted' });
    const child = fork(workerPath, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let settled = false;
    let stderr = '';
    let seenPeakBytes: number | undefined;
    let lastTree: number[] = [];
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const finish = (result: Result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(sampler);
      signal?.removeEventListener('abort', onAbort);
      // The kernel's high-water mark catches the worker's own peak between two samples.
      const workerPeak = child.pid !== undefined ? peakRssBytes(child.pid) : undefined;
      const peak = Math.max(seenPeakBytes ?? 0, workerPeak ?? 0);
      // The whole tree, every time: a hung or runaway Python child outlives a killed worker otherwise.
      // A worker that died on its own has orphaned its children, which /proc no longer links to
      // it: those seen at the last sample (150 ms ago at most, too soon for a pid to be reused) go too.
      if (child.pid !== undefined) killTree(child.pid);
      killPids(lastTree.slice(1));
      resolve({ ...result, ...(peak > 0 ? { peakRssBytes: peak } : {}) });
    };
    const started = Date.now();
    let phase: WorkerPhase = { doing: options.firstPhase ?? '', limitMs: options.timeoutMs };
    let phaseStarted = started;
    // Where phases are reported, the time is the phase's own: the one its limit applies to.
    const timeout = () => {
      const elapsedS = ((Date.now() - phaseStarted) / 1000).toFixed(0);
      finish({ status: 'failed', reason: `timed out after ${elapsedS} s${phase.doing ? ` while ${phase.doing}` : ''}` });
    };
    let timer = setTimeout(timeout, options.timeoutMs);
    const sampler = setInterval(() => {
      if (child.pid === undefined) return;
      lastTree = processTree(child.pid);
      const rss = treeRssBytes(lastTree);
      if (rss === undefined) return;
      seenPeakBytes = Math.max(seenPeakBytes ?? 0, rss);
      if (rss > capBytes) finish({ status: 'failed', reason: `worker exceeded its memory cap of ${formatMib(capBytes)} (peak seen ${formatMib(seenPeakBytes)})` });
    }, MEMORY_SAMPLE_MS);
    // An interrupted study stops the worker in flight at once rather than waiting for its budget.
    const onAbort = () => finish({ status: 'failed', reason: 'interrupted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (m: R | P) => {
      if ('progress' in m) {
        const next = options.phaseOf?.(m);
        if (next) {
          phase = next;
          phaseStarted = Date.now();
          clearTimeout(timer);
          timer = setTimeout(timeout, next.limitMs);
        } else if (options.limitAfterProgress) {
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
