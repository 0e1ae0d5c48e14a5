/**
 * The Result row (DESIGN.md): everything needed to reproduce and compare one trial. One row per
 * trial; the raw samples are kept beside their summary.
 */
export type TrialStatus = 'ok' | 'failed' | 'mismatch';

export interface ResultRow {
  /** Identifies the trial within a fingerprint: model, batch, engine + options, input seed, repetition. */
  trialKey: string;
  fingerprint: string;
  study: string;
  /** The part of the study that planned it (e.g. a preset's `depth` sweep). */
  sweep: string;
  model: string;
  /** `pattern` (a design-pattern network), `network` (a reference network) or `file` (user model). */
  modelKind: 'pattern' | 'network' | 'file';
  pattern: string | null;
  depth: number | null;
  width: number | null;
  resolution: number | null;
  batch: number;
  /** The engine as the user wrote it, with options: `ort:opt=disabled`. */
  engine: string;
  engineName: string;
  /** The seed paper's role of the engine: native framework, accelerated, portable. */
  engineRole: string;
  /** Options as given, JSON. */
  options: string;
  engineVersion: string | null;
  inputSeed: number;
  repetition: number;
  /** Static cost of one run at this batch. */
  macs: number;
  flops: number;
  params: number;
  weightBytes: number;
  activationBytes: number;
  /** FLOPs (with elementwise work) per byte moved at this batch, under the analysis's byte model. */
  arithmeticIntensity: number | null;
  status: TrialStatus;
  reason: string | null;
  loadMs: number | null;
  medianMs: number | null;
  meanMs: number | null;
  minMs: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  madMs: number | null;
  ciLowMs: number | null;
  ciHighMs: number | null;
  runs: number | null;
  outliers: number | null;
  stoppedBy: string | null;
  /** Wall time of the whole trial (worker start to result), ms. */
  wallMs: number;
  samplesMs: number[];
  /** Relative error of the outputs against the reference engine; null where it was not compared. */
  outputRelativeError: number | null;
  /** Largest absolute difference from the reference's outputs; null where not compared. */
  outputMaxAbsError: number | null;
  /** Share of images whose arg-max class matches the reference's; null where not compared. */
  outputTop1Agreement: number | null;
  /** The precision asked of the engine (its `precision` option; fp32 where it has none). */
  precision: string;
  /** What the engine's kernels computed in, JSON (ort's profile of lower-precision trials); null where not profiled. */
  kernelPrecision: string | null;
  /** Hardware or simulated counters, JSON; null where none were taken. */
  counters: string | null;
  /** ISO 8601 times. */
  startedAt: string;
  finishedAt: string;
}

type SqlType = 'VARCHAR' | 'INTEGER' | 'DOUBLE' | 'DOUBLE[]' | 'TIMESTAMP';

/** Column order of the `trials` table; column names are the row's keys in snake_case. */
export const TRIAL_COLUMNS: [key: keyof ResultRow, type: SqlType][] = [
  ['trialKey', 'VARCHAR'],
  ['fingerprint', 'VARCHAR'],
  ['study', 'VARCHAR'],
  ['sweep', 'VARCHAR'],
  ['model', 'VARCHAR'],
  ['modelKind', 'VARCHAR'],
  ['pattern', 'VARCHAR'],
  ['depth', 'INTEGER'],
  ['width', 'INTEGER'],
  ['resolution', 'INTEGER'],
  ['batch', 'INTEGER'],
  ['engine', 'VARCHAR'],
  ['engineName', 'VARCHAR'],
  ['engineRole', 'VARCHAR'],
  ['options', 'VARCHAR'],
  ['engineVersion', 'VARCHAR'],
  ['inputSeed', 'INTEGER'],
  ['repetition', 'INTEGER'],
  ['macs', 'DOUBLE'],
  ['flops', 'DOUBLE'],
  ['params', 'DOUBLE'],
  ['weightBytes', 'DOUBLE'],
  ['activationBytes', 'DOUBLE'],
  ['arithmeticIntensity', 'DOUBLE'],
  ['status', 'VARCHAR'],
  ['reason', 'VARCHAR'],
  ['loadMs', 'DOUBLE'],
  ['medianMs', 'DOUBLE'],
  ['meanMs', 'DOUBLE'],
  ['minMs', 'DOUBLE'],
  ['p90Ms', 'DOUBLE'],
  ['p99Ms', 'DOUBLE'],
  ['madMs', 'DOUBLE'],
  ['ciLowMs', 'DOUBLE'],
  ['ciHighMs', 'DOUBLE'],
  ['runs', 'INTEGER'],
  ['outliers', 'INTEGER'],
  ['stoppedBy', 'VARCHAR'],
  ['wallMs', 'DOUBLE'],
  ['samplesMs', 'DOUBLE[]'],
  ['outputRelativeError', 'DOUBLE'],
  ['outputMaxAbsError', 'DOUBLE'],
  ['outputTop1Agreement', 'DOUBLE'],
  ['precision', 'VARCHAR'],
  ['kernelPrecision', 'VARCHAR'],
  ['counters', 'VARCHAR'],
  ['startedAt', 'TIMESTAMP'],
  ['finishedAt', 'TIMESTAMP'],
];

export const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
