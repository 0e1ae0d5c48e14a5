/**
 * The `fidelity` table: one row per (fingerprint, model, batch, engine) a fidelity check timed, a
 * re-measurement replacing the old row. Encoding and decoding live here so that the report gets
 * typed rows and never parses JSON.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { FidelityRecord } from '../measure/index.js';

/** A stored fidelity check: the record, the machine and study that measured it, and when. */
export interface StoredFidelity extends FidelityRecord {
  fingerprint: string;
  study: string;
  /** ISO 8601. */
  measuredAt: string;
}

type FidelityColumn = [name: string, type: 'VARCHAR' | 'INTEGER' | 'DOUBLE' | 'DOUBLE[]' | 'TIMESTAMP'];

/** Column order of the `fidelity` table. The record's interval is two columns, so SQL can filter on it. */
export const FIDELITY_COLUMNS: FidelityColumn[] = [
  ['fingerprint', 'VARCHAR'],
  ['study', 'VARCHAR'],
  ['model', 'VARCHAR'],
  ['batch', 'INTEGER'],
  ['engine', 'VARCHAR'],
  ['engine_name', 'VARCHAR'],
  ['options', 'VARCHAR'], // JSON object
  ['engine_version', 'VARCHAR'],
  ['status', 'VARCHAR'],
  ['reason', 'VARCHAR'],
  ['idiomatic', 'VARCHAR'],
  ['engine_median_ms', 'DOUBLE'],
  ['idiomatic_median_ms', 'DOUBLE'],
  ['ratio', 'DOUBLE'],
  ['ratio_low', 'DOUBLE'],
  ['ratio_high', 'DOUBLE'],
  ['engine_samples_ms', 'DOUBLE[]'],
  ['idiomatic_samples_ms', 'DOUBLE[]'],
  ['output_relative_error', 'DOUBLE'],
  ['measured_at', 'TIMESTAMP'],
];

// Keyed as the trials table is: no index, a re-measurement replaces its row by a DELETE and an
// INSERT in one transaction (see ResultStore.insertFidelity).
export const FIDELITY_DDL = `CREATE TABLE IF NOT EXISTS fidelity (${FIDELITY_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`;
/** A fidelity table written by an older formbench gains the columns added since. */
export const FIDELITY_ADDED_COLUMNS = FIDELITY_COLUMNS.map(([c, t]) => `ALTER TABLE fidelity ADD COLUMN IF NOT EXISTS ${c} ${t}`);

export const FIDELITY_INSERT = `INSERT INTO fidelity (${FIDELITY_COLUMNS.map(([c]) => c).join(', ')}) VALUES (${FIDELITY_COLUMNS.map(([, t], i) => (t === 'TIMESTAMP' || t === 'DOUBLE[]' ? `CAST($${i + 1} AS ${t})` : `$${i + 1}`)).join(', ')})`;
export const FIDELITY_DELETE = 'DELETE FROM fidelity WHERE fingerprint = $1 AND model = $2 AND batch = $3 AND engine = $4';

/** The record as bind values in FIDELITY_COLUMNS order; lists as text, which DuckDB casts to DOUBLE[]. */
export function encodeFidelity(fingerprint: string, study: string, r: FidelityRecord, measuredAt: string): DuckDBValue[] {
  const list = (v: number[] | undefined) => (v === undefined ? null : JSON.stringify(v));
  return [
    fingerprint,
    study,
    r.model,
    r.batch,
    r.engine,
    r.engineName,
    JSON.stringify(r.options),
    r.engineVersion ?? null,
    r.status,
    r.reason ?? null,
    r.idiomatic ?? null,
    r.engineMedianMs ?? null,
    r.idiomaticMedianMs ?? null,
    r.ratio ?? null,
    r.ratioInterval?.[0] ?? null,
    r.ratioInterval?.[1] ?? null,
    list(r.engineSamplesMs),
    list(r.idiomaticSamplesMs),
    r.outputRelativeError ?? null,
    measuredAt,
  ];
}

/** A row of `SELECT * FROM fidelity` (as DuckDB's JS objects) back into the record; NULLs become absent fields. */
export function decodeFidelity(row: Record<string, unknown>): StoredFidelity {
  const text = (c: string) => (row[c] === null || row[c] === undefined ? undefined : String(row[c]));
  const num = (c: string) => (row[c] === null || row[c] === undefined ? undefined : Number(row[c]));
  const list = (c: string) => (Array.isArray(row[c]) ? (row[c] as unknown[]).map(Number) : undefined);
  const measuredAt = row['measured_at'];
  const low = num('ratio_low');
  const high = num('ratio_high');
  const optional: Partial<FidelityRecord> = {
    engineVersion: text('engine_version'),
    reason: text('reason'),
    idiomatic: text('idiomatic'),
    engineMedianMs: num('engine_median_ms'),
    idiomaticMedianMs: num('idiomatic_median_ms'),
    ratio: num('ratio'),
    ratioInterval: low !== undefined && high !== undefined ? [low, high] : undefined,
    engineSamplesMs: list('engine_samples_ms'),
    idiomaticSamplesMs: list('idiomatic_samples_ms'),
    outputRelativeError: num('output_relative_error'),
  };
  return {
    fingerprint: String(row['fingerprint']),
    study: String(row['study']),
    measuredAt: measuredAt instanceof Date ? measuredAt.toISOString() : String(measuredAt),
    model: String(row['model']),
    batch: Number(row['batch']),
    engine: String(row['engine']),
    engineName: String(row['engine_name']),
    options: JSON.parse(String(row['options'] ?? '{}')) as Record<string, string>,
    status: String(row['status']) as FidelityRecord['status'],
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}
