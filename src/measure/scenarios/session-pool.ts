/**
 * Concurrent sessions for the scenarios: N worker processes (query-worker.ts), each holding one
 * session of the same model and engine, that the parent hands queries to. Real concurrency comes
 * from the processes; the parent's event loop only schedules and never blocks on an inference.
 * Each worker is watched as trial workers are (worker-process.ts): its tree's resident memory
 * against the cap, a time limit on loading and on every query; over either, or when a worker
 * dies, the whole pool fails with the reason and every worker's tree is killed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { GpuAdapter } from '../../engines/engine.js';
import { defaultWorkerMemoryCapBytes, formatMib } from '../memory-cap.js';
import { killTree, processTree, treeRssBytes } from '../process-tree.js';
import type { WorkerModelRequest } from '../worker-session.js';
import type { RunInterval } from './queueing.js';

export type QueryWorkerRequest =
  | { kind: 'load'; model: WorkerModelRequest; warmupMs: number }
  | { kind: 'query'; id: number }
  /** Run back to back from startAtMs until untilMs (shared clock), then report every run. */
  | { kind: 'burst'; id: number; startAtMs: number; untilMs: number }
  | { kind: 'stop' };

export type QueryWorkerReply =
  | { kind: 'ready'; engineVersion: string; loadMs: number; firstRunMs: number; warmRuns: number; warmMedianMs: number; output: Float32Array; gpu?: GpuAdapter }
  | { kind: 'done'; id: number; startMs: number; endMs: number }
  /** start, end, start, end, … of every run of a burst. */
  | { kind: 'burst-done'; id: number; times: Float64Array }
  | { kind: 'failed'; reason: string }
  | { kind: 'stopped' };

export interface SessionReady {
  engineVersion: string;
  loadMs: number;
  firstRunMs: number;
  warmRuns: number;
  warmMedianMs: number;
  /** The session's first output, for the check against the reference engine. */
  output: Float32Array;
  /** A GPU engine's WebGPU adapter: a software one is no GPU. */
  gpu?: GpuAdapter;
}

/** One query's run inside its session, on the sessions' shared clock. */
export type QueryRun = RunInterval;

export interface Session {
  index: number;
  ready: SessionReady;
  /** Runs one inference; rejects when the pool has failed. */
  query(): Promise<QueryRun>;
  /** Runs back to back inside the worker from startAtMs to untilMs (shared clock); resolves with those runs. */
  burst(startAtMs: number, untilMs: number): Promise<QueryRun[]>;
  /** Every run so far, in order. */
  runs: QueryRun[];
}

export interface SessionPool {
  sessions: Session[];
  /** Peak resident memory seen per worker tree, bytes. */
  peakRssBytes(): number[];
  close(): Promise<void>;
}

const WORKER = fileURLToPath(new URL('./query-worker.js', import.meta.url));
const MEMORY_SAMPLE_MS = 150;
/** A query that takes this much longer than a warm run (or 30 s) is a hung session. */
const QUERY_LIMIT_FACTOR = 100;

export class PoolFailure extends Error {}

/** Starts `count` sessions and resolves once every one is loaded and warm; rejects (PoolFailure) with the first reason one failed. */
export async function openSessionPool(model: WorkerModelRequest, count: number, options: { warmupMs: number; loadTimeoutMs: number; memoryCapBytes?: number }): Promise<SessionPool> {
  const capBytes = options.memoryCapBytes ?? defaultWorkerMemoryCapBytes();
  const children: ChildProcess[] = [];
  const peaks: number[] = [];
  let failure: string | undefined;
  const onFailure = new Set<(reason: string) => void>();
  const fail = (reason: string) => {
    if (failure) return;
    failure = reason;
    for (const f of onFailure) f(reason);
    killAll();
  };
  const killAll = () => {
    clearInterval(sampler);
    for (const c of children) if (c.pid !== undefined && c.exitCode === null) killTree(c.pid);
  };
  const sampler = setInterval(() => {
    children.forEach((c, i) => {
      if (c.pid === undefined) return;
      const rss = treeRssBytes(processTree(c.pid));
      if (rss === undefined) return;
      peaks[i] = Math.max(peaks[i] ?? 0, rss);
      if (rss > capBytes) fail(`session ${i + 1} exceeded its memory cap of ${formatMib(capBytes)}`);
    });
  }, MEMORY_SAMPLE_MS);
  let closing = false;
  const start = (index: number) =>
    new Promise<Session>((resolve, reject) => {
      const child = fork(WORKER, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      children[index] = child;
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      const pending = new Map<number, { resolve: (r: QueryRun) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
      const bursts = new Map<number, { resolve: (r: QueryRun[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
      let nextId = 0;
      const loadTimer = setTimeout(() => fail(`session ${index + 1} timed out after ${(options.loadTimeoutMs / 1000).toFixed(0)} s while loading the model and warming up`), options.loadTimeoutMs);
      onFailure.add((reason) => {
        clearTimeout(loadTimer);
        reject(new PoolFailure(reason));
        for (const p of [...pending.values(), ...bursts.values()]) {
          clearTimeout(p.timer);
          p.reject(new PoolFailure(reason));
        }
        pending.clear();
        bursts.clear();
      });
      child.on('error', (e) => fail(`session ${index + 1} could not start: ${e.message}`));
      child.on('exit', (code, signal) => {
        if (closing) return;
        const last = stderr.trim().split('\n').at(-1);
        fail(`session ${index + 1} died (${signal ? `signal ${signal}` : `exit code ${code}`})${last ? `: ${last}` : ''}`);
      });
      let session: Session | undefined;
      child.on('message', (m: QueryWorkerReply) => {
        if (m.kind === 'failed') return fail(`session ${index + 1}: ${m.reason}`);
        if (m.kind === 'ready') {
          clearTimeout(loadTimer);
          const limitMs = Math.max(30_000, QUERY_LIMIT_FACTOR * m.warmMedianMs);
          session = {
            index,
            ready: { engineVersion: m.engineVersion, loadMs: m.loadMs, firstRunMs: m.firstRunMs, warmRuns: m.warmRuns, warmMedianMs: m.warmMedianMs, output: m.output, ...(m.gpu ? { gpu: m.gpu } : {}) },
            runs: [],
            query: () =>
              new Promise<QueryRun>((res, rej) => {
                if (failure) return rej(new PoolFailure(failure));
                const id = nextId++;
                const timer = setTimeout(() => fail(`session ${index + 1} timed out after ${(limitMs / 1000).toFixed(0)} s on one query`), limitMs);
                pending.set(id, { resolve: res, reject: rej, timer });
                child.send({ kind: 'query', id } satisfies QueryWorkerRequest);
              }),
            burst: (startAtMs, untilMs) =>
              new Promise<QueryRun[]>((res, rej) => {
                if (failure) return rej(new PoolFailure(failure));
                const id = nextId++;
                const burstLimitMs = untilMs - parentClockMs() + limitMs;
                const timer = setTimeout(() => fail(`session ${index + 1} timed out after ${(burstLimitMs / 1000).toFixed(0)} s on a burst of runs`), burstLimitMs);
                bursts.set(id, { resolve: res, reject: rej, timer });
                child.send({ kind: 'burst', id, startAtMs, untilMs } satisfies QueryWorkerRequest);
              }),
          };
          return resolve(session);
        }
        if (m.kind === 'done') {
          const p = pending.get(m.id);
          if (!p) return;
          pending.delete(m.id);
          clearTimeout(p.timer);
          const run = { startMs: m.startMs, endMs: m.endMs };
          session!.runs.push(run);
          p.resolve(run);
        }
        if (m.kind === 'burst-done') {
          const b = bursts.get(m.id);
          if (!b) return;
          bursts.delete(m.id);
          clearTimeout(b.timer);
          const runs: QueryRun[] = [];
          for (let k = 0; k + 1 < m.times.length; k += 2) runs.push({ startMs: m.times[k]!, endMs: m.times[k + 1]! });
          session!.runs.push(...runs);
          b.resolve(runs);
        }
      });
      child.send({ kind: 'load', model, warmupMs: options.warmupMs } satisfies QueryWorkerRequest);
    });
  try {
    // Loaded one after another, so that load times and peaks are not each other's; they run together.
    const sessions: Session[] = [];
    for (let i = 0; i < count; i++) sessions.push(await start(i));
    return {
      sessions,
      peakRssBytes: () => [...peaks],
      close: async () => {
        closing = true;
        await Promise.all(
          children.map(
            (c) =>
              new Promise<void>((resolve) => {
                if (c.exitCode !== null || !c.connected) return resolve();
                const t = setTimeout(() => resolve(), 10_000);
                c.once('exit', () => {
                  clearTimeout(t);
                  resolve();
                });
                c.send({ kind: 'stop' } satisfies QueryWorkerRequest);
              }),
          ),
        );
        killAll();
      },
    };
  } catch (e) {
    closing = true;
    killAll();
    throw e;
  }
}

/** The parent's clock, on the same scale as the sessions' (origin on the system clock, monotonic since). */
export const parentClockMs = () => performance.timeOrigin + performance.now();
