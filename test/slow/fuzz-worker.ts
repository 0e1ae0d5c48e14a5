/**
 * One fuzzing worker thread: for each (kind, seed) it writes the input into its own folder, calls
 * what the CLI calls (readOnnxFile / readTfjsModel / readStudyFile, then analyzeGraph or
 * planStudy), and reports the outcome. A worker thread, so that the parent can terminate one
 * that hangs in synchronous code and name the input.
 *
 * Every file the code under test opens is recorded through node:fs: a read outside the fuzz
 * folder (/etc/passwd named by a manifest) or a write anywhere outside it is a failure.
 */
import fs, { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { syncBuiltinESMExports } from 'node:module';
import { join, resolve, sep } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { Corpus, Kind } from './fuzz-cases.js';

export interface WorkerData {
  root: string;
  folder: string;
  cases: [Kind, number][];
  layersModel: { json: unknown; shard: Uint8Array };
}

export type WorkerMessage =
  | { type: 'guard'; works: boolean }
  | { type: 'start'; index: number }
  | { type: 'done'; index: number; outcome: 'ok' | 'refused' | 'fail'; detail: string; ms: number; copy?: string };

const data = workerData as WorkerData;
const root = resolve(data.root) + sep;
const touched: string[] = [];

function guard(name: 'openSync' | 'readFileSync' | 'writeFileSync' | 'appendFileSync' | 'mkdirSync' | 'rmSync' | 'renameSync' | 'copyFileSync', writes: boolean): void {
  const original = fs[name] as (...args: unknown[]) => unknown;
  (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
    const target = args[0];
    if (typeof target === 'string' || target instanceof URL || Buffer.isBuffer(target)) {
      const path = resolve(String(target));
      const flags = name === 'openSync' ? args[1] : undefined;
      const writing = writes || (typeof flags === 'string' && /[wa+]/.test(flags)) || (typeof flags === 'number' && (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR | fs.constants.O_CREAT)) !== 0);
      if (!(path + sep).startsWith(root)) touched.push(`${writing ? 'wrote' : 'read'} ${path}`);
    }
    return original(...args);
  };
}
guard('openSync', false);
guard('readFileSync', false);
guard('writeFileSync', true);
guard('appendFileSync', true);
guard('mkdirSync', true);
guard('rmSync', true);
guard('renameSync', true);
guard('copyFileSync', true);
syncBuiltinESMExports();

const { analyzeGraph } = await import('../../src/analysis/index.js');
const { readOnnxFile } = await import('../../src/onnx/index.js');
const { readTfjsModel } = await import('../../src/tfjs-graph/index.js');
const { planStudy, readStudyFile } = await import('../../src/study/index.js');
const { isOneLineUserError } = await import('../hostile-helpers.js');
const { buildCorpus, makeInput, writeInput } = await import('./fuzz-cases.js');

const corpus: Corpus = buildCorpus(data.layersModel);

// The guard must see what src/ sees (named imports from node:fs): one read outside, through it.
const { readInputFile } = await import('../../src/input/files.js');
readInputFile('/etc/hostname', { what: 'canary', maxBytes: 2 ** 20, hint: '' });
parentPort!.postMessage({ type: 'guard', works: touched.some((t) => t.endsWith('/etc/hostname')) } satisfies WorkerMessage);
touched.length = 0;

function target(kind: Kind, path: string): void {
  if (kind.startsWith('onnx')) analyzeGraph(readOnnxFile(path), {});
  else if (kind.startsWith('tfjs')) analyzeGraph(readTfjsModel(path), {});
  else planStudy(readStudyFile(path));
}

for (let index = 0; index < data.cases.length; index++) {
  const [kind, seed] = data.cases[index]!;
  let input: ReturnType<typeof makeInput>;
  try {
    input = makeInput(corpus, kind, seed);
  } catch (e) {
    parentPort!.postMessage({ type: 'done', index, outcome: 'fail', detail: `the generator failed: ${(e as Error).stack}`, ms: 0 } satisfies WorkerMessage);
    continue;
  }
  rmSync(data.folder, { recursive: true, force: true });
  const path = writeInput(data.folder, input);
  parentPort!.postMessage({ type: 'start', index } satisfies WorkerMessage);
  touched.length = 0;
  const t0 = performance.now();
  let outcome: 'ok' | 'refused' | 'fail' = 'ok';
  let detail = '';
  try {
    target(kind, path);
  } catch (e) {
    if (isOneLineUserError(e)) {
      outcome = 'refused';
      detail = (e as Error).message;
    } else {
      outcome = 'fail';
      detail = e instanceof Error ? `${e.name}: ${e.stack ?? e.message}` : String(e);
    }
  }
  if (touched.length) {
    outcome = 'fail';
    detail = `touched files outside the fuzz folder: ${touched.slice(0, 5).join(', ')}${detail ? `; then: ${detail.split('\n')[0]}` : ''}`;
  }
  const ms = performance.now() - t0;
  // Kept outside the fuzz folder (which the test removes), so the input outlives the run.
  const copy = outcome === 'fail' ? keepCopy(kind, seed) : undefined;
  parentPort!.postMessage({ type: 'done', index, outcome, detail, ms, ...(copy ? { copy } : {}) } satisfies WorkerMessage);
}

function keepCopy(kind: Kind, seed: number): string {
  const copy = mkdtempSync(join(tmpdir(), `formbench-fuzz-failure-${kind}-${seed}-`));
  cpSync(data.folder, copy, { recursive: true });
  return copy;
}
