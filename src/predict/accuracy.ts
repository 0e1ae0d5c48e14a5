/**
 * How good predictions are, in the figures nn-Meter and its successors quote: the share of
 * predictions within ±5% and ±10% of the measurement, the median absolute percentage error, and
 * Spearman's rank correlation (does the predictor order networks as the machine does?).
 */

/** One held-out measurement beside its prediction. */
export interface PredictionCheck {
  model: string;
  engine: string;
  predictedMs: number;
  measuredMs: number;
}

export interface Accuracy {
  count: number;
  /** Share of predictions within ±5% of the measured latency, 0..1. */
  within5: number;
  within10: number;
  /** Median of |predicted − measured| / measured, as a fraction (0.05 = 5%). */
  mdape: number;
  /** Spearman's ρ between predicted and measured latency (ties at their mean rank); NaN below 2 rows. */
  spearman: number;
}

/** |predicted / measured − 1|. */
export function absoluteRelativeError(predicted: number, measured: number): number {
  return Math.abs(predicted / measured - 1);
}

export function accuracyOf(rows: readonly Pick<PredictionCheck, 'predictedMs' | 'measuredMs'>[]): Accuracy {
  const errors = rows.map((r) => absoluteRelativeError(r.predictedMs, r.measuredMs));
  const share = (bound: number) => (errors.length ? errors.filter((e) => e <= bound + 1e-12).length / errors.length : NaN);
  return {
    count: rows.length,
    within5: share(0.05),
    within10: share(0.1),
    mdape: medianOf(errors),
    spearman: spearman(rows.map((r) => r.predictedMs), rows.map((r) => r.measuredMs)),
  };
}

/**
 * Share of (native, accelerated) pairs whose predicted speed-up (native ÷ accelerated latency)
 * is within ±tolerance of the measured one; pairs are matched by model.
 */
export function speedupAgreement(native: readonly PredictionCheck[], accelerated: readonly PredictionCheck[], tolerance = 0.15): { pairs: number; withinShare: number; rows: SpeedupCheck[] } {
  const byModel = new Map(native.map((r) => [r.model, r]));
  const rows: SpeedupCheck[] = [];
  for (const a of accelerated) {
    const n = byModel.get(a.model);
    if (!n) continue;
    const predicted = n.predictedMs / a.predictedMs;
    const measured = n.measuredMs / a.measuredMs;
    rows.push({ model: a.model, predicted, measured, within: absoluteRelativeError(predicted, measured) <= tolerance + 1e-12 });
  }
  return { pairs: rows.length, withinShare: rows.length ? rows.filter((r) => r.within).length / rows.length : NaN, rows };
}

export interface SpeedupCheck {
  model: string;
  predicted: number;
  measured: number;
  within: boolean;
}

export function medianOf(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Ranks from 1, tied values sharing the mean of their ranks. */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Spearman's ρ: Pearson's correlation of the ranks (exact with ties). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length < 2 || a.length !== b.length) return NaN;
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return da === 0 || db === 0 ? NaN : num / Math.sqrt(da * db);
}
