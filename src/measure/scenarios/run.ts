/**
 * The scenarios beyond one warm stream (MLPerf LoadGen's names): offline (maximum throughput
 * over batches and concurrent sessions), multi-stream (N streams issuing back-to-back queries)
 * and server (Poisson arrivals at a rate, latency including queueing, a p99 bound, and the peak
 * rate that meets it). Sessions are worker processes (session-pool.ts); this module schedules.
 */
import type { GpuAdapter } from '../../engines/engine.js';
import { numericsOf, type EngineChoice } from '../../engines/index.js';
import type { Graph } from '../../ir/index.js';
import { compareOutputs, type OutputComparison } from '../compare.js';
import { workerMemoryCapBytes } from '../memory-cap.js';
import { estimateTrialMemory, overCapReason } from '../memory-estimate.js';
import { median } from '../stats.js';
import { loadAllowanceMs } from '../trial.js';
import { boundMet, claimPercentiles, minQueriesFor, type PercentileClaim } from './percentiles.js';
import { findPeakRate, type PeakSearchResult } from './peak-search.js';
import { poissonArrivalsMs } from './poisson.js';
import { overlapFraction, spansIntersect } from './queueing.js';
import { openSessionPool, parentClockMs, type QueryRun, type Session, type SessionPool, type SessionReady } from './session-pool.js';
import { threadSplit, type ThreadSplit } from './threads.js';

export const SCENARIOS = ['single-stream', 'multi-stream', 'server', 'offline'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** The p99 bound of a server run unless one is given, ms. */
export const DEFAULT_P99_BOUND_MS = 20;
/** Warm-up of each session before a measurement, ms: at least 3 runs besides (query-worker.ts). */
export const SESSION_WARMUP_MS = 1000;

/** One model on one engine at one batch with N sessions: what every scenario run starts from. */
export interface ScenarioSetup {
  spec: string;
  onnxPath: string;
  /** The prepared graph: each session's memory is estimated before any starts, as a trial's is. */
  graph: Graph;
  choice: EngineChoice;
  batch: number;
  sessions: number;
  inputSeed: number;
  /** How long each measurement runs after warm-up, ms. */
  durationMs: number;
  /** Warm-up per session before the measurement, ms. */
  warmupMs: number;
  /** The reference engine's output for this model, batch and input: every session's first output is checked against it. */
  reference?: { output: Float32Array; label: string };
}

/** What every scenario result carries: the setup's labels, the thread split and how the sessions started. */
export interface ScenarioCommon {
  model: string;
  engine: string;
  batch: number;
  sessions: number;
  threads: ThreadSplit;
  engineVersion?: string;
  loadMs?: number[];
  firstRunMs?: number[];
  warmMedianMs?: number[];
  peakRssBytes?: number[];
  /** Set when the sessions failed: nothing else was measured. */
  failed?: string;
  /** A GPU engine's WebGPU adapter (a software one is no GPU: its times are the CPU's). */
  gpu?: GpuAdapter;
  /** The worst session's first output against the reference, where one was given. */
  outputs?: OutputComparison;
  /** Set when a session's outputs differ from the reference's: measured, but not to be trusted. */
  mismatch?: string;
}

/** Concurrency as measured: whether the sessions' runs really overlapped in time. */
export interface Concurrency {
  /** Time at least two sessions were running over the time at least one was; absent for one session. */
  overlapFraction?: number;
  /** Whether all sessions' spans (first run to last) intersect. */
  spansIntersect: boolean;
}

export interface ClosedLoopResult extends ScenarioCommon {
  queries?: number;
  wallMs?: number;
  imagesPerS?: number;
  perSessionImagesPerS?: number[];
  concurrency?: Concurrency;
  /** Per-query latency claims (multi-stream). */
  percentiles?: PercentileClaim[];
}

export interface ServerRun {
  targetRatePerS: number;
  queries: number;
  /** Completed queries over the time from the first arrival to the last completion. */
  achievedRatePerS: number;
  percentiles: PercentileClaim[];
  p99BoundMs: number;
  /** Whether p99 ≤ the bound; undefined where the p99 claim is refused. */
  p99Met?: boolean;
  /**
   * How late the parent's timers queued queries after their scheduled arrival, ms (median and
   * most): part of every latency, the harness's own share of it.
   */
  arrivalLateMs: { median: number; max: number };
  /** A find-peak probe stops once more queries are over the bound than a met p99 allows. */
  stoppedEarly?: string;
  concurrency?: Concurrency;
}

export interface ServerResult extends ScenarioCommon {
  run?: ServerRun;
  peak?: PeakSearchResult & { runs: ServerRun[]; /** No probe went below this rate (minProbeRatePerS). */ minRatePerS: number };
}

/** Every session's first output against the reference, the worst one kept, as a trial's outputs are checked. */
function checkOutputs(setup: ScenarioSetup, ready: SessionReady[]): Pick<ScenarioCommon, 'outputs' | 'mismatch'> {
  if (!setup.reference || ready.length === 0) return {};
  const tolerance = numericsOf(setup.choice.engine, setup.choice.options).tolerance;
  const compared = ready.map((r) => compareOutputs(setup.reference!.output, r.output, setup.batch, tolerance));
  const worst = compared.find((c) => !c.matches) ?? compared.reduce((a, b) => (b.relativeError > a.relativeError ? b : a));
  return { outputs: worst, ...(worst.matches ? {} : { mismatch: `outputs differ from ${setup.reference.label}: relative error ${worst.relativeError.toExponential(2)}` }) };
}

function commonOf(setup: ScenarioSetup, pool?: SessionPool, failed?: string): ScenarioCommon {
  const ready: SessionReady[] = pool?.sessions.map((s) => s.ready) ?? [];
  return {
    model: setup.spec,
    engine: setup.choice.label,
    batch: setup.batch,
    sessions: setup.sessions,
    threads: threadSplit(setup.choice, setup.sessions),
    ...(ready.length
      ? { engineVersion: ready[0]!.engineVersion, ...(ready[0]!.gpu ? { gpu: ready[0]!.gpu } : {}), loadMs: ready.map((r) => r.loadMs), firstRunMs: ready.map((r) => r.firstRunMs), warmMedianMs: ready.map((r) => r.warmMedianMs) }
      : {}),
    ...(pool ? { peakRssBytes: pool.peakRssBytes() } : {}),
    ...checkOutputs(setup, ready),
    ...(failed ? { failed } : {}),
  };
}

/** Opens the sessions, runs `measure` on them, and closes them; a failed pool becomes a result that says why. */
async function withPool<T extends ScenarioCommon>(setup: ScenarioSetup, measure: (pool: SessionPool) => Promise<Omit<T, keyof ScenarioCommon>>): Promise<T> {
  let pool: SessionPool | undefined;
  const capBytes = workerMemoryCapBytes();
  // Refused before any worker starts: a session the cap would kill anyway costs nothing.
  const refused = overCapReason(estimateTrialMemory(setup.graph, setup.batch, setup.choice), capBytes);
  if (refused) return { ...commonOf(setup, undefined, refused) } as T;
  try {
    pool = await openSessionPool(
      { spec: setup.spec, onnxPath: setup.onnxPath, engine: setup.choice.engine.name, options: setup.choice.options, batch: setup.batch, inputSeed: setup.inputSeed },
      setup.sessions,
      { warmupMs: setup.warmupMs, loadTimeoutMs: loadAllowanceMs(), memoryCapBytes: capBytes },
    );
    const measured = await measure(pool);
    return { ...commonOf(setup, pool), ...measured } as T;
  } catch (e) {
    return { ...commonOf(setup, pool, (e as Error).message) } as T;
  } finally {
    await pool?.close();
  }
}

function concurrencyOf(sessions: Session[], fromRun: number[]): Concurrency {
  const runs = sessions.map((s, i) => s.runs.slice(fromRun[i]));
  const fraction = overlapFraction(runs);
  return { ...(fraction !== undefined ? { overlapFraction: fraction } : {}), spansIntersect: runs.length < 2 || spansIntersect(runs) };
}

/**
 * Offline: every session runs back to back inside its worker, all from one shared start to one
 * end, with no parent in between (the highest throughput the sessions reach together).
 */
export function runOffline(setup: ScenarioSetup): Promise<ClosedLoopResult> {
  return withPool<ClosedLoopResult>(setup, async (pool) => {
    const from = pool.sessions.map((s) => s.runs.length);
    // Far enough ahead that every worker has the message before the start.
    const startAtMs = parentClockMs() + 100;
    const own = await Promise.all(pool.sessions.map((s) => s.burst(startAtMs, startAtMs + setup.durationMs)));
    return { ...throughputOf(own, setup.batch), concurrency: concurrencyOf(pool.sessions, from) };
  });
}

/**
 * Multi-stream: every session is a stream that issues its next query as soon as the last one
 * answered; latency per query as the parent (the client) sees it, IPC included.
 */
export function runMultiStream(setup: ScenarioSetup): Promise<ClosedLoopResult> {
  return withPool<ClosedLoopResult>(setup, async (pool) => {
    const latencies: number[] = [];
    const from = pool.sessions.map((s) => s.runs.length);
    const endMs = parentClockMs() + setup.durationMs;
    const own = await Promise.all(
      pool.sessions.map(async (s) => {
        const runs = [];
        while (parentClockMs() < endMs) {
          const t0 = parentClockMs();
          runs.push(await s.query());
          latencies.push(parentClockMs() - t0);
        }
        return runs;
      }),
    );
    return { ...throughputOf(own, setup.batch), concurrency: concurrencyOf(pool.sessions, from), percentiles: claimPercentiles(latencies) };
  });
}

/** Images per second of all sessions together (first start to last end) and of each on its own. */
function throughputOf(own: QueryRun[][], batch: number): Pick<ClosedLoopResult, 'queries' | 'wallMs' | 'imagesPerS' | 'perSessionImagesPerS'> {
  const span = (runs: QueryRun[]) => Math.max(...runs.map((r) => r.endMs)) - Math.min(...runs.map((r) => r.startMs));
  const all = own.flat();
  const wallMs = span(all);
  return { queries: all.length, wallMs, imagesPerS: (1000 * all.length * batch) / wallMs, perSessionImagesPerS: own.map((runs) => (1000 * runs.length * batch) / span(runs)) };
}

export interface ServerOptions {
  ratePerS: number;
  p99BoundMs: number;
  seed: number;
  /** At least this many queries, whatever the duration (a find-peak probe: enough for a p99 claim). */
  minQueries?: number;
  /** Stop once the p99 bound can no longer be met (find-peak probes). */
  stopWhenHopeless?: boolean;
}

/** One server run on open sessions: Poisson arrivals queued FIFO to whichever session is free first. */
export function serve(pool: SessionPool, durationMs: number, o: ServerOptions): Promise<ServerRun> {
  const arrivals = poissonArrivalsMs(o.ratePerS, durationMs, o.seed, o.minQueries ?? 0);
  const n = arrivals.length;
  // Beyond this many queries over the bound, p99 is over it whatever the rest do: the type-7
  // quantile at position 0.99·(n − 1) is at least the order statistic at its floor.
  const overAllowed = n - 1 - Math.floor(0.99 * (n - 1));
  const from = pool.sessions.map((s) => s.runs.length);
  return new Promise<ServerRun>((resolve, reject) => {
    const latencies: number[] = [];
    const late: number[] = [];
    const idle = [...pool.sessions];
    const queue: number[] = [];
    let next = 0;
    let inFlight = 0;
    let over = 0;
    let stoppedEarly: string | undefined;
    let lastDoneMs = 0;
    let timer: NodeJS.Timeout | undefined;
    const t0 = parentClockMs() + 2;
    const finished = () => (next === n || stoppedEarly !== undefined) && queue.length === 0 && inFlight === 0;
    const complete = () => {
      clearTimeout(timer);
      const claims = claimPercentiles(latencies);
      const p99 = claims.find((c) => c.q === 0.99)!;
      const met = stoppedEarly ? false : boundMet(p99, o.p99BoundMs);
      resolve({
        targetRatePerS: o.ratePerS,
        queries: latencies.length,
        achievedRatePerS: latencies.length ? (1000 * latencies.length) / (lastDoneMs - t0) : 0,
        percentiles: claims,
        p99BoundMs: o.p99BoundMs,
        arrivalLateMs: { median: late.length ? median(late) : 0, max: late.length ? Math.max(...late) : 0 },
        ...(met !== undefined ? { p99Met: met } : {}),
        ...(stoppedEarly ? { stoppedEarly } : {}),
        concurrency: concurrencyOf(pool.sessions, from),
      });
    };
    const pump = () => {
      while (idle.length > 0 && queue.length > 0) {
        const session = idle.shift()!;
        const i = queue.shift()!;
        inFlight++;
        session.query().then(
          () => {
            const now = parentClockMs();
            const latency = now - (t0 + arrivals[i]!);
            latencies.push(latency);
            lastDoneMs = now;
            inFlight--;
            if (latency > o.p99BoundMs && ++over > overAllowed && o.stopWhenHopeless && !stoppedEarly) {
              stoppedEarly = `stopped after ${latencies.length} of ${n} queries: ${over} over ${o.p99BoundMs} ms, more than a met p99 allows (${overAllowed})`;
              queue.length = 0;
            }
            idle.push(session);
            pump();
            if (finished()) complete();
          },
          (e: unknown) => {
            clearTimeout(timer);
            reject(e as Error);
          },
        );
      }
    };
    const arrive = () => {
      if (stoppedEarly) return;
      const now = parentClockMs() - t0;
      while (next < n && arrivals[next]! <= now) {
        late.push(now - arrivals[next]!);
        queue.push(next++);
      }
      pump();
      if (next < n) timer = setTimeout(arrive, Math.max(0, arrivals[next]! - (parentClockMs() - t0)));
    };
    // A rate so low that no query arrives within the duration: nothing to claim.
    if (n === 0) return complete();
    timer = setTimeout(arrive, Math.max(0, arrivals[0]! - (parentClockMs() - t0)));
  });
}

/** The server scenario: one run at a rate, or (findPeak) the highest rate whose p99 meets the bound. */
export function runServer(setup: ScenarioSetup, o: Omit<ServerOptions, 'minQueries' | 'stopWhenHopeless'> & { findPeak: boolean; maxProbes?: number; startRatePerS?: number; onProbe?: (run: ServerRun) => void }): Promise<ServerResult> {
  return withPool<ServerResult>(setup, async (pool) => {
    if (!o.findPeak) return { run: await serve(pool, setup.durationMs, o) };
    const runs: ServerRun[] = [];
    // The first guess: half of what the sessions could serve back to back at their warm pace,
    // counting a query as at least 1 ms (the parent's timers and IPC cost about that much).
    const warmMs = Math.max(...pool.sessions.map((s) => s.ready.warmMedianMs));
    const startRatePerS = o.startRatePerS ?? roundRate((0.5 * setup.sessions * 1000) / Math.max(warmMs, 1));
    let probe = 0;
    const search = await findPeakRate(
      async (ratePerS) => {
        // Each probe its own seed, so that no two probes share one draw of gaps by accident of scale.
        const run = await serve(pool, setup.durationMs, { ...o, ratePerS, seed: o.seed + probe++, minQueries: minQueriesFor(0.99), stopWhenHopeless: true });
        runs.push(run);
        o.onProbe?.(run);
        return run.p99Met === true;
      },
      { startRatePerS, maxProbes: o.maxProbes ?? 10, minRatePerS: minProbeRatePerS(setup.durationMs) },
    );
    return { peak: { ...search, runs, minRatePerS: minProbeRatePerS(setup.durationMs) } };
  });
}

/**
 * The lowest rate a find-peak probe tries: a probe needs LoadGen's 662 queries for its p99, and
 * below this rate they would take more than a minute (or the duration, if longer) to arrive.
 */
export function minProbeRatePerS(durationMs: number): number {
  return (1000 * minQueriesFor(0.99)) / Math.max(60_000, durationMs);
}

/** A rate to two significant figures, so that probes read as the numbers a user would type. */
function roundRate(r: number): number {
  const scale = 10 ** (Math.floor(Math.log10(r)) - 1);
  return Math.max(scale, Math.round(r / scale) * scale);
}


