import { accessSync, constants, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Refuses an output path that cannot take a file, before any work is done: a missing or
 * unwritable folder, a folder itself, or a special file (a device such as /dev/full, a FIFO, a
 * socket), which the rename in writeAtomically would replace with a regular file.
 */
export function checkOutputPath(path: string): void {
  const target = resolve(path);
  const existing = statOf(target);
  if (existing?.isDirectory()) throw new UserError(`cannot write ${path}: it is a folder`, 'give a file name, e.g. out/model.onnx');
  if (existing && !existing.isFile()) throw new UserError(`cannot write ${path}: it is a special file (a device, FIFO or socket), not a regular file`, 'give the path of a regular file');
  const folder = dirname(target);
  const parent = statOf(folder);
  if (!parent) throw new UserError(`cannot write ${path}: the folder ${folder} does not exist`, 'create it first, or give another path');
  if (!parent.isDirectory()) throw new UserError(`cannot write ${path}: ${folder} is not a folder`, 'give another path');
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new UserError(`cannot write ${path}: the folder ${folder} is not writable`, 'give a path in a folder you can write to');
  }
}

function statOf(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Writes beside the target, then renames: an interrupted command never leaves a half-written file. */
export function writeAtomically(path: string, bytes: Uint8Array | string): void {
  checkOutputPath(path);
  const partial = `${path}.partial-${process.pid}`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
}
