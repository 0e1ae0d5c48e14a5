/**
 * The fleet's shared store on PostgreSQL: the same ResultRow as the DuckDB store, keyed by
 * (fingerprint, trial_key) in the database, plus the fleet's own bookkeeping (machines,
 * submitted studies, attempts, refused jobs). Every write is one statement or one transaction.
 */
import type pg from 'pg';
import type { Environment, FidelityRecord, KeptPeaks } from '../measure/index.js';
import { encodeTrial, type ResultRow, type StoredFidelity, type StoredTrial } from '../store/index.js';
import { openPool, type FleetUrl } from './connection.js';
import { FLEET_DDL, FLEET_SCHEMA, FLEET_TRIAL_COLUMNS } from './schema.js';

const S = FLEET_SCHEMA;
/** Any constant: it only has to be the same for every formbench process creating the tables. */
const MIGRATION_LOCK = 0x666f726d;
const QUEUE_LOCK = 0x666f7271;
const UNIT_LOCK = 0x666f7275;

export type FleetMode = 'split' | 'each';

/** A study as submitted: its document (a study file's shape), its trials' keys and estimates. */
export interface FleetStudy {
  name: string;
  generation: number;
  mode: FleetMode;
  document: unknown;
  trials: { key: string; estimatedSeconds: number }[];
  /** The plan's fidelity checks, each keyed by fidelityKey (jobs.ts). */
  fidelity: { key: string; estimatedSeconds: number }[];
  expireSeconds: number;
  retryLimit: number;
  submittedAt: Date;
}

/** A worker's machine as the fleet knows it. */
export interface FleetMachine {
  name: string;
  /** The machine's own environment fingerprint. */
  fingerprint: string;
  /** The fingerprint its rows carry in a split study: the class it belongs to. */
  classFingerprint: string;
  className: string;
  /** The fingerprint its rows carry in an each study: this machine alone. */
  eachFingerprint: string;
  env: Environment;
  /** Engine → version, or 'unavailable'. */
  engines: Record<string, string>;
}

export interface MachineRow {
  name: string;
  classFingerprint: string;
  className: string;
  cpuModel: string;
  lastSeen: Date;
  doing: string | null;
}

export class FleetStore {
  private constructor(readonly pool: pg.Pool) {}

  static async open(url: FleetUrl): Promise<FleetStore> {
    const pool = await openPool(url);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      for (const sql of FLEET_DDL) await client.query(sql);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      await pool.end();
      throw e;
    }
    client.release();
    return new FleetStore(pool);
  }

  /**
   * Runs `fn` while no other formbench process runs one: pg-boss's own schema install and its
   * queue creation (a partition attached to its job table) deadlock or collide when workers
   * starting together do them at once.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.locked(QUEUE_LOCK, 'queue', fn);
  }

  /** Runs `fn` while no other formbench process runs one for the same unit (its roofline peaks, measured once). */
  forUnit<T>(unit: string, fn: () => Promise<T>): Promise<T> {
    return this.locked(UNIT_LOCK, unit, fn);
  }

  private async locked<T>(space: number, key: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [space, key]);
      try {
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [space, key]);
      }
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  /** Submits a study (again): a new generation, whose trials are queued for each unit as its first worker asks. */
  async submitStudy(s: Omit<FleetStudy, 'generation' | 'submittedAt'>): Promise<number> {
    const { rows } = await this.pool.query(
      `INSERT INTO ${S}.studies (name, generation, mode, document, trials, fidelity, expire_seconds, retry_limit, submitted_at) VALUES ($1, 1, $2, $3, $4, $7, $5, $6, now())
       ON CONFLICT (name) DO UPDATE SET generation = ${S}.studies.generation + 1, mode = $2, document = $3, trials = $4, fidelity = $7, expire_seconds = $5, retry_limit = $6, submitted_at = now()
       RETURNING generation`,
      [s.name, s.mode, JSON.stringify(s.document), JSON.stringify(s.trials), s.expireSeconds, s.retryLimit, JSON.stringify(s.fidelity)],
    );
    return Number(rows[0].generation);
  }

  async studies(): Promise<FleetStudy[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${S}.studies ORDER BY submitted_at`);
    return rows.map((r) => ({ name: r.name, generation: r.generation, mode: r.mode, document: r.document, trials: r.trials, fidelity: r.fidelity, expireSeconds: r.expire_seconds, retryLimit: r.retry_limit, submittedAt: r.submitted_at }));
  }

  async study(name: string, generation: number): Promise<FleetStudy | undefined> {
    return (await this.studies()).find((s) => s.name === name && s.generation === generation);
  }

  async recordMachine(m: FleetMachine): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${S}.machines (name, fingerprint, class_fingerprint, class_name, each_fingerprint, cpu_model, logical_cores, memory_gib, engines, first_seen, last_seen, doing)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), now(), NULL)
       ON CONFLICT (name) DO UPDATE SET fingerprint = $2, class_fingerprint = $3, class_name = $4, each_fingerprint = $5, cpu_model = $6, logical_cores = $7, memory_gib = $8, engines = $9, last_seen = now(), doing = NULL`,
      [m.name, m.fingerprint, m.classFingerprint, m.className, m.eachFingerprint, m.env.cpuModel, m.env.logicalCores, m.env.memoryGiB, JSON.stringify(m.engines)],
    );
  }

  /** The machine is alive, and doing this (null: waiting for trials; 'left': stopped). */
  async heartbeat(name: string, doing: string | null): Promise<void> {
    await this.pool.query(`UPDATE ${S}.machines SET last_seen = now(), doing = $2 WHERE name = $1`, [name, doing]);
  }

  async machines(): Promise<MachineRow[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${S}.machines ORDER BY class_name, name`);
    return rows.map((r) => ({ name: r.name, classFingerprint: r.class_fingerprint, className: r.class_name, cpuModel: r.cpu_model, lastSeen: r.last_seen, doing: r.doing }));
  }

  /** The environment of a unit, as the first of its machines described it (the DuckDB store's environments row). */
  async recordEnvironment(env: Environment, mode: FleetMode, className: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${S}.environments (fingerprint, cpu_model, isa, logical_cores, memory_gib, os, node_version, first_seen, mode, class_name)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9) ON CONFLICT DO NOTHING`,
      [env.fingerprint, env.cpuModel, env.isa.join(' '), env.logicalCores, env.memoryGiB, env.os, env.nodeVersion, mode, className],
    );
  }

  /** The unit's roofline peaks, as the first of its machines measured them (measure/peaks.ts). */
  async peaks(fingerprint: string): Promise<KeptPeaks | undefined> {
    const { rows } = await this.pool.query(`SELECT peaks FROM ${S}.environments WHERE fingerprint = $1 AND peaks IS NOT NULL`, [fingerprint]);
    return rows[0]?.peaks ?? undefined;
  }

  async recordPeaks(fingerprint: string, peaks: KeptPeaks): Promise<void> {
    await this.pool.query(`UPDATE ${S}.environments SET peaks = $2 WHERE fingerprint = $1`, [fingerprint, JSON.stringify(peaks)]);
  }

  async environments(): Promise<(Environment & { mode: FleetMode; className: string; peaks?: KeptPeaks })[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${S}.environments ORDER BY first_seen, fingerprint`);
    return rows.map((r) => ({
      fingerprint: r.fingerprint,
      cpuModel: r.cpu_model,
      isa: String(r.isa).split(' ').filter(Boolean),
      logicalCores: r.logical_cores,
      memoryGiB: r.memory_gib,
      os: r.os,
      nodeVersion: r.node_version,
      mode: r.mode,
      className: r.class_name,
      ...(r.peaks ? { peaks: r.peaks } : {}),
    }));
  }

  /** Keys of the trials stored for a fingerprint, by status (what runStudy resumes from). */
  async storedTrials(fingerprint: string): Promise<Map<string, ResultRow['status']>> {
    const { rows } = await this.pool.query(`SELECT trial_key, status FROM ${S}.trials WHERE fingerprint = $1`, [fingerprint]);
    return new Map(rows.map((r) => [String(r.trial_key), r.status as ResultRow['status']]));
  }

  /**
   * Stores a measured trial unless the database already holds it: a second measurement of a
   * trial stored ok or mismatched is dropped (the queue handed it to two workers), a failed one is
   * replaced. Answers whether this row is the one stored.
   */
  async insertTrial(trial: StoredTrial, worker: string, machineFingerprint: string): Promise<boolean> {
    const row = encodeTrial(trial);
    const values = [...FLEET_TRIAL_COLUMNS.map((c) => row[c.key] ?? null), worker, machineFingerprint];
    const columns = [...FLEET_TRIAL_COLUMNS.map((c) => c.column), 'worker', 'machine_fingerprint'];
    const placeholders = columns.map((_, i) => `$${i + 1}`).join(', ');
    const updates = columns.filter((c) => c !== 'fingerprint' && c !== 'trial_key').map((c) => `${c} = EXCLUDED.${c}`).join(', ');
    const result = await this.pool.query(
      `INSERT INTO ${S}.trials (${columns.join(', ')}) VALUES (${placeholders})
       ON CONFLICT (fingerprint, trial_key) DO UPDATE SET ${updates} WHERE ${S}.trials.status = 'failed'`,
      values,
    );
    return result.rowCount === 1;
  }

  /** Every stored row (JSON columns as text), with the worker that measured it, in the order they finished. */
  async rows(): Promise<(ResultRow & { worker: string; machineFingerprint: string })[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${S}.trials ORDER BY finished_at, trial_key`);
    return rows.map((r) => {
      const row: Record<string, unknown> = { worker: r.worker, machineFingerprint: r.machine_fingerprint };
      for (const c of FLEET_TRIAL_COLUMNS) {
        const v = r[c.column];
        row[c.key] = v instanceof Date ? v.toISOString() : v;
      }
      return row as unknown as ResultRow & { worker: string; machineFingerprint: string };
    });
  }

  /** The fidelity checks stored for a fingerprint (what runStudy skips), or every one with its fingerprint and study. */
  async fidelity(fingerprint?: string): Promise<StoredFidelity[]> {
    const { rows } = fingerprint === undefined ? await this.pool.query(`SELECT * FROM ${S}.fidelity ORDER BY measured_at`) : await this.pool.query(`SELECT * FROM ${S}.fidelity WHERE fingerprint = $1 ORDER BY measured_at`, [fingerprint]);
    return rows.map((r) => ({ ...(r.record as FidelityRecord), fingerprint: r.fingerprint, study: r.study, measuredAt: (r.measured_at as Date).toISOString() }));
  }

  /** Stores a fidelity check; one already stored ok is kept (two workers measured it), any other replaced. */
  async insertFidelity(fingerprint: string, study: string, record: FidelityRecord, worker: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${S}.fidelity (fingerprint, model, batch, engine, study, status, record, worker, measured_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
       ON CONFLICT (fingerprint, model, batch, engine) DO UPDATE SET study = $5, status = $6, record = $7, worker = $8, measured_at = now() WHERE ${S}.fidelity.status <> 'ok'`,
      [fingerprint, record.model, record.batch, record.engine, study, record.status, JSON.stringify(record), worker],
    );
  }

  async recordAttempt(a: { study: string; generation: number; unit: string; trialKey: string; worker: string; jobId: string; attempt: number; reason: string }): Promise<void> {
    await this.pool.query(`INSERT INTO ${S}.attempts (study, generation, unit, trial_key, worker, job_id, attempt, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())`, [
      a.study,
      a.generation,
      a.unit,
      a.trialKey,
      a.worker,
      a.jobId,
      a.attempt,
      a.reason,
    ]);
  }

  /** The failed attempts at a trial on a unit, oldest first. */
  async attempts(unit: string, trialKey: string): Promise<{ worker: string; attempt: number; reason: string }[]> {
    const { rows } = await this.pool.query(`SELECT worker, attempt, reason FROM ${S}.attempts WHERE unit = $1 AND trial_key = $2 ORDER BY at, id`, [unit, trialKey]);
    return rows;
  }

  async recordRefusal(r: { jobId: string; queue: string; worker: string; reason: string; payload: unknown }): Promise<void> {
    await this.pool.query(`INSERT INTO ${S}.refused (job_id, queue, worker, reason, payload, at) VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT DO NOTHING`, [
      r.jobId,
      r.queue,
      r.worker,
      r.reason,
      JSON.stringify(r.payload)?.slice(0, 4096) ?? null,
    ]);
  }

  async refusals(): Promise<{ jobId: string; worker: string; reason: string }[]> {
    const { rows } = await this.pool.query(`SELECT job_id, worker, reason FROM ${S}.refused ORDER BY at`);
    return rows.map((r) => ({ jobId: r.job_id, worker: r.worker, reason: r.reason }));
  }

  async isEnqueued(study: string, generation: number, unit: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`SELECT 1 FROM ${S}.enqueued WHERE study = $1 AND generation = $2 AND unit = $3`, [study, generation, unit]);
    return rowCount === 1;
  }

  async markEnqueued(study: string, generation: number, unit: string, queue: string): Promise<void> {
    await this.pool.query(`INSERT INTO ${S}.enqueued (study, generation, unit, queue, at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT DO NOTHING`, [study, generation, unit, queue]);
  }

  /** Every unit a study's trials were queued for. */
  async enqueued(): Promise<{ study: string; generation: number; unit: string; queue: string }[]> {
    const { rows } = await this.pool.query(`SELECT study, generation, unit, queue FROM ${S}.enqueued ORDER BY at`);
    return rows;
  }

  /** Stored trials per unit and study name, by status. */
  async storedCounts(): Promise<{ unit: string; study: string; status: string; count: number }[]> {
    const { rows } = await this.pool.query(`SELECT fingerprint AS unit, study, status, count(*)::int AS count FROM ${S}.trials GROUP BY 1, 2, 3`);
    return rows;
  }
}
