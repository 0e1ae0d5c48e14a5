/**
 * How well a point's static cost or counted misses predict its latency: the correlations the
 * latency-vs-MACs and misses figures print and the findings state.
 */
import { pearson, spearman } from '../measure/index.js';
import type { LatencyPoint } from './types.js';

/** Pearson on the values, Spearman on their ranks; each absent where undefined (too few points, a constant series). */
export interface Correlation {
  pearson?: number;
  spearman?: number;
}

function correlation(xs: number[], ys: number[]): Correlation {
  const r = pearson(xs, ys);
  const rho = spearman(xs, ys);
  return { ...(r !== undefined ? { pearson: r } : {}), ...(rho !== undefined ? { spearman: rho } : {}) };
}

/** The points whose last-level cache misses were counted. */
export const counted = (points: LatencyPoint[]): LatencyPoint[] => points.filter((p) => p.counters?.llcMisses != null);

/** Per engine: how well MACs predict latency (Pearson on the values, Spearman on their ranks). */
export function macCorrelations(points: LatencyPoint[]): ({ engine: string; n: number } & Correlation)[] {
  return [...new Set(points.map((p) => p.engine))].map((engine) => {
    const ps = points.filter((p) => p.engine === engine);
    return { engine, n: ps.length, ...correlation(ps.map((p) => p.macs), ps.map((p) => p.medianMs)) };
  });
}

export interface MissCorrelation {
  engine: string;
  n: number;
  missesLatency: Correlation;
  missesMacs: Correlation;
}

/** Per engine: how well misses predict latency, and how well MACs predict misses. */
export function missCorrelations(points: LatencyPoint[]): MissCorrelation[] {
  const ps = counted(points);
  return [...new Set(ps.map((p) => p.engine))].map((engine) => {
    const e = ps.filter((p) => p.engine === engine);
    const misses = e.map((p) => p.counters!.llcMisses!);
    return { engine, n: e.length, missesLatency: correlation(misses, e.map((p) => p.medianMs)), missesMacs: correlation(misses, e.map((p) => p.macs)) };
  });
}
