/**
 * Every file formbench reads on a user's word — an .onnx model, its external data, a TF.js
 * model.json and its weight shards, a study YAML — comes through here, so that one set of rules
 * holds for all of them: a regular file (a FIFO or a device would block or never end), under a
 * size cap (read into memory whole), and, for a file another file names, inside that file's folder
 * (a model downloaded from anywhere must not make formbench read /etc/passwd as weights).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Model and weight files: 2 GiB − 1 byte. A protobuf message cannot exceed 2 GiB (which is why
 * ONNX keeps larger weights in external files), and Node reads at most that much into one buffer.
 */
export const MAX_MODEL_FILE_BYTES = 2 ** 31 - 1;
/** model.json and study YAML: text a person or a converter writes; nsfwjs's largest is ~200 KiB. */
export const MAX_TEXT_FILE_BYTES = 64 * 2 ** 20;

export interface InputFileKind {
  /** What the file is, for messages: 'ONNX model', 'weight shard', 'study file'. */
  what: string;
  maxBytes: number;
  /** How to fix a missing or unreadable file. */
  hint: string;
}

export const ONNX_FILE: InputFileKind = { what: 'ONNX model', maxBytes: MAX_MODEL_FILE_BYTES, hint: 'give the path of an .onnx file' };

/**
 * Reads a whole regular file. The type is checked on the open descriptor (opened non-blocking, so
 * a FIFO cannot stall the open itself), so a file swapped between check and read is still caught.
 */
export function readInputFile(path: string, kind: InputFileKind): Buffer {
  const first = statOrThrow(path, kind);
  checkStats(path, first, kind);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new UserError(`cannot read ${kind.what} ${path} (${errorCode(e)})`, kind.hint);
  }
  try {
    const st = fstatSync(fd);
    checkStats(path, st, kind);
    const buffer = Buffer.allocUnsafe(st.size);
    let at = 0;
    while (at < st.size) {
      const n = readSync(fd, buffer, at, st.size - at, at);
      if (n === 0) break;
      at += n;
    }
    return at === st.size ? buffer : buffer.subarray(0, at);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read ${kind.what} ${path} (${errorCode(e)})`, kind.hint);
  } finally {
    closeSync(fd);
  }
}

export function readInputText(path: string, kind: InputFileKind): string {
  return readInputFile(path, kind).toString('utf8');
}

/**
 * The path a model file names (a weight shard, an external data file), refused unless it lies
 * inside the model's folder: no absolute path, no '..' out of it.
 */
export function pathInsideFolder(folder: string, location: string, what: string, hint: string): string {
  const path = resolve(folder, location);
  const inside = relative(resolve(folder), path);
  if (location.includes('\0') || isAbsolute(location) || inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    throw new UserError(`${what} '${oneLine(location)}' points outside the model's folder ${folder}`, hint);
  }
  return path;
}

function statOrThrow(path: string, kind: InputFileKind): Stats {
  try {
    return statSync(path);
  } catch (e) {
    const code = errorCode(e);
    if (code === 'ENOENT') throw new UserError(`no such file: ${oneLine(path)} (the ${kind.what})`, kind.hint);
    throw new UserError(`cannot read ${kind.what} ${oneLine(path)} (${code})`, kind.hint);
  }
}

function checkStats(path: string, st: Stats, kind: InputFileKind): void {
  if (!st.isFile()) {
    throw new UserError(`${kind.what} ${oneLine(path)} is ${fileType(st)}, not a regular file`, kind.hint);
  }
  if (st.size > kind.maxBytes) {
    throw new UserError(
      `${kind.what} ${oneLine(path)} is ${st.size} bytes, more than the ${kind.maxBytes}-byte limit`,
      kind.maxBytes === MAX_MODEL_FILE_BYTES ? 'keep weights over 2 GiB in ONNX external data files, each under 2 GiB' : 'give a smaller file',
    );
  }
}

function fileType(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Paths come from files we do not trust; a newline in one must not break the one-line error. */
function oneLine(text: string): string {
  const flat = text.replace(/[\r\n\t\0]/g, ' ');
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
