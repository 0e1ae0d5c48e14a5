/** Output agreement between an engine and the reference engine. */
export interface OutputComparison {
  maxAbsError: number;
  /** Largest absolute error relative to the reference's largest magnitude. */
  relativeError: number;
  /** Fraction of rows (images) whose arg-max class is the same. */
  top1Agreement: number;
  matches: boolean;
}

/** FP32 engines differ by reordered sums; beyond this relative error the outputs disagree. */
export const FP32_TOLERANCE = 1e-3;

/**
 * Relative error against the FP32 reference beyond which a lower-precision trial is called a
 * mismatch. These catch a broken conversion (garbage, NaN, a wrong layout), not the expected
 * rounding: FP16 keeps 11 significant bits, BF16 8, and INT8 rounds every activation to 1/255 of
 * its calibrated range, so their errors grow with depth. The error itself is always stored and
 * reported beside the speed-up.
 */
export const PRECISION_TOLERANCE: Record<string, number> = { fp32: FP32_TOLERANCE, fp16: 0.05, bf16: 0.25, 'bf16-autocast': 0.25, int8: 0.5 };

/** The tolerance for an engine's resolved options (`precision` absent means FP32). */
export function toleranceFor(options: Record<string, string>): number {
  return PRECISION_TOLERANCE[options['precision'] ?? 'fp32'] ?? FP32_TOLERANCE;
}

export function compareOutputs(reference: Float32Array, candidate: Float32Array, rows: number, tolerance = FP32_TOLERANCE): OutputComparison {
  if (reference.length !== candidate.length) {
    return { maxAbsError: Infinity, relativeError: Infinity, top1Agreement: 0, matches: false };
  }
  let maxAbsError = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = Math.abs(reference[i]! - candidate[i]!);
    if (!(d <= maxAbsError)) maxAbsError = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(reference[i]!));
  }
  const width = reference.length / rows;
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    if (argmax(reference, r * width, width) === argmax(candidate, r * width, width)) agree++;
  }
  const relativeError = maxAbsError / (scale || 1);
  return { maxAbsError, relativeError, top1Agreement: agree / rows, matches: relativeError <= tolerance };
}

function argmax(v: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (v[offset + i]! > v[offset + best]!) best = i;
  return best;
}
