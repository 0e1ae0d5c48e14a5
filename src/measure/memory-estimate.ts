/**
 * A trial's peak resident memory, estimated before it starts from what formbench knows
 * statically: the weights (times the copies its engine holds), the largest set of live
 * activations at its batch (analysis/memory.ts), and the engine's base (runtime and process).
 */
import { activationPeak, storedWeightBytes } from '../analysis/index.js';
import type { EngineChoice, MemoryFootprint } from '../engines/index.js';
import type { Graph } from '../ir/index.js';
import { capOrigin, formatGib, formatMib } from './memory-cap.js';

export interface MemoryEstimate {
  totalBytes: number;
  baseBytes: number;
  /** The weights times the engine's copies. */
  weightBytes: number;
  /** The liveness peak times the engine's activation factor. */
  activationBytes: number;
}

/**
 * For an engine that declares none: the most base and copies of the built-in engines, so that an
 * unknown engine is not refused less readily than a known one.
 */
export const GENERIC_FOOTPRINT: MemoryFootprint = { baseBytes: 320 * 2 ** 20, weightCopies: 5, activationFactor: 2 };

export function estimateTrialMemory(graph: Graph, batch: number, choice: EngineChoice): MemoryEstimate {
  const footprint = choice.engine.memoryFootprint?.(choice.options) ?? GENERIC_FOOTPRINT;
  const weightBytes = footprint.weightCopies * storedWeightBytes(graph);
  const activationBytes = footprint.activationFactor * activationPeak(graph, batch).peakBytes;
  return { totalBytes: footprint.baseBytes + weightBytes + activationBytes, baseBytes: footprint.baseBytes, weightBytes, activationBytes };
}

/** Why a trial is refused, when its estimate is over the cap: one line, with the figures. */
export function overCapReason(estimate: MemoryEstimate, capBytes: number): string | undefined {
  if (estimate.totalBytes <= capBytes) return undefined;
  return (
    `refused before starting: estimated peak memory ${formatGib(estimate.totalBytes)} ` +
    `(weights ${formatGib(estimate.weightBytes)}, activations ${formatGib(estimate.activationBytes)}, engine ${formatMib(estimate.baseBytes)}) ` +
    `exceeds the worker memory cap of ${formatGib(capBytes)} ${capOrigin()}`
  );
}
