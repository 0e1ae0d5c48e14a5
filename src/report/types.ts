/**
 * What the report is made of: the points computed from stored trials, and the figures, tables and
 * findings built from them. Every report module imports these from here, so that none of them
 * imports another only for a type.
 */
import type { GpuAdapter } from '../engines/engine.js';
import type { ModelIdentity } from '../model/identity.js';
import type { StoredFidelity, StoredPeaks, StoredScenario, StoredTrial } from '../store/index.js';
import type { FigureSpec } from './render.js';

/** One measured point: a model at a batch on an engine (repetitions merged). */
export interface LatencyPoint extends ModelIdentity {
  batch: number;
  /** The engine as the report shows it: `ort-webgpu (software GPU)` on a software adapter (gpu.ts). */
  engine: string;
  role: string;
  /** The adapter of a GPU engine's point; `software` marks one whose times are the CPU's. */
  gpu?: GpuAdapter;
  /** The precision asked of the engine (fp32 unless its `precision` option said otherwise). */
  precision: string;
  medianMs: number;
  /** 95% interval of the median; absent where too few runs gave one. */
  ciLowMs: number | null;
  ciHighMs: number | null;
  macs: number;
  /** Counters per inference where the trial counted them (perf or simulated). */
  counters?: PointCounters;
  /** The stored trials behind the point. */
  trialKeys: string[];
}

export interface PointCounters {
  simulated: boolean;
  /** The simulated cache, as written (e.g. `paper`: the seed paper's 4 MB last-level cache). */
  geometry?: string;
  llcMisses: number | null;
  instructions: number | null;
  branchMisses: number | null;
}

export interface SpeedupPoint extends ModelIdentity {
  batch: number;
  engine: string;
  baseline: string;
  /** baseline median / engine median: above 1 means the engine is faster. */
  speedup: number;
  /** From the two medians' intervals: slowest and fastest combination. */
  low: number | null;
  high: number | null;
  trialKeys: string[];
  /** The baseline's fidelity for this model and batch, where any check of the baseline was stored. */
  baselineFidelity?: BaselineFidelity;
}

/**
 * The baseline engine's time over its framework's idiomatic execution: the factor by which a
 * speed-up over it is inflated (see measure/fidelity-record.ts).
 */
export interface BaselineFidelity {
  ratio: number;
  /** `measured`: this model and batch were checked; `engine-mean`: the geometric mean of the baseline's checks on this machine. */
  source: 'measured' | 'engine-mean';
  /** How many checks the ratio comes from (1 where measured). */
  checks: number;
}

export interface ReportData {
  study: string;
  fingerprint: string;
  baseline: string;
  rows: StoredTrial[];
  points: LatencyPoint[];
  speedups: SpeedupPoint[];
  /** Rows of other machines in the same store: kept, but not mixed into this report. */
  otherMachineRows: number;
  /** This machine's measured peaks, if the study measured them. */
  peaks?: StoredPeaks;
  /** Successful trials whose median is known to less than ±NOISY_CI (or not at all): a busy machine. */
  noisy: StoredTrial[];
  /** This machine's fidelity checks, failed ones included; empty where none was stored. */
  fidelity: StoredFidelity[];
  /** This machine's scenario runs (offline throughput, streams, server), failed ones included. */
  scenarios: StoredScenario[];
}

/** A table of a figure's numbers, written beside it as CSV and Markdown. */
export interface Table {
  columns: string[];
  rows: (string | number | null)[][];
}

export interface Figure {
  /** File name stem: figures/<id>.svg and .png, tables/<id>.csv and .md. */
  id: string;
  title: string;
  caption: string;
  spec: FigureSpec;
  table: Table;
}

/** A conclusion computed from the stored trials, with its number and the trials behind it. */
export interface Finding {
  title: string;
  text: string;
  /** The headline number (a speed-up, a ratio, a correlation). */
  value: number;
  trialKeys: string[];
}
