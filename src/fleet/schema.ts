/**
 * formbench's tables in the fleet database, in a schema of their own beside pg-boss's `pgboss`.
 * `trials` holds the columns of the DuckDB store's trials table (store/schema.ts TRIAL_COLUMNS)
 * plus the worker that measured each row; its primary key (fingerprint, trial_key) is what keeps a
 * trial from being stored twice when the queue hands it to a second worker.
 */
import { snakeCase, TRIAL_COLUMNS } from '../store/index.js';

export const FLEET_SCHEMA = 'formbench';

const PG_TYPES = { VARCHAR: 'text', INTEGER: 'integer', DOUBLE: 'double precision', 'DOUBLE[]': 'double precision[]', TIMESTAMP: 'timestamptz' } as const;

/** The trial columns in TRIAL_COLUMNS' order, snake_case, with their PostgreSQL types. */
export const FLEET_TRIAL_COLUMNS = TRIAL_COLUMNS.map(([key, type]) => ({ key, column: snakeCase(key), type: PG_TYPES[type] }));

const S = FLEET_SCHEMA;

/** Every statement is idempotent; store.ts runs them under an advisory lock so that workers starting together do not race. */
export const FLEET_DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${S}`,
  `CREATE TABLE IF NOT EXISTS ${S}.trials (${FLEET_TRIAL_COLUMNS.map((c) => `${c.column} ${c.type}`).join(', ')},
    worker text NOT NULL, machine_fingerprint text NOT NULL, PRIMARY KEY (fingerprint, trial_key))`,
  // One row per fingerprint as the trials carry it: a machine class (split) or one machine (each).
  `CREATE TABLE IF NOT EXISTS ${S}.environments (fingerprint text PRIMARY KEY, cpu_model text, isa text, logical_cores integer,
    memory_gib integer, os text, node_version text, first_seen timestamptz, mode text, class_name text, peaks jsonb)`,
  `CREATE TABLE IF NOT EXISTS ${S}.machines (name text PRIMARY KEY, fingerprint text NOT NULL, class_fingerprint text NOT NULL, class_name text NOT NULL,
    each_fingerprint text NOT NULL, cpu_model text, logical_cores integer, memory_gib integer, engines jsonb, first_seen timestamptz, last_seen timestamptz, doing text)`,
  // The study as a study-file document: what every worker validates with study/file.ts's schema and plans.
  `CREATE TABLE IF NOT EXISTS ${S}.studies (name text PRIMARY KEY, generation integer NOT NULL, mode text NOT NULL, document jsonb NOT NULL,
    trials jsonb NOT NULL, fidelity jsonb NOT NULL, expire_seconds integer NOT NULL, retry_limit integer NOT NULL, submitted_at timestamptz NOT NULL)`,
  // A unit (class or machine) whose trials of one submission are all in the queue.
  `CREATE TABLE IF NOT EXISTS ${S}.enqueued (study text, generation integer, unit text, queue text NOT NULL, at timestamptz, PRIMARY KEY (study, generation, unit))`,
  `CREATE TABLE IF NOT EXISTS ${S}.attempts (id bigserial PRIMARY KEY, study text, generation integer, unit text, trial_key text, worker text,
    job_id text, attempt integer, reason text, at timestamptz)`,
  // A native engine's fidelity check (measure/fidelity.ts), the record as JSON: copied into the DuckDB store's fidelity table on export.
  `CREATE TABLE IF NOT EXISTS ${S}.fidelity (fingerprint text, model text, batch integer, engine text, study text NOT NULL, status text NOT NULL,
    record jsonb NOT NULL, worker text NOT NULL, measured_at timestamptz NOT NULL, PRIMARY KEY (fingerprint, model, batch, engine))`,
  `CREATE TABLE IF NOT EXISTS ${S}.refused (job_id text PRIMARY KEY, queue text, worker text, reason text, payload text, at timestamptz)`,
];
