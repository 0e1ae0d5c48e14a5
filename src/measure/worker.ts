/**
 * The trial worker: a child process that loads one model into one engine, warms up, times the
 * runs and reports back over IPC. It runs nothing else, so its timings share the process with no
 * other trial.
 */
import { performance } from 'node:perf_hooks';
import { lifecycleProbe, type TrialLifecycle } from './lifecycle.js';
import { timeRuns } from './protocol.js';
import type { TrialProgress, TrialRequest, TrialResult } from './trial.js';
import { loadWorkerSession, serveOneRequest } from './worker-session.js';

/** Each phase is announced as it starts: the parent gives each its own time limit (trial.ts). */
const enter = (phase: 'first-run' | 'kernel-precision' | 'placement' | 'teardown') => process.send!({ progress: 'phase', phase } satisfies TrialProgress);

async function trial(r: TrialRequest): Promise<TrialResult> {
  const loaded = await loadWorkerSession(r);
  if (!loaded.ok) return { status: 'failed', reason: loaded.reason };
  const { session, input, dims, loadMs, engineVersion, gpu } = loaded;
  try {
    enter('first-run');
    const firstStart = performance.now();
    const output = Float32Array.from(await session.run(input, dims));
    // Kept apart from the steady state: allocation, and on a GPU shader compilation.
    const firstRunMs = performance.now() - firstStart;
    // The parent's time limit depends on how long one run takes: tell it.
    const progress: TrialProgress = { progress: 'first-run', firstRunMs };
    process.send!(progress);
    const engineClock = session.timedRun ? () => session.timedRun!(input, dims) : undefined;
    // Memory, CPU time, frequency and energy over the timed runs alone (warm-up excluded).
    const probe = lifecycleProbe();
    let lifecycle: TrialLifecycle | undefined;
    const marks = { timedStart: () => probe.start(), timedEnd: (runs: number) => void (lifecycle = probe.stop(runs)) };
    const timing = await timeRuns(() => session.run(input, dims), r.budget, engineClock, session.clockMs, marks);
    // After the timed runs, so the profiled session never shares the process with them.
    if (session.kernelPrecision) enter('kernel-precision');
    const kernels = session.kernelPrecision ? await session.kernelPrecision(input, dims).catch(() => undefined) : undefined;
    if (session.placement) enter('placement');
    const placement = session.placement ? await session.placement(input, dims).catch(() => undefined) : undefined;
    return { status: 'ok', engineVersion, loadMs, firstRunMs, timing, output, ...(lifecycle ? { lifecycle } : {}), ...(kernels ? { kernels } : {}), ...(gpu ? { gpu } : {}), ...(placement ? { placement } : {}) };
  } finally {
    enter('teardown');
    await session.dispose();
  }
}

serveOneRequest(trial);
