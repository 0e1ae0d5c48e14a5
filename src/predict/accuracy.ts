/**
 * How good predictions are, in the figures nn-Meter and its successors quote: the share of
 * predictions within ±5% and ±10% of the measurement, the median absolute percentage error, and
 * Spearman's rank correlation (does the predictor order networks as the machine does?).
 */

import { median, spearman as rankCorrelation } from '../measure/stats.js';

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

/**
 * How far the machine moves on its own: among held-out networks measured in two rounds or more,
 * the share whose first round's median is within ±tolerance of the second's — what a perfect
 * predictor of one round would score on the other. NaN when no network has two rounds.
 */
export function repeatabilityOf(rows: readonly { measuredRoundsMs: readonly number[] }[], tolerance = 0.1): { networks: number; within: number } {
  const twice = rows.filter((r) => r.measuredRoundsMs.length >= 2);
  const agree = twice.filter((r) => absoluteRelativeError(r.measuredRoundsMs[0]!, r.measuredRoundsMs[1]!) <= tolerance + 1e-12).length;
  return { networks: twice.length, within: twice.length ? agree / twice.length : NaN };
}

export interface SpeedupCheck {
  model: string;
  predicted: number;
  measured: number;
  within: boolean;
}

/** The median, NaN for no values (an empty class or held-out set has no error to quote). */
export function medianOf(xs: readonly number[]): number {
  return xs.length ? median(xs) : NaN;
}

/** Spearman's ρ (measure/stats.ts: Pearson's on the ranks, exact with ties), NaN where it is undefined (under 3 pairs, a constant series). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  return a.length === b.length ? (rankCorrelation(a, b) ?? NaN) : NaN;
}
