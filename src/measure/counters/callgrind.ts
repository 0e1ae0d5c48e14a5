/**
 * Counting a simulated cache with valgrind's callgrind, per inference. Callgrind runs the same
 * cache and branch simulator as cachegrind, but can also write its counts out at a chosen
 * function (`--dump-after`). The counter worker touches a marker, getppid(2), right after the
 * warm-up inference and after every counted one, so the dumps cut the run at inference
 * boundaries: the first part is start-up, model load and warm-up, each later part one inference
 * with the engine call's own glue, and the last part (at exit) tear-down. Only the inference
 * parts are kept. The caches stay warm across the cuts: a dump writes counts out, it does not
 * flush the simulated caches.
 *
 * An earlier version differenced two cachegrind runs (N inferences against none); V8's
 * run-to-run variation (about ten thousand LL misses per process) then swamped the growth that
 * a few more blocks add, so misses did not reliably grow with depth.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineByName } from '../../engines/index.js';
import { addTotals, parseCachegrindOut, type CachegrindTotals } from './cachegrind-out.js';
import { failureReason, runCounted, type ChildOutcome } from './child.js';
import { checkLevel, formatGeometry, valgrindCacheArg, type CacheGeometry } from './geometry.js';
import { median } from '../stats.js';
import type { CounterRequest, CounterResult, CountsPerInference } from './result.js';
import { COUNTER_WORKER, INFERENCE_MARKER, workerRequest } from './worker-protocol.js';

/**
 * V8 flags that keep the JavaScript glue of each inference alike: no concurrent compilation or
 * GC threads whose timing would vary, fixed random and hash seeds. Tried and dropped, measured
 * on ort standard/d16/w64/r32 under a 4 MiB cache (2.4k–7.1k misses per inference with V8's
 * defaults): a full collection before each inference (50k: it walks the whole heap and leaves the
 * simulated caches cold) and a 64 MB young generation (10.5k: the glue's allocations then stream
 * through fresh memory).
 */
export const DETERMINISTIC_NODE_FLAGS = ['--predictable', '--random-seed=1', '--hash-seed=1'];

export async function countWithCallgrind(r: CounterRequest, geometry: CacheGeometry): Promise<CounterResult> {
  checkLevel('L1i', geometry.i1);
  checkLevel('L1d', geometry.d1);
  checkLevel('last-level cache', geometry.ll);
  const refused = engineByName(r.engine).notSimulated;
  if (refused) return { status: 'failed', source: 'callgrind', ...refused };
  const started = Date.now();
  const progress = r.onProgress ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'formbench-callgrind-'));
  try {
    const args = [
      '--tool=callgrind',
      '--cache-sim=yes',
      '--branch-sim=yes',
      `--I1=${valgrindCacheArg(geometry.i1)}`,
      `--D1=${valgrindCacheArg(geometry.d1)}`,
      `--LL=${valgrindCacheArg(geometry.ll)}`,
      `--dump-after=${INFERENCE_MARKER}`,
      // Engines that compute in a child process (the torch worker) are counted too; that child
      // touches the same marker after each inference it runs.
      '--trace-children=yes',
      `--callgrind-out-file=${join(dir, 'cg.%p')}`,
      `--log-file=${join(dir, 'log.%p')}`,
      process.execPath,
      ...DETERMINISTIC_NODE_FLAGS,
      COUNTER_WORKER,
      JSON.stringify(workerRequest(r, r.inferences)),
    ];
    progress('starting valgrind (start-up and model loading take tens of seconds under simulation)');
    const outcome = await runCounted('valgrind', args, r.timeoutMs, progress, process.env, r.signal);
    const failure = failureOf(outcome, r.timeoutMs, dir);
    if (failure || outcome.report?.status !== 'ok') return failure ?? { status: 'failed', source: 'callgrind', reason: 'the counter worker reported nothing' };
    const { engineVersion, countedMs } = outcome.report;
    const parts = inferenceParts(dir, r.inferences);
    if (typeof parts === 'string') return { status: 'failed', source: 'callgrind', reason: parts };
    const total = addTotals(parts);
    const n = r.inferences;
    const sum = (t: CachegrindTotals, ...events: (keyof CachegrindTotals)[]): number => events.reduce((s, e) => s + t[e], 0);
    // The median, not the mean: a garbage collection in the JavaScript glue (TF.js) can fall into
    // one inference and double its misses; with three or more parts the median leaves it out.
    const per = (...events: (keyof CachegrindTotals)[]): number => median(parts.map((p) => sum(p, ...events)));
    const llcMisses = parts.map((p) => sum(p, 'ILmr', 'DLmr', 'DLmw'));
    const counts: CountsPerInference = {
      llcMissesPerInference: per('ILmr', 'DLmr', 'DLmw'),
      llcLoadsPerInference: per('I1mr', 'D1mr'),
      llcLoadMissesPerInference: per('ILmr', 'DLmr'),
      cacheReferencesPerInference: per('I1mr', 'D1mr', 'D1mw'),
      cacheMissesPerInference: per('ILmr', 'DLmr', 'DLmw'),
      instructionsPerInference: per('Ir'),
      cyclesPerInference: null,
      branchesPerInference: per('Bc', 'Bi'),
      branchMissesPerInference: per('Bcm', 'Bim'),
    };
    return {
      status: 'ok',
      source: 'callgrind',
      simulated: true,
      method:
        `valgrind's cache simulator (callgrind; I1 ${formatGeometry(geometry.i1)}, D1 ${formatGeometry(geometry.d1)}, LL ${formatGeometry(geometry.ll)}): one run, ` +
        `counts written out after the warm-up inference and after each of the ${n} counted inferences; per inference = median of those ${n} parts (caches warm, start-up and load excluded; the median leaves out one inference that a garbage collection or V8's optimising compiler fell into)`,
      geometry,
      spec: r.spec,
      engine: r.engine,
      options: r.options,
      engineVersion,
      batch: r.batch,
      inferences: n,
      ...counts,
      raw: total,
      llcMissesByInference: llcMisses,
      unsupported: ['cycles'],
      notCounted: [],
      caveats: [
        `simulated, not measured: valgrind's model of the caches (${geometry.origin}), with no hardware prefetcher and no middle cache level; compare networks with each other under one geometry, not with perf's counts`,
        'valgrind 3.19 emulates no AVX-512, so native libraries (onnxruntime, XNNPACK, PyTorch) ran their AVX2 or older code paths, not the AVX-512 ones this machine may use natively',
        "branch mispredictions come from the simulator's simple predictor model, not the CPU's",
      ],
      wallMs: Date.now() - started,
      countedWallMs: countedMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The counted inferences' totals, one per inference, summed over the run's processes. Each
 * process that touched the marker wrote one numbered dump per marker: warm-up first, then one per
 * counted inference; a process that never did (a shell, a helper) holds no inference work.
 */
function inferenceParts(dir: string, inferences: number): CachegrindTotals[] | string {
  const byPid = new Map<string, Map<number, string>>();
  for (const f of readdirSync(dir)) {
    const m = /^cg\.(\d+)\.(\d+)$/.exec(f);
    if (!m) continue;
    if (!byPid.has(m[1]!)) byPid.set(m[1]!, new Map());
    byPid.get(m[1]!)!.set(Number(m[2]), f);
  }
  if (byPid.size === 0) return `callgrind wrote no per-inference counts: the worker never reached the marker (${INFERENCE_MARKER})`;
  const parts: CachegrindTotals[] = [];
  for (let i = 0; i < inferences; i++) {
    // Dump 1 closes the warm-up; dump i + 2 closes counted inference i.
    const files = [...byPid.values()].map((dumps) => dumps.get(i + 2));
    if (files.some((f) => f === undefined)) {
      const counts = [...byPid.entries()].map(([pid, d]) => `${pid}: ${d.size}`).join(', ');
      return `callgrind's per-inference dumps do not line up with ${inferences} inferences after a warm-up (dumps per process: ${counts})`;
    }
    parts.push(addTotals(files.map((f) => parseCachegrindOut(readFileSync(join(dir, f!), 'utf8')))));
  }
  return parts;
}

function failureOf(o: ChildOutcome, timeoutMs: number, dir: string): CounterResult | undefined {
  if (o.spawnError) {
    const missing = o.spawnError.code === 'ENOENT';
    const reason = missing ? 'valgrind is not installed' : `valgrind could not start: ${o.spawnError.message}`;
    return { status: 'failed', source: 'callgrind', reason, ...(missing ? { hint: 'install it (Debian: apt-get install valgrind)' } : {}) };
  }
  if (o.report?.status === 'ok' && o.exitCode === 0) return undefined;
  const hint = o.timedOut ? 'lower the resolution (e.g. /r64 in the spec), count fewer inferences, or raise the time limit' : undefined;
  return { status: 'failed', source: 'callgrind', reason: `${failureReason('valgrind', o, timeoutMs)}${logTail(dir)}`, ...(hint ? { hint } : {}) };
}

/** valgrind's own complaint, when it had one (it logs to a file to keep the worker's stderr clean). */
function logTail(dir: string): string {
  const line = readdirSync(dir)
    .filter((f) => f.startsWith('log.'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .map((l) => l.replace(/^==\d+==\s?/, '').trim())
    .filter((l) => /error|invalid|unhandled|unrecognised|out of memory/i.test(l))
    .at(-1);
  return line ? ` (valgrind: ${line})` : '';
}
