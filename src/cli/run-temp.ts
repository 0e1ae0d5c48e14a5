/**
 * One temporary folder per formbench command, holding every temporary file it and its workers
 * make (prepared models, profiles, onnxruntime's and Python's own): TMPDIR points into it, so a
 * worker killed mid-trial, or a command stopped by Ctrl-C, leaves nothing behind in /tmp. Only a
 * SIGKILL of the command itself leaves its folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Exit status of a command stopped by a signal, as shells report it (128 + its number). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export function useRunTempDir(): void {
  const dir = mkdtempSync(join(tmpdir(), 'formbench-run-'));
  // os.tmpdir() reads TMPDIR on every call, and children inherit it.
  process.env['TMPDIR'] = dir;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // A command with its own handler (a study stops between trials and keeps what it stored)
      // decides for itself; otherwise the signal ends the command as it would have, minus the files.
      if (process.listenerCount(signal) === 1) process.exit(SIGNAL_EXIT[signal]);
    });
  }
}
