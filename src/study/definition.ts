import type { TimingBudget } from '../measure/index.js';

/**
 * A study: named sweeps, each a grid of models × batches × engines, measured with one budget.
 * Presets and user YAML files both become this.
 */
export interface Study {
  name: string;
  description: string;
  sweeps: Sweep[];
  /** Engine label the speed-ups are relative to; default: the first native engine in the study. */
  baseline?: string;
  /** Engine whose outputs every trial is checked against. */
  reference: string;
}

export interface Sweep {
  /** What this part reproduces, e.g. `depth` (the seed paper's Figure 1). */
  name: string;
  models: string[];
  /** Engine choices as written: `ort`, `ort:opt=disabled`, `torch:mode=jit-frozen`. */
  engines: string[];
  batches: number[];
  /** Each trial is measured this many times (separate workers), stored as separate rows. */
  repetitions: number;
  inputSeed: number;
  budget: TimingBudget;
  /** Also count each trial's hardware (perf) or simulated (valgrind) counters per inference. */
  counters?: CounterPlan;
  /** A load scenario instead of single-stream trials: each model × batch × engine × sessions runs it once. */
  scenario?: ScenarioPlan;
}

/**
 * A sweep's load scenario (measure/scenarios/): offline throughput, N back-to-back streams, or
 * Poisson arrivals at a rate (or the peak rate) under a p99 bound. Single-stream is a plain sweep.
 */
export interface ScenarioPlan {
  name: 'offline' | 'multi-stream' | 'server';
  /** Concurrent sessions (worker processes); each value is a separate run. */
  streams: number[];
  /** How long each measurement runs after warm-up, ms. */
  durationMs: number;
  /** Warm-up per session, ms. */
  warmupMs: number;
  /** Server: the arrival rate, queries/s; with findPeak, the first probe. */
  ratePerS?: number;
  /** Server: search the highest rate whose p99 meets the bound. */
  findPeak?: boolean;
  /** Server: the p99 latency bound, ms. */
  p99BoundMs?: number;
  /** Server: the Poisson arrivals' seed. */
  seed?: number;
}

/** A study's scenario runs 3 s per point unless the file says otherwise (bench's --budget-s 3). */
export const STUDY_SCENARIO_DURATION_MS = 3_000;

export interface CounterPlan {
  /** `perf`: the CPU's counters; `simulate`: valgrind's cache simulator with the named or written cache geometry. */
  mode: 'perf' | 'simulate';
  /** A preset (`paper`, `host`) or `<size>,<assoc>,<line>`; simulation only. */
  geometry?: string;
  /** Counted inferences per trial (after one uncounted warm-up). */
  inferences: number;
  /** Limit for one trial's counting, both simulated runs included. */
  timeoutMs: number;
}

/**
 * Three counted inferences after the warm-up: simulated, each costs about a thousand native ones,
 * and three is the fewest whose median leaves out one inference that a garbage collection hit.
 */
export const DEFAULT_COUNTED_INFERENCES = 3;
/** Simulation runs tens to a thousand times slower than the CPU: minutes per trial. */
export const DEFAULT_COUNTER_TIMEOUT_MS = 15 * 60_000;

/**
 * Budget for study trials: 8 runs is the fewest that give a 95% interval of the median. A trial
 * stops once that interval is within ±3%; one still wider after 2 s keeps running up to 8 s (a
 * noisy trial needs more runs, a quiet one none), and one that misses the target even then is
 * stored with the reason.
 */
export const STUDY_BUDGET: TimingBudget = {
  targetCiRelative: 0.03,
  timedBudgetMs: 2_000,
  maxTimedBudgetMs: 8_000,
  warmupBudgetMs: 1_000,
  minRuns: 8,
  maxRuns: 1_000,
};
