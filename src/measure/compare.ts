import { FP32_TOLERANCE } from '../engines/precision.js';

/** Output agreement between an engine and the reference engine. */
export interface OutputComparison {
  maxAbsError: number;
  /** Largest absolute error relative to the reference's largest magnitude. */
  relativeError: number;
  /** Fraction of rows (images) whose arg-max class is the same. */
  top1Agreement: number;
  matches: boolean;
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
