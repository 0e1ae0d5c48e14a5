import { renameSync, rmSync, writeFileSync } from 'node:fs';

/** Writes beside the target, then renames: an interrupted command never leaves a half-written file. */
export function writeAtomically(path: string, bytes: Uint8Array): void {
  const partial = `${path}.partial-${process.pid}`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
}
