/** Benchmark output: a median with the range of repeated measurements. */
import { median } from '../src/measure/stats.js';

export { median };

export function summary(values: number[], digits = 1): string {
  return `median ${median(values).toFixed(digits)} (min ${Math.min(...values).toFixed(digits)}, max ${Math.max(...values).toFixed(digits)}, n=${values.length})`;
}
