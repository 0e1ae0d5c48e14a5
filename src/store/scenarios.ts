/**
 * The `scenarios` table: one row per scenario run a study made (offline throughput, N streams,
 * server arrivals or its peak search), keyed as trials are: the run's key and the machine's
 * fingerprint, a re-measurement replacing its row. The headline figures are columns, so that SQL
 * and the report can sort and plot them; the whole result (every session, every server probe and
 * its percentile claims) is kept beside them as JSON, decoded here, so that no reader parses JSON.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { GpuAdapter } from '../engines/engine.js';
import { median } from '../measure/index.js';
import type { ClosedLoopResult, ServerResult } from '../measure/scenarios/index.js';
import type { ModelKind } from '../model/identity.js';
import { RUN_IDENTITY_COLUMNS, snakeCase, type TrialStatus } from './schema.js';

export type ScenarioResult = ClosedLoopResult | ServerResult;

/** A stored scenario run: who ran what, the headline figures, and the full result. */
export interface StoredScenario {
  scenarioKey: string;
  fingerprint: string;
  study: string;
  sweep: string;
  model: string;
  modelKind: ModelKind;
  pattern: string | null;
  depth: number | null;
  width: number | null;
  resolution: number | null;
  batch: number;
  engine: string;
  engineName: string;
  engineRole: string;
  engineVersion: string | null;
  /** A GPU engine's WebGPU adapter; null for CPU engines. A software adapter's figures are the CPU's. */
  gpuAdapter: GpuAdapter | null;
  /** offline, multi-stream or server. */
  scenario: string;
  sessions: number;
  /** How the threads were split: 'ort:threads=2 × 1 session = 2 threads on 2 cores'. */
  threads: string;
  /** ok, failed (nothing measured: reason says why) or mismatch (measured, outputs differ from the reference). */
  status: TrialStatus;
  reason: string | null;
  macsPerSample: number;
  /** Offline and multi-stream: images per second of all sessions together. */
  imagesPerS: number | null;
  queries: number | null;
  /** Multi-stream and a server run: the supported percentiles of latency, ms (null where refused). */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  /** Server: the target rate (or, for a search, the peak found), the achieved rate, the bound and whether p99 met it. */
  targetRatePerS: number | null;
  achievedRatePerS: number | null;
  p99BoundMs: number | null;
  p99Met: boolean | null;
  peakRatePerS: number | null;
  /** The share of time at least two sessions ran together, where there were two or more. */
  overlapFraction: number | null;
  /** Medians over the sessions. */
  loadMs: number | null;
  firstRunMs: number | null;
  warmMedianMs: number | null;
  /** The most any session's worker tree held, bytes. */
  peakRssBytes: number | null;
  outputRelativeError: number | null;
  result: ScenarioResult;
  /** ISO 8601 times. */
  startedAt: string;
  finishedAt: string;
}

type ScenarioColumn = [key: keyof StoredScenario, type: 'VARCHAR' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP'];

/** Column order of the table; names are the keys in snake_case. `result` is the JSON. */
export const SCENARIO_COLUMNS: ScenarioColumn[] = [
  ['scenarioKey', 'VARCHAR'],
  ...RUN_IDENTITY_COLUMNS,
  ['engineVersion', 'VARCHAR'],
  ['gpuAdapter', 'VARCHAR'],
  ['scenario', 'VARCHAR'],
  ['sessions', 'INTEGER'],
  ['threads', 'VARCHAR'],
  ['status', 'VARCHAR'],
  ['reason', 'VARCHAR'],
  ['macsPerSample', 'DOUBLE'],
  ['imagesPerS', 'DOUBLE'],
  ['queries', 'INTEGER'],
  ['p50Ms', 'DOUBLE'],
  ['p90Ms', 'DOUBLE'],
  ['p99Ms', 'DOUBLE'],
  ['targetRatePerS', 'DOUBLE'],
  ['achievedRatePerS', 'DOUBLE'],
  ['p99BoundMs', 'DOUBLE'],
  ['p99Met', 'BOOLEAN'],
  ['peakRatePerS', 'DOUBLE'],
  ['overlapFraction', 'DOUBLE'],
  ['loadMs', 'DOUBLE'],
  ['firstRunMs', 'DOUBLE'],
  ['warmMedianMs', 'DOUBLE'],
  ['peakRssBytes', 'DOUBLE'],
  ['outputRelativeError', 'DOUBLE'],
  ['result', 'VARCHAR'],
  ['startedAt', 'TIMESTAMP'],
  ['finishedAt', 'TIMESTAMP'],
];

export const SCENARIOS_DDL = `CREATE TABLE IF NOT EXISTS scenarios (${SCENARIO_COLUMNS.map(([k, t]) => `${snakeCase(k)} ${t}`).join(', ')})`;
export const SCENARIOS_ADDED_COLUMNS = SCENARIO_COLUMNS.map(([k, t]) => `ALTER TABLE scenarios ADD COLUMN IF NOT EXISTS ${snakeCase(k)} ${t}`);
export const SCENARIO_INSERT = `INSERT INTO scenarios (${SCENARIO_COLUMNS.map(([k]) => snakeCase(k)).join(', ')}) VALUES (${SCENARIO_COLUMNS.map(([, t], i) => (t === 'TIMESTAMP' ? `CAST($${i + 1} AS TIMESTAMP)` : `$${i + 1}`)).join(', ')})`;
export const SCENARIO_DELETE = 'DELETE FROM scenarios WHERE scenario_key = $1 AND fingerprint = $2';

/** Bind values in SCENARIO_COLUMNS order. JSON has no Infinity (an output of the wrong length): it is stored as null. */
export function encodeScenario(s: StoredScenario): DuckDBValue[] {
  return SCENARIO_COLUMNS.map(([key]) => {
    if (key === 'result') return JSON.stringify(s.result);
    if (key === 'gpuAdapter') return s.gpuAdapter ? JSON.stringify(s.gpuAdapter) : null;
    const v = s[key];
    if (typeof v === 'number' && !Number.isFinite(v)) return null;
    return (v ?? null) as DuckDBValue;
  });
}

/** A row of `SELECT * FROM scenarios` (DuckDB's JS objects) back into the typed row. */
export function decodeScenario(row: Record<string, unknown>): StoredScenario {
  const out: Record<string, unknown> = {};
  for (const [key, type] of SCENARIO_COLUMNS) {
    const v = row[snakeCase(key)];
    if (key === 'result') out[key] = JSON.parse(String(v ?? '{}')) as ScenarioResult;
    else if (key === 'gpuAdapter') out[key] = v ? (JSON.parse(String(v)) as GpuAdapter) : null;
    else if (v === null || v === undefined) out[key] = null;
    else if (type === 'TIMESTAMP') out[key] = v instanceof Date ? v.toISOString() : String(v);
    else out[key] = typeof v === 'bigint' ? Number(v) : v;
  }
  return out as unknown as StoredScenario;
}

/** The headline columns of a scenario result (the rest of the row is the run's identity). */
export function scenarioFigures(r: ScenarioResult): Pick<StoredScenario, 'imagesPerS' | 'queries' | 'p50Ms' | 'p90Ms' | 'p99Ms' | 'targetRatePerS' | 'achievedRatePerS' | 'p99BoundMs' | 'p99Met' | 'peakRatePerS' | 'overlapFraction' | 'loadMs' | 'firstRunMs' | 'warmMedianMs' | 'peakRssBytes' | 'outputRelativeError'> {
  const mid = (xs: number[] | undefined) => (xs && xs.length ? median(xs) : null);
  const closed = 'imagesPerS' in r || 'percentiles' in r ? (r as ClosedLoopResult) : undefined;
  const server = 'run' in r || 'peak' in r ? (r as ServerResult) : undefined;
  // A search's headline is its best passing probe; a single run is itself.
  const run = server?.run ?? (server?.peak ? [...server.peak.runs].filter((x) => x.p99Met).sort((a, b) => b.targetRatePerS - a.targetRatePerS)[0] : undefined);
  const claims = closed?.percentiles ?? run?.percentiles;
  const at = (q: number) => {
    const c = claims?.find((x) => x.q === q);
    return c?.supported ? c.valueMs : null;
  };
  const concurrency = closed?.concurrency ?? run?.concurrency;
  return {
    imagesPerS: closed?.imagesPerS ?? null,
    queries: closed?.queries ?? run?.queries ?? null,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    targetRatePerS: run?.targetRatePerS ?? null,
    achievedRatePerS: run?.achievedRatePerS ?? null,
    p99BoundMs: run?.p99BoundMs ?? null,
    p99Met: run?.p99Met ?? null,
    peakRatePerS: server?.peak?.peakRatePerS ?? null,
    overlapFraction: concurrency?.overlapFraction ?? null,
    loadMs: mid(r.loadMs),
    firstRunMs: mid(r.firstRunMs),
    warmMedianMs: mid(r.warmMedianMs),
    peakRssBytes: r.peakRssBytes && r.peakRssBytes.length ? Math.max(...r.peakRssBytes) : null,
    outputRelativeError: r.outputs?.relativeError ?? null,
  };
}
