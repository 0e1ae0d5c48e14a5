/**
 * `formbench fleet status`: the machines, and per study and unit the trials done, pending,
 * running and failed, with an ETA from the plan's estimates and the unit's live machines.
 */
import { fidelityKey } from './jobs.js';
import type { FleetStore, MachineRow } from './store.js';

/** A machine not heard from for this long has left (a worker writes its heartbeat every 10 s). */
export const LIVE_WITHIN_MS = 60_000;

export interface UnitStatus {
  study: string;
  generation: number;
  mode: string;
  unit: string;
  /** The class's name (split) or the machine's (each). */
  label: string;
  trials: number;
  done: number;
  /** Stored as failed after the retry limit, or given up by the queue (workers killed on every attempt). */
  failed: number;
  running: number;
  pending: number;
  /** The study's fidelity checks on this unit: how many, and how many are stored. */
  fidelityChecks: number;
  fidelityDone: number;
  liveMachines: number;
  /** Seconds, from the plan's estimates of the trials left, shared among the unit's live machines; absent with none live. */
  etaSeconds?: number;
}

export interface FleetStatus {
  machines: (MachineRow & { live: boolean })[];
  units: UnitStatus[];
  refused: { jobId: string; worker: string; reason: string }[];
}

export async function fleetStatus(store: FleetStore, now = new Date()): Promise<FleetStatus> {
  const machines = (await store.machines()).map((m) => ({ ...m, live: m.doing !== 'left' && now.getTime() - m.lastSeen.getTime() < LIVE_WITHIN_MS }));
  const rows = await store.pool.query(`SELECT fingerprint, trial_key, status FROM formbench.trials`);
  const stored = new Map<string, string>(rows.rows.map((r) => [`${r.fingerprint}|${r.trial_key}`, r.status]));
  const machineUnits = await store.pool.query(`SELECT name, class_fingerprint, each_fingerprint, class_name FROM formbench.machines`);
  const units: UnitStatus[] = [];
  const studies = await store.studies();
  const fidelity = await store.fidelity();
  // pg-boss creates its tables when the first worker starts.
  const queueInstalled = (await store.pool.query(`SELECT to_regclass('pgboss.job') IS NOT NULL AS ok`)).rows[0].ok === true;
  for (const e of await store.enqueued()) {
    const study = studies.find((s) => s.name === e.study && s.generation === e.generation);
    if (!study) continue;
    const jobs = !queueInstalled ? { rows: [] } : await store.pool.query(
      `SELECT state::text AS state, count(*)::int AS count FROM pgboss.job WHERE name = $1 AND data->>'study' = $2 AND data->>'generation' = $3 AND data->>'kind' IS NULL GROUP BY 1`,
      [e.queue, e.study, String(e.generation)],
    );
    const byState = Object.fromEntries(jobs.rows.map((r) => [r.state, r.count as number]));
    const left = study.trials.filter((t) => !['ok', 'mismatch', 'failed'].includes(stored.get(`${e.unit}|${t.key}`) ?? ''));
    const done = study.trials.length - left.length - study.trials.filter((t) => stored.get(`${e.unit}|${t.key}`) === 'failed').length;
    const failedRows = study.trials.length - left.length - done;
    const members = machineUnits.rows.filter((m) => (study.mode === 'split' ? m.class_fingerprint : m.each_fingerprint) === e.unit).map((m) => m.name as string);
    const liveMachines = machines.filter((m) => m.live && members.includes(m.name)).length;
    const checkedKeys = new Set(fidelity.filter((f) => f.fingerprint === e.unit).map((f) => fidelityKey({ spec: f.model, batch: f.batch, choice: { label: f.engine } })));
    const checksLeft = study.fidelity.filter((f) => !checkedKeys.has(f.key));
    const remaining = [...left, ...checksLeft].reduce((s, t) => s + t.estimatedSeconds, 0);
    const running = byState['active'] ?? 0;
    const givenUp = byState['failed'] ?? 0;
    units.push({
      study: e.study,
      generation: e.generation,
      mode: study.mode,
      unit: e.unit,
      label: study.mode === 'split' ? (machineUnits.rows.find((m) => m.class_fingerprint === e.unit)?.class_name ?? e.unit) : (members[0] ?? e.unit),
      trials: study.trials.length,
      done,
      failed: failedRows + givenUp,
      running,
      pending: Math.max(0, left.length - running - givenUp),
      fidelityChecks: study.fidelity.length,
      fidelityDone: study.fidelity.length - checksLeft.length,
      liveMachines,
      ...(liveMachines > 0 ? { etaSeconds: remaining / liveMachines } : {}),
    });
  }
  return { machines, units, refused: await store.refusals() };
}
