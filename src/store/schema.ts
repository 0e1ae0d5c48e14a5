/**
 * The Result row (DESIGN.md): everything needed to reproduce and compare one trial. One row per
 * trial; the raw samples are kept beside their summary. The store writes a row as the study builds
 * it (JSON columns as text) and hands readers a StoredTrial, those columns decoded.
 */
import type { GpuAdapter, KernelPrecisionSummary, WorkPlacement } from '../engines/engine.js';
import type { CounterResult } from '../measure/index.js';
import type { ModelIdentity, ModelKind } from '../model/identity.js';

export type TrialStatus = 'ok' | 'failed' | 'mismatch';

/** The row as inserted. The model's `kind` is the `model_kind` column. */
export interface ResultRow extends Omit<ModelIdentity, 'kind'> {
  /** Identifies the trial within a fingerprint: model, batch, engine + options, input seed, repetition. */
  trialKey: string;
  fingerprint: string;
  study: string;
  /** The part of the study that planned it (e.g. a preset's `depth` sweep). */
  sweep: string;
  modelKind: ModelKind;
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
  /** The first inference, timed apart from the others: allocation and, on a GPU, shader compilation; null in stores that predate it. */
  firstRunMs: number | null;
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
  /** The WebGPU adapter of a GPU engine's trial (failed ones too), JSON; null for every other engine. */
  gpuAdapter: string | null;
  /** Where a GPU trial's kernels ran (per execution provider) and its on-device time, JSON; null where not taken. */
  placement: string | null;
  /** Hardware or simulated counters, JSON; null where none were taken. */
  counters: string | null;
  /** The most resident memory the worker and its children were seen to hold, bytes; null where /proc does not tell, or in older stores. */
  peakRssBytes: number | null;
  /** What memory-estimate.ts predicted for the trial, bytes. */
  estimatedPeakBytes: number | null;
  /** Resident memory of the worker tree at the start of the timed runs, and its growth over them, bytes (measure/lifecycle.ts). */
  rssStartBytes: number | null;
  rssGrowthBytes: number | null;
  /** User + system CPU time of the worker tree over the timed runs, ms, and that ÷ their wall time. */
  cpuMs: number | null;
  cpuPerWall: number | null;
  /** The CPU frequency before and after the timed runs, MHz, and the file it came from (cpufreq, cpuinfo); null where the OS does not say. */
  cpuMhzBefore: number | null;
  cpuMhzAfter: number | null;
  cpuMhzSource: string | null;
  /** Package energy (RAPL) per inference, one run of the batch, J; null where not measured, with the reason in energyUnsupported. */
  energyJoulesPerInference: number | null;
  energyUnsupported: string | null;
  /** ISO 8601 times. */
  startedAt: string;
  finishedAt: string;
}

/** A stored trial as readers get it: the JSON columns decoded, so that no reader parses JSON. */
export interface StoredTrial extends Omit<ResultRow, 'options' | 'kernelPrecision' | 'gpuAdapter' | 'placement' | 'counters'> {
  options: Record<string, string>;
  kernelPrecision: KernelPrecisionSummary | null;
  gpuAdapter: GpuAdapter | null;
  placement: WorkPlacement | null;
  counters: CounterResult | null;
}

/** The row's JSON columns decoded; an empty column is no value (options: none). */
export function decodeTrial(row: ResultRow): StoredTrial {
  const json = <T>(text: string | null): T | null => (text ? (JSON.parse(text) as T) : null);
  return {
    ...row,
    options: json<Record<string, string>>(row.options) ?? {},
    kernelPrecision: json<KernelPrecisionSummary>(row.kernelPrecision),
    gpuAdapter: json<GpuAdapter>(row.gpuAdapter),
    placement: json<WorkPlacement>(row.placement),
    counters: json<CounterResult>(row.counters),
  };
}

/** The inverse of decodeTrial: the row as the `trials` table stores it. */
export function encodeTrial(trial: StoredTrial): ResultRow {
  return {
    ...trial,
    options: JSON.stringify(trial.options),
    kernelPrecision: trial.kernelPrecision ? JSON.stringify(trial.kernelPrecision) : null,
    gpuAdapter: trial.gpuAdapter ? JSON.stringify(trial.gpuAdapter) : null,
    placement: trial.placement ? JSON.stringify(trial.placement) : null,
    counters: trial.counters ? JSON.stringify(trial.counters) : null,
  };
}

/** The row's model identity, its `modelKind` column as the identity's `kind`. */
export function modelIdentity(row: ResultRow | StoredTrial): ModelIdentity {
  return { model: row.model, kind: row.modelKind, pattern: row.pattern, depth: row.depth, width: row.width, resolution: row.resolution };
}

type SqlType = 'VARCHAR' | 'INTEGER' | 'DOUBLE' | 'DOUBLE[]' | 'TIMESTAMP';

/** The columns that say which run a row is, in a trial's row and a scenario run's alike (study/plan.ts plannedColumns fills them). */
export type RunIdentityKey = 'fingerprint' | 'study' | 'sweep' | 'model' | 'modelKind' | 'pattern' | 'depth' | 'width' | 'resolution' | 'batch' | 'engine' | 'engineName' | 'engineRole';
export const RUN_IDENTITY_COLUMNS: [key: RunIdentityKey, type: 'VARCHAR' | 'INTEGER'][] = [
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
];

/**
 * Column order of a new `trials` table and of exports; column names are the row's keys in
 * snake_case. A store written before a column existed gains it at the end of its table
 * (store.ts), so rows are inserted by column name, never by position.
 */
export const TRIAL_COLUMNS: [key: keyof ResultRow, type: SqlType][] = [
  ['trialKey', 'VARCHAR'],
  ...RUN_IDENTITY_COLUMNS,
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
  ['firstRunMs', 'DOUBLE'],
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
  ['gpuAdapter', 'VARCHAR'],
  ['placement', 'VARCHAR'],
  ['counters', 'VARCHAR'],
  ['peakRssBytes', 'DOUBLE'],
  ['estimatedPeakBytes', 'DOUBLE'],
  ['rssStartBytes', 'DOUBLE'],
  ['rssGrowthBytes', 'DOUBLE'],
  ['cpuMs', 'DOUBLE'],
  ['cpuPerWall', 'DOUBLE'],
  ['cpuMhzBefore', 'DOUBLE'],
  ['cpuMhzAfter', 'DOUBLE'],
  ['cpuMhzSource', 'VARCHAR'],
  ['energyJoulesPerInference', 'DOUBLE'],
  ['energyUnsupported', 'VARCHAR'],
  ['startedAt', 'TIMESTAMP'],
  ['finishedAt', 'TIMESTAMP'],
];

export const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
