import type { WorkerModelRequest } from '../worker-session.js';
import type { CacheGeometry } from './geometry.js';

/** How to count: the CPU's own counters through perf, or valgrind's cache simulator (callgrind) with a cache geometry. */
export type CounterMode = 'perf' | { simulate: CacheGeometry };

/** One counter measurement: a model (an ONNX file prepared by the caller) on one engine. */
export interface CounterRequest extends WorkerModelRequest {
  /**
   * Every engine option resolved (as EngineChoice.options). Under simulation pass threads=1 unless
   * the user asked otherwise: see simulationOptions() in index.ts.
   */
  options: Record<string, string>;
  /** Counted inferences, after one warm-up inference that is never counted. */
  inferences: number;
  mode: CounterMode;
  /** Wall-clock limit for the whole measurement (start-up and loading included), ms. */
  timeoutMs: number;
  /** Progress lines while it runs (simulation takes minutes). */
  onProgress?: (line: string) => void;
  /** Stops the counting child (valgrind or perf) at once, e.g. when a study is interrupted. */
  signal?: AbortSignal;
}

/**
 * Counts per inference: perf, a total over the counted inferences divided by their number;
 * simulation, the median of the inferences counted apart. One
 * inference is one engine run on the whole batch. null means not counted (see `unsupported` and
 * `notCounted`), never zero.
 */
export interface CountsPerInference {
  /**
   * Every last-level cache miss (data reads and writes, instruction fetches): the seed paper's
   * "L3 cache misses". perf: `cache-misses`; simulation: ILmr + DLmr + DLmw. Same value as
   * cacheMissesPerInference, named for the study.
   */
  llcMissesPerInference: number | null;
  /** Reads that reached the last level. perf: `LLC-loads`; simulation: I1mr + D1mr. */
  llcLoadsPerInference: number | null;
  /** Those reads that missed it. perf: `LLC-load-misses`; simulation: ILmr + DLmr. */
  llcLoadMissesPerInference: number | null;
  /** Every access that reached the last level. perf: `cache-references`; simulation: I1mr + D1mr + D1mw. */
  cacheReferencesPerInference: number | null;
  /** Every access that missed the last level. perf: `cache-misses`; simulation: ILmr + DLmr + DLmw. */
  cacheMissesPerInference: number | null;
  /** Instructions retired (perf) or executed under simulation (simulation Ir). */
  instructionsPerInference: number | null;
  /** Core cycles (perf only: simulation has no timing model). */
  cyclesPerInference: number | null;
  /** Branches. perf: `branches`; simulation: Bc + Bi (conditional and indirect). */
  branchesPerInference: number | null;
  /** Mispredicted branches. perf: `branch-misses`; simulation: Bcm + Bim (its simple predictor, not the CPU's). */
  branchMissesPerInference: number | null;
}

export type CounterResult =
  | ({
      status: 'ok';
      /** perf: the CPU's counters, measured. simulation: a simulated cache, never the CPU's. */
      source: 'perf' | 'callgrind';
      simulated: boolean;
      /** How the per-inference figures were isolated from start-up and model loading, in words. */
      method: string;
      /** The simulated caches (simulation only). */
      geometry?: CacheGeometry;
      spec: string;
      engine: string;
      options: Record<string, string>;
      engineVersion: string;
      batch: number;
      inferences: number;
      /**
       * Totals over the counted inferences, by the source's own event names (perf events, or
       * the simulator's Ir, D1mr, … summed over the counted inferences); null when not counted.
       */
      raw: Record<string, number | null>;
      /** Cachegrind's totals of each run, before differencing: with the counted inferences and without. */
      /** Simulation: each counted inference's last-level misses, to show their spread. */
      llcMissesByInference?: number[];
      /** Counters the source cannot count here (perf: `<not supported>`; simulation: cycles). */
      unsupported: string[];
      /** Counters perf supports but did not count (`<not counted>`). */
      notCounted: string[];
      /** What to keep in mind when reading the figures. */
      caveats: string[];
      /** Wall time of the whole measurement, ms. */
      wallMs: number;
      /** Wall time of the counted inferences alone, ms (under simulation tens of times native). */
      countedWallMs: number;
    } & CountsPerInference)
  | {
      status: 'failed';
      source: 'perf' | 'callgrind';
      reason: string;
      /** What the user can do about it, when there is something. */
      hint?: string;
    };

export type CounterOk = Extract<CounterResult, { status: 'ok' }>;

/** Every counter of the result, for tables and for checking that anything was counted. */
export const COUNTER_FIELDS: (keyof CountsPerInference)[] = [
  'llcMissesPerInference',
  'llcLoadsPerInference',
  'llcLoadMissesPerInference',
  'cacheReferencesPerInference',
  'cacheMissesPerInference',
  'instructionsPerInference',
  'cyclesPerInference',
  'branchesPerInference',
  'branchMissesPerInference',
];

/** True when the source answered but counted nothing (perf on a VM without a virtual PMU). */
export function countedNothing(r: CounterResult): boolean {
  return r.status === 'ok' && COUNTER_FIELDS.every((f) => r[f] === null);
}
