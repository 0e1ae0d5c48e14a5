import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { UserError } from '../errors.js';
import type { CacheRoof, Environment, FidelityRecord, KeptPeaks } from '../measure/index.js';
import { CALIBRATION_DDL, CalibrationTables } from './calibration.js';
import { decodeFidelity, encodeFidelity, FIDELITY_ADDED_COLUMNS, FIDELITY_DDL, FIDELITY_DELETE, FIDELITY_INSERT, type StoredFidelity } from './fidelity.js';
import { decodeScenario, encodeScenario, SCENARIO_COLUMNS, SCENARIO_DELETE, SCENARIO_INSERT, SCENARIOS_ADDED_COLUMNS, SCENARIOS_DDL, type StoredScenario } from './scenarios.js';
import { decodeTrial, encodeTrial, snakeCase, TRIAL_COLUMNS, type ResultRow, type StoredTrial } from './schema.js';

export const STORE_FILE = 'results.duckdb';

/** A key into the store: the same trial on the same machine. */
export interface TrialIdentity {
  trialKey: string;
  fingerprint: string;
}

/** By name: an older store's table has the columns added since at its end, not in TRIAL_COLUMNS' order. */
/** The tables `formbench results` exports. */
export const EXPORT_TABLES = ['trials', 'scenarios'] as const;
export type ExportTable = (typeof EXPORT_TABLES)[number];

const TRIAL_INSERT_COLUMNS = TRIAL_COLUMNS.map(([k]) => snakeCase(k)).join(', ');
const TRIALS_DDL = `CREATE TABLE IF NOT EXISTS trials (${TRIAL_COLUMNS.map(([k, t]) => `${snakeCase(k)} ${t}`).join(', ')})`;
const ENVIRONMENTS_DDL = `CREATE TABLE IF NOT EXISTS environments (
  fingerprint VARCHAR PRIMARY KEY, cpu_model VARCHAR, isa VARCHAR, logical_cores INTEGER,
  memory_gib INTEGER, os VARCHAR, node_version VARCHAR, first_seen TIMESTAMP)`;
/** Columns added after the first release of a table: a store written by an older formbench gains them. */
const ADDED_COLUMNS = [
  ...TRIAL_COLUMNS.map(([k, t]) => `ALTER TABLE trials ADD COLUMN IF NOT EXISTS ${snakeCase(k)} ${t}`),
  'ALTER TABLE environments ADD COLUMN IF NOT EXISTS peak_gflops DOUBLE',
  'ALTER TABLE environments ADD COLUMN IF NOT EXISTS bandwidth_gbs DOUBLE',
  'ALTER TABLE environments ADD COLUMN IF NOT EXISTS peaks_method VARCHAR',
  'ALTER TABLE environments ADD COLUMN IF NOT EXISTS cache_roofs VARCHAR',
  'ALTER TABLE environments ADD COLUMN IF NOT EXISTS device VARCHAR',
  ...FIDELITY_ADDED_COLUMNS,
  ...SCENARIOS_ADDED_COLUMNS,
];

/**
 * A browser tab's machine (serve/): what a page can tell, the rest unknown (no ISA flags; memory
 * null where the browser does not say), the browser in place of Node, and the page's whole
 * description of the device as JSON (user agent, cores, memory, WebGPU adapter, isolation, timer).
 */
export interface DeviceRecord {
  fingerprint: string;
  cpuModel: string;
  logicalCores: number;
  memoryGiB: number | null;
  os: string;
  runtime: string;
  device: string;
}

/** The machine's peaks as the environments table keeps them (measure/peaks.ts measures them). */
export type StoredPeaks = KeptPeaks;

/**
 * The results database: one DuckDB file per study folder. Every write is its own committed
 * transaction, so a study killed at any moment keeps every trial it finished; a trial is replaced
 * only by a new measurement of the same trial (a failed one retried).
 */
export class ResultStore {
  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
  ) {}

  static async open(path: string): Promise<ResultStore> {
    mkdirSync(dirname(path), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path);
    } catch (e) {
      const message = (e as Error).message.split('\n')[0]!;
      const hint = /lock/i.test(message) ? 'another formbench process has this results folder open; wait for it or use another --out' : 'is it a DuckDB file written by formbench?';
      throw new UserError(`cannot open results store ${path}: ${message}`, hint);
    }
    const db = await instance.connect();
    try {
      await readEveryTable(db);
    } catch (e) {
      db.closeSync();
      instance.closeSync();
      throw new UserError(
        `the results store ${path} is damaged: ${(e as Error).message.split('\n')[0]}`,
        `formbench left it as it is; restore it from a copy, or move it aside and run the study again to re-measure its trials`,
      );
    }
    await db.run(TRIALS_DDL);
    await db.run(ENVIRONMENTS_DDL);
    await db.run(FIDELITY_DDL);
    await db.run(SCENARIOS_DDL);
    for (const sql of CALIBRATION_DDL) await db.run(sql);
    for (const sql of ADDED_COLUMNS) await db.run(sql);
    return new ResultStore(path, instance, db);
  }

  /** Opens the store of an existing results folder; a folder without one is a user error. */
  static async openFolder(dir: string): Promise<ResultStore> {
    const path = join(dir, STORE_FILE);
    if (!existsSync(path)) throw new UserError(`no results in ${dir} (no ${STORE_FILE})`, "run 'formbench study <preset|file.yaml> --out <dir>' first, or point at a folder a study wrote");
    return ResultStore.open(path);
  }

  async recordEnvironment(env: Environment): Promise<void> {
    await this.db.run(
      'INSERT INTO environments (fingerprint, cpu_model, isa, logical_cores, memory_gib, os, node_version, first_seen, device) VALUES ($1, $2, $3, $4, $5, $6, $7, CAST($8 AS TIMESTAMP), $9) ON CONFLICT DO NOTHING',
      [env.fingerprint, env.cpuModel, env.isa.join(' '), env.logicalCores, env.memoryGiB, env.os, env.nodeVersion, new Date().toISOString(), env.device ?? null],
    );
  }

  /** A browser tab's environments row (`formbench serve`); the first description of a fingerprint is kept. */
  async recordDevice(d: DeviceRecord): Promise<void> {
    await this.db.run(
      "INSERT INTO environments (fingerprint, cpu_model, isa, logical_cores, memory_gib, os, node_version, first_seen, device) VALUES ($1, $2, '', $3, $4, $5, $6, CAST($7 AS TIMESTAMP), $8) ON CONFLICT DO NOTHING",
      [d.fingerprint, d.cpuModel, d.logicalCores, d.memoryGiB, d.os, d.runtime, new Date().toISOString(), d.device],
    );
  }

  /** Stores the machine's peaks with its environment (recordEnvironment first). */
  async recordPeaks(fingerprint: string, peaks: StoredPeaks): Promise<void> {
    const caches = peaks.caches?.length ? JSON.stringify(peaks.caches) : null;
    await this.db.run('UPDATE environments SET peak_gflops = $1, bandwidth_gbs = $2, peaks_method = $3, cache_roofs = $4 WHERE fingerprint = $5', [peaks.peakGflops, peaks.bandwidthGBs, peaks.method, caches, fingerprint]);
  }

  async peaks(fingerprint: string): Promise<StoredPeaks | undefined> {
    const reader = await this.db.runAndReadAll('SELECT peak_gflops, bandwidth_gbs, peaks_method, cache_roofs FROM environments WHERE fingerprint = $1 AND peak_gflops IS NOT NULL', [fingerprint]);
    const [row] = reader.getRows();
    if (!row) return undefined;
    const peaks: StoredPeaks = { peakGflops: Number(row[0]), bandwidthGBs: Number(row[1]), method: String(row[2]) };
    return row[3] === null ? peaks : { ...peaks, caches: JSON.parse(String(row[3])) as CacheRoof[] };
  }

  /** Keys of the trials stored for a fingerprint, by status: resuming skips those that did not fail. */
  async storedTrials(fingerprint: string): Promise<Map<string, ResultRow['status']>> {
    const reader = await this.db.runAndReadAll('SELECT trial_key, status FROM trials WHERE fingerprint = $1', [fingerprint]);
    return new Map(reader.getRows().map(([key, status]) => [String(key), String(status) as ResultRow['status']]));
  }

  /** Stores a measured trial, replacing any earlier one with its key on this machine; the store encodes its JSON columns. */
  insertTrial(trial: StoredTrial): Promise<void> {
    return this.insert(encodeTrial(trial));
  }

  /** Stores a row already encoded (tests build rows column by column). */
  async insert(row: ResultRow): Promise<void> {
    const values: DuckDBValue[] = TRIAL_COLUMNS.map(([key, type]) => {
      const v = row[key];
      // As text: an empty list has no item type to bind, and DuckDB casts '[1.5, 2]' to DOUBLE[].
      if (type === 'DOUBLE[]') return JSON.stringify(v);
      return (v ?? null) as DuckDBValue;
    });
    const placeholders = TRIAL_COLUMNS.map(([, type], i) => (type === 'TIMESTAMP' || type === 'DOUBLE[]' ? `CAST($${i + 1} AS ${type})` : `$${i + 1}`)).join(', ');
    await this.db.run('BEGIN TRANSACTION');
    try {
      await this.db.run('DELETE FROM trials WHERE trial_key = $1 AND fingerprint = $2', [row.trialKey, row.fingerprint]);
      await this.db.run(`INSERT INTO trials (${TRIAL_INSERT_COLUMNS}) VALUES (${placeholders})`, values);
      await this.db.run('COMMIT');
    } catch (e) {
      await this.db.run('ROLLBACK');
      throw e;
    }
  }

  /** Every stored trial as it was inserted (JSON columns as text), in the order they finished. */
  async rows(): Promise<ResultRow[]> {
    const reader = await this.db.runAndReadAll(`SELECT * FROM trials ORDER BY finished_at, trial_key`);
    return reader.getRowObjectsJS().map((r) => {
      const row: Record<string, unknown> = {};
      for (const [key] of TRIAL_COLUMNS) {
        const v = r[snakeCase(key)];
        row[key] = v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : v;
      }
      // Stores written before precision was a column held FP32 trials only.
      row['precision'] ??= 'fp32';
      return row as unknown as ResultRow;
    });
  }

  /** Every stored trial with its JSON columns decoded, in the order they finished: what the report reads. */
  async trials(): Promise<StoredTrial[]> {
    return (await this.rows()).map(decodeTrial);
  }

  /** Stores a fidelity check, replacing an earlier check of the same model, batch and engine on this machine. */
  async insertFidelity(fingerprint: string, study: string, r: FidelityRecord): Promise<void> {
    await this.db.run('BEGIN TRANSACTION');
    try {
      await this.db.run(FIDELITY_DELETE, [fingerprint, r.model, r.batch, r.engine]);
      await this.db.run(FIDELITY_INSERT, encodeFidelity(fingerprint, study, r, new Date().toISOString()));
      await this.db.run('COMMIT');
    } catch (e) {
      await this.db.run('ROLLBACK');
      throw e;
    }
  }

  /** The stored fidelity checks (of one machine, if given), in the order they were measured. */
  async fidelity(fingerprint?: string): Promise<StoredFidelity[]> {
    const order = 'ORDER BY measured_at, engine, model, batch';
    const reader = fingerprint === undefined ? await this.db.runAndReadAll(`SELECT * FROM fidelity ${order}`) : await this.db.runAndReadAll(`SELECT * FROM fidelity WHERE fingerprint = $1 ${order}`, [fingerprint]);
    return reader.getRowObjectsJS().map((r) => decodeFidelity(r as Record<string, unknown>));
  }

  /** Keys of the scenario runs stored for a fingerprint, by status: resuming skips those that did not fail. */
  async storedScenarios(fingerprint: string): Promise<Map<string, StoredScenario['status']>> {
    const reader = await this.db.runAndReadAll('SELECT scenario_key, status FROM scenarios WHERE fingerprint = $1', [fingerprint]);
    return new Map(reader.getRows().map(([key, status]) => [String(key), String(status) as StoredScenario['status']]));
  }

  /** Stores a scenario run, replacing an earlier run with its key on this machine. */
  async insertScenario(s: StoredScenario): Promise<void> {
    await this.db.run('BEGIN TRANSACTION');
    try {
      await this.db.run(SCENARIO_DELETE, [s.scenarioKey, s.fingerprint]);
      await this.db.run(SCENARIO_INSERT, encodeScenario(s));
      await this.db.run('COMMIT');
    } catch (e) {
      await this.db.run('ROLLBACK');
      throw e;
    }
  }

  /** Every stored scenario run, in the order they finished. */
  async scenarios(): Promise<StoredScenario[]> {
    const reader = await this.db.runAndReadAll('SELECT * FROM scenarios ORDER BY finished_at, scenario_key');
    return reader.getRowObjectsJS().map((r) => decodeScenario(r as Record<string, unknown>));
  }

  async environments(): Promise<Environment[]> {
    const reader = await this.db.runAndReadAll('SELECT * FROM environments ORDER BY first_seen');
    return reader.getRowObjectsJS().map((r) => ({
      fingerprint: String(r['fingerprint']),
      cpuModel: String(r['cpu_model']),
      isa: String(r['isa']).split(' ').filter(Boolean),
      logicalCores: Number(r['logical_cores']),
      memoryGiB: r['memory_gib'] === null || r['memory_gib'] === undefined ? null : Number(r['memory_gib']),
      os: String(r['os']),
      nodeVersion: String(r['node_version']),
      ...(r['device'] === null || r['device'] === undefined ? {} : { device: String(r['device']) }),
    }));
  }

  /**
   * Writes every trial with its machine's description (CPU, ISA, cores, memory, OS, Node) using
   * DuckDB's own writers: CSV with a header, Parquet, or a JSON array.
   */
  /** Writes one table's rows, with the machine of each, to a file: the trials or the scenario runs. */
  async exportTable(table: ExportTable, format: 'csv' | 'parquet' | 'json', file: string): Promise<void> {
    const options = { csv: 'FORMAT CSV, HEADER', parquet: 'FORMAT PARQUET', json: 'FORMAT JSON, ARRAY true' }[format];
    const [columns, key] = table === 'trials' ? [TRIAL_COLUMNS.map(([k]) => snakeCase(k)), 'trial_key'] : [SCENARIO_COLUMNS.map(([k]) => snakeCase(k)), 'scenario_key'];
    // CSV has no list type: samples become one ';'-separated field there.
    const cells = columns.map((c) => (c === 'samples_ms' && format === 'csv' ? `array_to_string(t.samples_ms, ';') AS samples_ms` : `t.${c}`));
    const select = `SELECT ${cells.join(', ')}, e.cpu_model, e.isa, e.logical_cores, e.memory_gib, e.os, e.node_version
      FROM ${table} t LEFT JOIN environments e USING (fingerprint) ORDER BY t.finished_at, t.${key}`;
    await this.db.run(`COPY (${select}) TO '${file.replace(/'/g, "''")}' (${options})`);
  }

  /** The calibration tables: probes, fitted latency models, fusion rules, held-out checks (calibration.ts). */
  calibration(): CalibrationTables {
    return new CalibrationTables(this.db);
  }

  close(): void {
    this.db.closeSync();
    this.instance.closeSync();
  }
}

/**
 * Reads every column of every table, before anything is written: DuckDB opens a truncated or
 * corrupted file without complaint and fails only when a query reaches the bad block, which would
 * be halfway through a study or a report. A store holds thousands of rows, so this costs
 * milliseconds.
 */
async function readEveryTable(db: DuckDBConnection): Promise<void> {
  const tables = (await db.runAndReadAll('SELECT table_name FROM duckdb_tables()')).getRows().map(([name]) => String(name));
  for (const table of tables) {
    const quoted = `"${table.replace(/"/g, '""')}"`;
    // hash() of every column, so that no column is pruned from the scan.
    await db.runAndReadAll(`SELECT count(*), max(hash(COLUMNS(*))) FROM ${quoted}`);
  }
}
