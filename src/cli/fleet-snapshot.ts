/** A fleet's store as a results folder for the length of one command: its rows copied into a DuckDB store in the command's temp folder. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyToDuckDb, FleetStore, parseFleetUrl } from '../fleet/index.js';
import { STORE_FILE } from '../store/index.js';

export async function withFleetSnapshot<T>(fleetUrl: string, use: (folder: string) => Promise<T>): Promise<T> {
  const url = parseFleetUrl(fleetUrl);
  const fleet = await FleetStore.open(url);
  // tmpdir() is the command's own folder (run-temp.ts): gone when the command ends.
  const folder = mkdtempSync(join(tmpdir(), 'fleet-'));
  try {
    await copyToDuckDb(fleet, join(folder, STORE_FILE));
  } finally {
    await fleet.close();
  }
  return use(folder);
}
