/**
 * Activation ranges from calibration data: the plain min/max, or a percentile range that ignores
 * a few extreme values (one outlier pixel otherwise stretches a tensor's scale, and every other
 * value loses resolution).
 */

export type CalibrationMethod = 'minmax' | 'percentile';
export const CALIBRATION_METHODS: CalibrationMethod[] = ['minmax', 'percentile'];

/**
 * The share of values the percentile range keeps between its ends (each tail loses half the
 * rest). 99.99% is the setting TensorRT and onnxruntime's calibrators use among their defaults
 * for CNN activations.
 */
export const DEFAULT_PERCENTILE = 99.99;

/** Bins of the per-tensor histogram the percentile is read from. */
const HISTOGRAM_BINS = 4096;

export interface Range {
  min: number;
  max: number;
}

/** Running min and max of every value seen. */
export class MinMax {
  min = Infinity;
  max = -Infinity;

  add(values: Float32Array): void {
    let { min, max } = this;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    this.min = min;
    this.max = max;
  }

  range(): Range {
    return { min: this.min, max: this.max };
  }
}

/**
 * A histogram over a fixed [min, max] (the min/max of a first pass over the same data), from
 * which percentiles are read to within one bin, interpolating linearly inside it.
 */
export class Histogram {
  readonly counts = new Float64Array(HISTOGRAM_BINS);
  total = 0;

  constructor(readonly min: number, readonly max: number) {}

  add(values: Float32Array): void {
    const width = (this.max - this.min) / HISTOGRAM_BINS;
    const last = HISTOGRAM_BINS - 1;
    for (let i = 0; i < values.length; i++) {
      const bin = width > 0 ? Math.floor((values[i]! - this.min) / width) : 0;
      this.counts[bin < 0 ? 0 : bin > last ? last : bin]!++;
    }
    this.total += values.length;
  }

  /** The value below which a fraction q of the values lie. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const width = (this.max - this.min) / HISTOGRAM_BINS;
    const target = q * this.total;
    let below = 0;
    for (let b = 0; b < HISTOGRAM_BINS; b++) {
      const c = this.counts[b]!;
      if (below + c >= target && c > 0) return this.min + width * (b + (target - below) / c);
      below += c;
    }
    return this.max;
  }

  /** The central `percent` of the values: from the (100 − percent)/2 to the (100 + percent)/2 percentile. */
  percentileRange(percent: number): Range {
    const tail = (1 - percent / 100) / 2;
    return { min: this.quantile(tail), max: this.quantile(1 - tail) };
  }
}
