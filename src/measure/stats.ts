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
 * 95% interval of the q-th quantile from order statistics: the ranks n·q ∓ 1.96·√(n·q·(1 − q)) of
 * the sorted sample (the normal approximation to the binomial count below the quantile), which
 * needs no assumption about the latency distribution. Undefined where a rank falls off the sample
 * (for the median: fewer than 6 samples).
 */
export function quantileConfidenceInterval(values: readonly number[], q: number, z = 1.96): [number, number] | undefined {
  const n = values.length;
  const half = z * Math.sqrt(n * q * (1 - q));
  const lo = Math.floor(n * q - half);
  const hi = Math.ceil(n * q + half);
  if (lo < 1 || hi > n) return undefined;
  const s = sorted(values);
  return [s[lo - 1]!, s[hi - 1]!];
}

/** 95% confidence interval of the median: the ranks n/2 ∓ 1.96·√n/2 (see quantileConfidenceInterval). */
export function medianConfidenceInterval(values: readonly number[], z = 1.96): [number, number] | undefined {
  return quantileConfidenceInterval(values, 0.5, z);
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

/** A median and its 95% interval where there is one: a summary, or a stored trial through medianOf. */
export type MedianEstimate = Pick<SampleSummary, 'medianMs' | 'ciMs'>;

export function speedup(baseline: MedianEstimate, candidate: MedianEstimate): Speedup {
  const ratio = baseline.medianMs / candidate.medianMs;
  if (!baseline.ciMs || !candidate.ciMs) return { ratio };
  return { ratio, interval: [baseline.ciMs[0] / candidate.ciMs[1], baseline.ciMs[1] / candidate.ciMs[0]] };
}

/** A median whose interval is stored as two ends, null where too few runs gave one. */
export interface StoredMedian {
  medianMs: number;
  ciLowMs: number | null;
  ciHighMs: number | null;
}

/** A stored median as speedup() takes it: an interval only where both ends are known. */
export function medianOf(m: StoredMedian): MedianEstimate {
  return m.ciLowMs !== null && m.ciHighMs !== null ? { medianMs: m.medianMs, ciMs: [m.ciLowMs, m.ciHighMs] } : { medianMs: m.medianMs };
}

/** Pearson's linear correlation; undefined for fewer than 3 pairs or a constant series. */
export function pearson(xs: readonly number[], ys: readonly number[]): number | undefined {
  const n = xs.length;
  if (n !== ys.length) throw new Error('pearson needs equally long series');
  if (n < 3) return undefined;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? undefined : sxy / Math.sqrt(sxx * syy);
}

/** Ranks from 1, ties sharing their average rank (as Spearman's coefficient requires). */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const result = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) result[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return result;
}

/** Spearman's rank correlation: Pearson's on the ranks, so any monotonic relation scores 1. */
export function spearman(xs: readonly number[], ys: readonly number[]): number | undefined {
  return pearson(ranks(xs), ranks(ys));
}

/** The mean of ratios that treats 2× and 0.5× symmetrically. */
export function geometricMean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('geometric mean of no values');
  return Math.exp(values.reduce((s, v) => s + Math.log(v), 0) / values.length);
}
