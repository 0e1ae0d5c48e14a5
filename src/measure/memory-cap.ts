/**
 * How much resident memory one worker (with its children) may hold: the parent kills a worker
 * over it, and refuses before it starts a trial whose estimate is over it.
 *
 * The default is 80% of the machine's memory, not a multiple of the trial's estimate: the cap's
 * job is to keep a runaway engine from taking the machine (and the study) down with it, and an
 * estimate that is off for some engine and model must not kill a measurement the machine could
 * have held. The remaining 20% is for the parent (which holds the prepared model: its weights
 * and ONNX bytes) and the rest of the system.
 */
import os from 'node:os';
import { UserError } from '../errors.js';

/** Lowers (never raises past the machine) the per-worker memory cap, MiB. */
export const WORKER_MEMORY_ENV = 'FORMBENCH_WORKER_MEMORY_MB';

const DEFAULT_SHARE_OF_TOTAL = 0.8;
const MIB = 2 ** 20;

/**
 * The cap, bytes: FORMBENCH_WORKER_MEMORY_MB when set, else 80% of total memory. A value that is
 * not a positive integer, or is above the machine's total memory (a cap the machine cannot hold
 * would silently disable both the refusal and the watchdog), is a user error.
 */
export function workerMemoryCapBytes(totalBytes = os.totalmem()): number {
  const raw = process.env[WORKER_MEMORY_ENV];
  if (raw === undefined || raw.trim() === '') return Math.floor(DEFAULT_SHARE_OF_TOTAL * totalBytes);
  const mib = Number(raw);
  const totalMib = Math.floor(totalBytes / MIB);
  if (!Number.isInteger(mib) || mib < 1) throw new UserError(`${WORKER_MEMORY_ENV} must be a positive whole number of MiB, got '${raw}'`, `e.g. ${WORKER_MEMORY_ENV}=4096, or unset it for 80% of this machine's ${totalMib} MiB`);
  if (mib > totalMib) throw new UserError(`${WORKER_MEMORY_ENV}=${mib} is more than this machine's ${totalMib} MiB of memory`, `give at most ${totalMib}, or unset it for 80% of it`);
  return mib * MIB;
}

/**
 * The cap for a worker started without one given: as workerMemoryCapBytes, but a bad variable,
 * which the commands report before any work, falls back to the default rather than failing a
 * worker that a command without that check started.
 */
export function defaultWorkerMemoryCapBytes(): number {
  try {
    return workerMemoryCapBytes();
  } catch {
    return Math.floor(DEFAULT_SHARE_OF_TOTAL * os.totalmem());
  }
}

/** Where the cap comes from, for messages: '(80% of this machine's 23.4 GiB)' or '(FORMBENCH_WORKER_MEMORY_MB)'. */
export function capOrigin(totalBytes = os.totalmem()): string {
  const raw = process.env[WORKER_MEMORY_ENV];
  return raw === undefined || raw.trim() === '' ? `(80% of this machine's ${formatGib(totalBytes)})` : `(set by ${WORKER_MEMORY_ENV})`;
}

export function formatMib(bytes: number): string {
  return `${Math.round(bytes / MIB)} MiB`;
}

export function formatGib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(bytes < 10 * 2 ** 30 ? 2 : 1)} GiB`;
}
