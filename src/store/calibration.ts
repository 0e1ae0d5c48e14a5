/**
 * The calibration tables: what `formbench calibrate` measured (one row per probe network, its
 * kernels' shapes and times as JSON beside the probe's totals), the latency models fitted from
 * them (one row per engine and kernel class: feature names, ridge coefficients and the
 * standardisation, plain numbers), each engine's learned fusion signatures, and the held-out
 * checks of `formbench predict --validate`. Every row carries the machine's fingerprint and the
 * engine's version: a model is only used on the machine and engine it was fitted for.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

export const CALIBRATION_DDL = [
  `CREATE TABLE IF NOT EXISTS calibration_probes (probe_key VARCHAR, fingerprint VARCHAR, engine VARCHAR, engine_version VARCHAR,
    purpose VARCHAR, probe VARCHAR, batch INTEGER, status VARCHAR, reason VARCHAR, unprofiled_median_ms DOUBLE,
    kernel_sum_ms DOUBLE, kernel_count INTEGER, layout_ms DOUBLE, kernels VARCHAR, wall_ms DOUBLE, measured_at TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS latency_models (fingerprint VARCHAR, engine VARCHAR, engine_version VARCHAR, kernel_class VARCHAR,
    feature_names VARCHAR, intercept DOUBLE, coefficients DOUBLE[], means DOUBLE[], scales DOUBLE[], samples INTEGER,
    probes INTEGER, fitted_at TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS fusion_rules (fingerprint VARCHAR, engine VARCHAR, engine_version VARCHAR, signature VARCHAR, seen INTEGER)`,
  `CREATE TABLE IF NOT EXISTS prediction_checks (fingerprint VARCHAR, engine VARCHAR, engine_version VARCHAR, model VARCHAR,
    held_out VARCHAR, batch INTEGER, predicted_ms DOUBLE, measured_ms DOUBLE, checked_at TIMESTAMP)`,
  // The speed check's drift a prediction was scaled by (checks stored before it: null, read as 1).
  'ALTER TABLE prediction_checks ADD COLUMN IF NOT EXISTS speed_scale DOUBLE',
  // Each round's median of the held-out network (checks stored before rounds: null, read as none).
  'ALTER TABLE prediction_checks ADD COLUMN IF NOT EXISTS measured_rounds_ms DOUBLE[]',
];

/** One profiled probe network. */
export interface StoredProbe {
  probeKey: string;
  fingerprint: string;
  engine: string;
  engineVersion: string;
  purpose: string;
  /** The probe's definition (predict/probes.ts), JSON-able. */
  probe: unknown;
  batch: number;
  status: 'ok' | 'failed';
  reason: string | null;
  unprofiledMedianMs: number | null;
  kernelSumMs: number | null;
  kernelCount: number | null;
  /** Time of the engine's layout conversions (ort's Reorder*), which stand for no IR node. */
  layoutMs: number | null;
  /** The timed kernels: [{ kernelClass, signature, shape, ms }]. */
  kernels: unknown[];
  wallMs: number;
  measuredAt: string;
}

/** One kernel class's fitted model (or the 'network' model: its coefficients are [b, c] on [Σ kernel ms, kernels]). */
export interface StoredLatencyModel {
  fingerprint: string;
  engine: string;
  engineVersion: string;
  kernelClass: string;
  featureNames: string[];
  intercept: number;
  coefficients: number[];
  means: number[];
  scales: number[];
  samples: number;
  probes: number;
  fittedAt: string;
}

export interface StoredFusionRule {
  signature: string;
  seen: number;
}

export interface StoredPredictionCheck {
  fingerprint: string;
  engine: string;
  engineVersion: string;
  model: string;
  /** Which held-out group: 'pattern' (off the sampling grid) or 'reference'. */
  heldOut: string;
  batch: number;
  /** The prediction, times speedScale. */
  predictedMs: number;
  /** The median of the rounds' medians. */
  measuredMs: number;
  /** Each validation round's median, in the order they ran (empty for checks stored before rounds). */
  measuredRoundsMs: number[];
  /** The speed check's drift the prediction was multiplied by (1: none). */
  speedScale: number;
  checkedAt: string;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const time = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));
const list = (v: unknown): number[] => (Array.isArray(v) ? v.map(Number) : (JSON.parse(String(v ?? '[]')) as number[]));

/** The calibration tables of one open store (ResultStore.calibration()). */
export class CalibrationTables {
  constructor(private readonly db: DuckDBConnection) {}

  async insertProbe(p: StoredProbe): Promise<void> {
    await this.transaction(async () => {
      await this.db.run('DELETE FROM calibration_probes WHERE probe_key = $1 AND fingerprint = $2 AND engine = $3 AND engine_version = $4', [p.probeKey, p.fingerprint, p.engine, p.engineVersion]);
      await this.db.run(
        'INSERT INTO calibration_probes VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, CAST($16 AS TIMESTAMP))',
        [p.probeKey, p.fingerprint, p.engine, p.engineVersion, p.purpose, JSON.stringify(p.probe), p.batch, p.status, p.reason, p.unprofiledMedianMs, p.kernelSumMs, p.kernelCount, p.layoutMs, JSON.stringify(p.kernels), p.wallMs, p.measuredAt],
      );
    });
  }

  /** The probes measured for an engine at a version on a machine, in the order they were measured. */
  async probes(fingerprint: string, engine: string, engineVersion: string): Promise<StoredProbe[]> {
    const reader = await this.db.runAndReadAll('SELECT * FROM calibration_probes WHERE fingerprint = $1 AND engine = $2 AND engine_version = $3 ORDER BY measured_at', [fingerprint, engine, engineVersion]);
    return reader.getRowObjectsJS().map((r) => ({
      probeKey: String(r['probe_key']),
      fingerprint: String(r['fingerprint']),
      engine: String(r['engine']),
      engineVersion: String(r['engine_version']),
      purpose: String(r['purpose']),
      probe: JSON.parse(String(r['probe'])) as unknown,
      batch: Number(r['batch']),
      status: String(r['status']) as StoredProbe['status'],
      reason: r['reason'] === null ? null : String(r['reason']),
      unprofiledMedianMs: num(r['unprofiled_median_ms']),
      kernelSumMs: num(r['kernel_sum_ms']),
      kernelCount: num(r['kernel_count']),
      layoutMs: num(r['layout_ms']),
      kernels: JSON.parse(String(r['kernels'] ?? '[]')) as unknown[],
      wallMs: Number(r['wall_ms']),
      measuredAt: time(r['measured_at']),
    }));
  }

  /** Replaces an engine's models and fusion rules on a machine with a new fit. */
  async saveModel(fingerprint: string, engine: string, engineVersion: string, models: StoredLatencyModel[], rules: StoredFusionRule[]): Promise<void> {
    await this.transaction(async () => {
      await this.db.run('DELETE FROM latency_models WHERE fingerprint = $1 AND engine = $2', [fingerprint, engine]);
      await this.db.run('DELETE FROM fusion_rules WHERE fingerprint = $1 AND engine = $2', [fingerprint, engine]);
      for (const m of models) {
        await this.db.run('INSERT INTO latency_models VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS DOUBLE[]), CAST($8 AS DOUBLE[]), CAST($9 AS DOUBLE[]), $10, $11, CAST($12 AS TIMESTAMP))', [
          fingerprint, engine, engineVersion, m.kernelClass, JSON.stringify(m.featureNames), m.intercept, JSON.stringify(m.coefficients), JSON.stringify(m.means), JSON.stringify(m.scales), m.samples, m.probes, m.fittedAt,
        ]);
      }
      for (const r of rules) await this.db.run('INSERT INTO fusion_rules VALUES ($1, $2, $3, $4, $5)', [fingerprint, engine, engineVersion, r.signature, r.seen]);
    });
  }

  /** Every stored model row (all machines, all engines): predict decides which it may use. */
  async models(): Promise<StoredLatencyModel[]> {
    const reader = await this.db.runAndReadAll('SELECT * FROM latency_models ORDER BY fingerprint, engine, kernel_class');
    return reader.getRowObjectsJS().map((r) => ({
      fingerprint: String(r['fingerprint']),
      engine: String(r['engine']),
      engineVersion: String(r['engine_version']),
      kernelClass: String(r['kernel_class']),
      featureNames: JSON.parse(String(r['feature_names'])) as string[],
      intercept: Number(r['intercept']),
      coefficients: list(r['coefficients']),
      means: list(r['means']),
      scales: list(r['scales']),
      samples: Number(r['samples']),
      probes: Number(r['probes']),
      fittedAt: time(r['fitted_at']),
    }));
  }

  async fusionRules(fingerprint: string, engine: string): Promise<StoredFusionRule[]> {
    const reader = await this.db.runAndReadAll('SELECT signature, seen FROM fusion_rules WHERE fingerprint = $1 AND engine = $2 ORDER BY seen DESC, signature', [fingerprint, engine]);
    return reader.getRows().map(([signature, seen]) => ({ signature: String(signature), seen: Number(seen) }));
  }

  /** Replaces the checks of one (machine, engine, model, batch). */
  async insertChecks(checks: StoredPredictionCheck[]): Promise<void> {
    await this.transaction(async () => {
      for (const c of checks) {
        await this.db.run('DELETE FROM prediction_checks WHERE fingerprint = $1 AND engine = $2 AND model = $3 AND batch = $4', [c.fingerprint, c.engine, c.model, c.batch]);
        await this.db.run(
          'INSERT INTO prediction_checks (fingerprint, engine, engine_version, model, held_out, batch, predicted_ms, measured_ms, checked_at, speed_scale, measured_rounds_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CAST($9 AS TIMESTAMP), $10, $11)',
          [c.fingerprint, c.engine, c.engineVersion, c.model, c.heldOut, c.batch, c.predictedMs, c.measuredMs, c.checkedAt, c.speedScale, JSON.stringify(c.measuredRoundsMs)],
        );
      }
    });
  }

  async checks(fingerprint: string): Promise<StoredPredictionCheck[]> {
    const reader = await this.db.runAndReadAll('SELECT * FROM prediction_checks WHERE fingerprint = $1 ORDER BY engine, held_out, model', [fingerprint]);
    return reader.getRowObjectsJS().map((r) => ({
      fingerprint: String(r['fingerprint']),
      engine: String(r['engine']),
      engineVersion: String(r['engine_version']),
      model: String(r['model']),
      heldOut: String(r['held_out']),
      batch: Number(r['batch']),
      predictedMs: Number(r['predicted_ms']),
      measuredMs: Number(r['measured_ms']),
      measuredRoundsMs: r['measured_rounds_ms'] === null || r['measured_rounds_ms'] === undefined ? [] : list(r['measured_rounds_ms']),
      speedScale: num(r['speed_scale']) ?? 1,
      checkedAt: time(r['checked_at']),
    }));
  }

  private async transaction(work: () => Promise<void>): Promise<void> {
    await this.db.run('BEGIN TRANSACTION');
    try {
      await work();
      await this.db.run('COMMIT');
    } catch (e) {
      await this.db.run('ROLLBACK');
      throw e;
    }
  }
}
