/**
 * Percentile claims with LoadGen's rules: a percentile is stated only where the sample is large
 * enough to support it, and then with a 95% interval from order statistics (as stats.ts does for
 * the median); otherwise the claim is refused with the count it needs.
 */
import { quantile, quantileConfidenceInterval } from '../stats.js';

/**
 * The fewest queries that support a claim about the q-th quantile. The figures are MLPerf
 * LoadGen's (mlcommons/inference, loadgen/early_stopping; its summaries print "Processed at least
 * 64 queries" for a p90 claim; 662 is its minimum for p99). Derived here, the rule that
 * reproduces both is: the smallest n for which, with at most one query over the claimed latency,
 * that outcome had at most a 1% chance were the true quantile higher, i.e.
 * P(Binomial(n, 1 − q) ≤ 1) ≤ 0.01: 64 for p90, 662 for p99 (and 11 for p50). The rule
 * "1 − q^n ≥ 0.999" (no query over) yields 66 and 688 instead, not LoadGen's figures.
 */
export function minQueriesFor(q: number, confidence = 0.99, overLatencyAllowed = 1): number {
  if (!(q > 0 && q < 1)) throw new Error(`a percentile's fraction must be in (0, 1), got ${q}`);
  const p = 1 - q;
  for (let n = overLatencyAllowed + 1; ; n++) {
    // P(X ≤ k) for X ~ Binomial(n, p), summed term by term.
    let term = Math.pow(1 - p, n);
    let cdf = 0;
    for (let i = 0; i <= overLatencyAllowed; i++) {
      cdf += term;
      term *= ((n - i) / (i + 1)) * (p / (1 - p));
    }
    if (cdf <= 1 - confidence) return n;
  }
}

/** The percentiles scenarios claim, as fractions. */
export const CLAIMED_QUANTILES = [0.5, 0.9, 0.99] as const;

export type PercentileClaim =
  | { q: number; label: string; supported: true; valueMs: number; /** 95% interval; absent where its upper rank falls off the sample. */ ciMs?: [number, number]; queries: number; minQueries: number }
  | { q: number; label: string; supported: false; reason: string; queries: number; minQueries: number };

/** 'p50', 'p90', 'p99', 'p99.9'. */
export function percentileLabel(q: number): string {
  return `p${Number((100 * q).toFixed(3))}`;
}

/** A claim about the q-th quantile of these latencies: its value and interval, or refused with the count it needs. */
export function claimPercentile(latenciesMs: readonly number[], q: number): PercentileClaim {
  const label = percentileLabel(q);
  const queries = latenciesMs.length;
  const minQueries = minQueriesFor(q);
  if (queries < minQueries) return { q, label, supported: false, reason: `${label} needs ≥ ${minQueries} queries, got ${queries}`, queries, minQueries };
  const ciMs = quantileConfidenceInterval(latenciesMs, q);
  return { q, label, supported: true, valueMs: quantile(latenciesMs, q), ...(ciMs ? { ciMs } : {}), queries, minQueries };
}

export function claimPercentiles(latenciesMs: readonly number[], quantiles: readonly number[] = CLAIMED_QUANTILES): PercentileClaim[] {
  return quantiles.map((q) => claimPercentile(latenciesMs, q));
}

/** Whether a latency bound on the q-th quantile was met: unknown (undefined) where the claim is refused. */
export function boundMet(claim: PercentileClaim, boundMs: number): boolean | undefined {
  return claim.supported ? claim.valueMs <= boundMs : undefined;
}
