/**
 * Statistics of latency samples: robust summaries (median, MAD, percentiles), a distribution-free
 * confidence interval of the median, outliers by the modified Z-score, and ratios of medians.
 */

export interface SampleSummary {
  runs: number;
  medianMs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  p90Ms: number;
  p99Ms: number;
  /** Median absolute deviation from the median. */
  madMs: number;
  /** 95% confidence interval of the median (order statistics; undefined below 6 runs). */
  ciMs?: [number, number];
  /** Half-width of that interval relative to the median. */
  ciRelative?: number;
  /** Samples whose modified Z-score exceeds 3.5. */
  outliers: number;
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Quantile with linear interpolation between order statistics (R's type 7, numpy's default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const s = sorted(values);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function mad(values: readonly number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

/**
 * 95% confidence interval of the median from order statistics: the ranks n/2 ∓ 1.96·√n/2 of the
 * sorted sample (the normal approximation to the binomial), which needs no assumption about the
 * latency distribution. Undefined for fewer than 6 samples, where the ranks fall off the ends.
 */
export function medianConfidenceInterval(values: readonly number[], z = 1.96): [number, number] | undefined {
  const n = values.length;
  const lo = Math.floor(n / 2 - (z * Math.sqrt(n)) / 2);
  const hi = Math.ceil(n / 2 + (z * Math.sqrt(n)) / 2);
  if (lo < 1 || hi > n) return undefined;
  const s = sorted(values);
  return [s[lo - 1]!, s[hi - 1]!];
}

/** Modified Z-score threshold of Iglewicz and Hoaglin. */
export const OUTLIER_Z = 3.5;

/** Count of samples with |0.6745·(x − median) / MAD| above the threshold. */
export function countOutliers(values: readonly number[], threshold = OUTLIER_Z): number {
  const m = median(values);
  const d = mad(values);
  if (d === 0) return values.filter((v) => v !== m).length;
  return values.filter((v) => Math.abs((0.6745 * (v - m)) / d) > threshold).length;
}

export function summarize(samplesMs: readonly number[]): SampleSummary {
  if (samplesMs.length === 0) throw new Error('no samples to summarise');
  const medianMs = median(samplesMs);
  const ciMs = medianConfidenceInterval(samplesMs);
  return {
    runs: samplesMs.length,
    medianMs,
    meanMs: samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length,
    minMs: Math.min(...samplesMs),
    maxMs: Math.max(...samplesMs),
    p90Ms: quantile(samplesMs, 0.9),
    p99Ms: quantile(samplesMs, 0.99),
    madMs: mad(samplesMs),
    ...(ciMs ? { ciMs, ciRelative: (ciMs[1] - ciMs[0]) / 2 / medianMs } : {}),
    outliers: countOutliers(samplesMs),
  };
}

export interface Speedup {
  /** baseline median / candidate median: above 1 means the candidate is faster. */
  ratio: number;
  /** Conservative interval from the two medians' intervals (slowest and fastest combination). */
  interval?: [number, number];
}

export function speedup(baseline: SampleSummary, candidate: SampleSummary): Speedup {
  const ratio = baseline.medianMs / candidate.medianMs;
  if (!baseline.ciMs || !candidate.ciMs) return { ratio };
  return { ratio, interval: [baseline.ciMs[0] / candidate.ciMs[1], baseline.ciMs[1] / candidate.ciMs[0]] };
}
