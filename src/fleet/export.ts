/**
 * The fleet's rows copied into a DuckDB store, so that everything that reads a store (the
 * exporters of `formbench results`, the report and its Machines section) reads a fleet's results
 * unchanged: each unit (a machine class, or one machine) is one fingerprint with its
 * environments row, whose device description names the fleet's class or machine and its workers.
 */
import { ResultStore } from '../store/index.js';
import type { FleetStore } from './store.js';

export async function copyToDuckDb(fleet: FleetStore, path: string): Promise<{ trials: number; fingerprints: number }> {
  const envs = await fleet.environments();
  const rows = await fleet.rows();
  const workersOf = new Map<string, Set<string>>();
  for (const r of rows) workersOf.set(r.fingerprint, (workersOf.get(r.fingerprint) ?? new Set()).add(r.worker));
  const store = await ResultStore.open(path);
  try {
    for (const { mode, className, peaks, ...env } of envs) {
      const device = { fleet: mode, [mode === 'split' ? 'class' : 'machine']: className, workers: [...(workersOf.get(env.fingerprint) ?? [])].sort() };
      await store.recordEnvironment({ ...env, device: JSON.stringify(device) });
      if (peaks) await store.recordPeaks(env.fingerprint, peaks);
    }
    // ResultStore.insert takes the trial columns by name; the worker column stays in PostgreSQL.
    for (const row of rows) await store.insert(row);
    for (const { fingerprint, study, measuredAt: _at, ...record } of await fleet.fidelity()) await store.insertFidelity(fingerprint, study, record);
  } finally {
    store.close();
  }
  return { trials: rows.length, fingerprints: envs.length };
}
