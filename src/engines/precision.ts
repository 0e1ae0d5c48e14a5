import type { Numerics } from './engine.js';

/**
 * The precision vocabulary engines share and the output tolerance each precision implies.
 *
 * FP32 engines differ by reordered sums; beyond FP32_TOLERANCE the outputs disagree. The lower
 * precisions' tolerances catch a broken conversion (garbage, NaN, a wrong layout), not the
 * expected rounding: FP16 keeps 11 significant bits, BF16 8, and INT8 rounds every activation to
 * 1/255 of its calibrated range, so their errors grow with depth. The error itself is always
 * stored and reported beside the speed-up.
 */
export const FP32_TOLERANCE = 1e-3;

export const PRECISION_TOLERANCE = { fp32: FP32_TOLERANCE, fp16: 0.05, bf16: 0.25, 'bf16-autocast': 0.25, int8: 0.5 } as const;
export type Precision = keyof typeof PRECISION_TOLERANCE;

/** Numerics of an engine whose `precision` option names one of the shared precisions. */
export function numericsOfPrecisionOption(options: Record<string, string>): Numerics {
  const precision = (options['precision'] ?? 'fp32') as Precision;
  return { precision, tolerance: PRECISION_TOLERANCE[precision] ?? FP32_TOLERANCE };
}

export const FP32_NUMERICS: Numerics = { precision: 'fp32', tolerance: FP32_TOLERANCE };
