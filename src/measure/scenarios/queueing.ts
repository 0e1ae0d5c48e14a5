/**
 * What the scenarios compute from when queries ran, apart from running them: the latencies of a
 * FIFO queue served by N sessions under a service-time model (the deterministic stand-in the
 * tests drive instead of real workers), and how far concurrent sessions really overlapped.
 */

/** A query's service time, ms, by its index: a model of the engine for simulations. */
export type ServiceTimeMs = (query: number) => number;

/**
 * Latencies, ms, of queries arriving at `arrivalsMs` (sorted), queued FIFO to `sessions`
 * sessions, each query taken by the session free first: completion − arrival, queueing included.
 */
export function simulateQueue(arrivalsMs: readonly number[], sessions: number, serviceMs: ServiceTimeMs): number[] {
  const freeAtMs = new Array<number>(sessions).fill(0);
  return arrivalsMs.map((arrival, i) => {
    let s = 0;
    for (let k = 1; k < sessions; k++) if (freeAtMs[k]! < freeAtMs[s]!) s = k;
    const start = Math.max(arrival, freeAtMs[s]!);
    freeAtMs[s] = start + serviceMs(i);
    return freeAtMs[s]! - arrival;
  });
}

/** When one inference ran in one session, ms on a clock all sessions share. */
export interface RunInterval {
  startMs: number;
  endMs: number;
}

/**
 * How much concurrent sessions ran at the same time: the time at least two sessions were busy
 * over the time at least one was (1: always together; 0: they took turns). Undefined for one session.
 */
export function overlapFraction(sessions: readonly (readonly RunInterval[])[]): number | undefined {
  if (sessions.length < 2) return undefined;
  const events: [number, number][] = [];
  for (const runs of sessions) for (const r of runs) events.push([r.startMs, 1], [r.endMs, -1]);
  // Ends before starts at the same instant: touching runs do not overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let busy = 0;
  let anyMs = 0;
  let twoMs = 0;
  for (let i = 0; i < events.length; i++) {
    busy += events[i]![1];
    const next = events[i + 1];
    if (!next) break;
    const dt = next[0] - events[i]![0];
    if (busy >= 1) anyMs += dt;
    if (busy >= 2) twoMs += dt;
  }
  return anyMs > 0 ? twoMs / anyMs : 0;
}

/** Whether every pair of sessions' spans (first start to last end) intersect. */
export function spansIntersect(sessions: readonly (readonly RunInterval[])[]): boolean {
  const spans = sessions.filter((r) => r.length > 0).map((r) => [Math.min(...r.map((x) => x.startMs)), Math.max(...r.map((x) => x.endMs))] as const);
  if (spans.length < sessions.length) return false;
  return Math.max(...spans.map((s) => s[0])) < Math.min(...spans.map((s) => s[1]));
}
