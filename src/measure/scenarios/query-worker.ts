/**
 * A scenario's session worker: a child process that loads one model into one engine, warms it
 * up, then runs one inference per query the parent sends, for as long as the parent sends them.
 * The parent schedules (arrivals, streams); several such workers are the concurrent sessions.
 */
import { performance } from 'node:perf_hooks';
import { median } from '../stats.js';
import { loadWorkerSession } from '../worker-session.js';
import type { QueryWorkerReply, QueryWorkerRequest } from './session-pool.js';

/** A clock the sessions share: each process's origin on the system clock, plus its monotonic time. */
const sharedClockMs = () => performance.timeOrigin + performance.now();

const send = (m: QueryWorkerReply): void => {
  process.send!(m);
};
process.once('disconnect', () => process.exit(1));

let running: { run: () => Promise<Float32Array>; dispose: () => Promise<void> | void } | undefined;

process.on('message', (m: QueryWorkerRequest) => {
  void handle(m).catch((e: unknown) => send({ kind: 'failed', reason: (e as Error).message.split('\n')[0]! }));
});

async function handle(m: QueryWorkerRequest): Promise<void> {
  if (m.kind === 'load') {
    const loaded = await loadWorkerSession(m.model);
    if (!loaded.ok) return send({ kind: 'failed', reason: loaded.reason });
    const { session, input, dims } = loaded;
    running = { run: () => session.run(input, dims), dispose: () => session.dispose() };
    const t0 = performance.now();
    // The first run's output goes back with 'ready': the parent checks it against the reference.
    const output = await running.run();
    const firstRunMs = performance.now() - t0;
    // Warm-up: a fixed time (at least 3 runs), so that steady state is what the scenario measures.
    const warm: number[] = [];
    const warmStart = performance.now();
    while (warm.length < 3 || performance.now() - warmStart < m.warmupMs) {
      const w0 = performance.now();
      await running.run();
      warm.push(performance.now() - w0);
    }
    return send({ kind: 'ready', engineVersion: loaded.engineVersion, loadMs: loaded.loadMs, firstRunMs, warmRuns: warm.length, warmMedianMs: median(warm), output, ...(loaded.gpu ? { gpu: loaded.gpu } : {}) });
  }
  if (m.kind === 'query') {
    const startMs = sharedClockMs();
    await running!.run();
    return send({ kind: 'done', id: m.id, startMs, endMs: sharedClockMs() });
  }
  if (m.kind === 'burst') {
    // Back to back from a start shared by every session until the end, with no parent in between.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, m.startAtMs - sharedClockMs())));
    const times: number[] = [];
    while (sharedClockMs() < m.untilMs) {
      const startMs = sharedClockMs();
      await running!.run();
      times.push(startMs, sharedClockMs());
    }
    return send({ kind: 'burst-done', id: m.id, times: Float64Array.from(times) });
  }
  await running?.dispose();
  process.send!({ kind: 'stopped' } satisfies QueryWorkerReply, () => process.exit(0));
}
