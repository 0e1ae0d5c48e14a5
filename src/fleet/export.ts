/**
 * The fleet's rows copied into a DuckDB store, so that everything that reads a store (the
 * exporters of `formbench results`, the report) reads a fleet's results unchanged: each unit (a
 * machine class, or one machine) is one fingerprint with its environments row.
 */
import { ResultStore } from '../store/index.js';
import type { FleetStore } from './store.js';

export async function copyToDuckDb(fleet: FleetStore, path: string): Promise<{ trials: number; fingerprints: number }> {
  const envs = await fleet.environments();
  const rows = await fleet.rows();
  const store = await ResultStore.open(path);
  try {
    for (const env of envs) await store.recordEnvironment(env);
    // ResultStore.insert takes the trial columns by name; the worker columns stay in PostgreSQL.
    for (const row of rows) await store.insert(row);
  } finally {
    store.close();
  }
  return { trials: rows.length, fingerprints: envs.length };
}
