/**
 * Counting a simulated cache with cachegrind. Its counters cannot be switched on and off around
 * part of a run (valgrind 3.19 has no client request for it), so the per-inference figures come
 * from differencing: the same worker runs twice under the same simulation — same Node flags, same
 * model load, same single warm-up inference — once with N counted inferences and once with none;
 * (totals with N − totals without) / N is what one inference costs.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { addTotals, CACHEGRIND_EVENTS, parseCachegrindOut, type CachegrindTotals } from './cachegrind-out.js';
import { failureReason, runCounted, type ChildOutcome } from './child.js';
import { checkLevel, formatGeometry, valgrindCacheArg, type CacheGeometry } from './geometry.js';
import type { CounterRequest, CounterResult, CountsPerInference } from './result.js';
import { COUNTER_WORKER, workerRequest } from './worker-protocol.js';

/**
 * V8 flags that make two runs of the same script execute the same JavaScript work: no
 * concurrent compilation or GC threads whose timing would vary, fixed random and hash seeds.
 * Without them two identical runs differ by millions of instructions, more than a small
 * network's inference.
 */
export const DETERMINISTIC_NODE_FLAGS = ['--predictable', '--random-seed=1', '--hash-seed=1'];

export async function countWithCachegrind(r: CounterRequest, geometry: CacheGeometry): Promise<CounterResult> {
  checkLevel('L1i', geometry.i1);
  checkLevel('L1d', geometry.d1);
  checkLevel('last-level cache', geometry.ll);
  const started = Date.now();
  const progress = r.onProgress ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'formbench-cachegrind-'));
  const deadline = started + r.timeoutMs;
  try {
    const run = (label: string, inferences: number): Promise<ChildOutcome> => {
      const args = [
        '--tool=cachegrind',
        '--cache-sim=yes',
        '--branch-sim=yes',
        `--I1=${valgrindCacheArg(geometry.i1)}`,
        `--D1=${valgrindCacheArg(geometry.d1)}`,
        `--LL=${valgrindCacheArg(geometry.ll)}`,
        // Engines that compute in a child process (the torch worker) are counted too.
        '--trace-children=yes',
        `--cachegrind-out-file=${join(dir, `${label}.%p.cg`)}`,
        `--log-file=${join(dir, `${label}.%p.log`)}`,
        process.execPath,
        ...DETERMINISTIC_NODE_FLAGS,
        COUNTER_WORKER,
        JSON.stringify(workerRequest(r, inferences)),
      ];
      progress(`[${label}] starting valgrind (start-up and model loading take tens of seconds under simulation)`);
      return runCounted('valgrind', args, Math.max(1, deadline - Date.now()), (line) => progress(`[${label}] ${line}`));
    };
    // Two cores run the two runs side by side; one core runs them one after the other.
    const [countedOutcome, baselineOutcome] =
      availableParallelism() >= 2 ? await Promise.all([run('counted', r.inferences), run('baseline', 0)]) : [await run('counted', r.inferences), await run('baseline', 0)];
    const failure = failureOf('counted run', countedOutcome, r.timeoutMs, dir) ?? failureOf('baseline run', baselineOutcome, r.timeoutMs, dir);
    if (failure || countedOutcome.report?.status !== 'ok') return failure ?? { status: 'failed', source: 'cachegrind', reason: 'the counted run reported nothing' };
    const { engineVersion, countedMs } = countedOutcome.report;
    const withN = totalsOf(dir, 'counted');
    const without = totalsOf(dir, 'baseline');
    const diff = Object.fromEntries(CACHEGRIND_EVENTS.map((e) => [e, withN[e] - without[e]])) as CachegrindTotals;
    const n = r.inferences;
    const per = (...events: (keyof CachegrindTotals)[]): number => events.reduce((s, e) => s + diff[e], 0) / n;
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
    const caveats = [
      `simulated, not measured: cachegrind's model of the caches (${geometry.origin}), with no hardware prefetcher and no middle cache level; compare networks with each other under one geometry, not with perf's counts`,
      'valgrind 3.19 emulates no AVX-512, so native libraries (onnxruntime, XNNPACK) ran their AVX2 or older code paths, not the AVX-512 ones this machine may use natively',
      'branch mispredictions come from cachegrind\'s simple predictor model, not the CPU\'s',
      `node ran with ${DETERMINISTIC_NODE_FLAGS.join(' ')} in both runs so that they differ only by the counted inferences`,
    ];
    const negative = CACHEGRIND_EVENTS.filter((e) => diff[e] < 0);
    if (negative.length > 0) caveats.push(`${negative.join(', ')} came out lower with the inferences than without: run-to-run noise exceeds what ${n} inference(s) add; count more inferences`);
    return {
      status: 'ok',
      source: 'cachegrind',
      simulated: true,
      method:
        `cachegrind (I1 ${formatGeometry(geometry.i1)}, D1 ${formatGeometry(geometry.d1)}, LL ${formatGeometry(geometry.ll)}): two runs of the counter worker, identical up to the counted inferences ` +
        `(same process set-up, same model load, same 1 warm-up inference), one with ${n} inferences and one with none; per inference = (with − without) / ${n}`,
      geometry,
      spec: r.spec,
      engine: r.engine,
      options: r.options,
      engineVersion,
      batch: r.batch,
      inferences: n,
      ...counts,
      raw: diff,
      runs: { withInferences: withN, withoutInferences: without },
      unsupported: ['cycles'],
      notCounted: [],
      caveats,
      wallMs: Date.now() - started,
      countedWallMs: countedMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function failureOf(what: string, o: ChildOutcome, timeoutMs: number, dir: string): CounterResult | undefined {
  if (o.spawnError) {
    const missing = o.spawnError.code === 'ENOENT';
    const reason = missing ? 'valgrind is not installed' : `valgrind could not start: ${o.spawnError.message}`;
    return { status: 'failed', source: 'cachegrind', reason, ...(missing ? { hint: 'install it (Debian: apt-get install valgrind)' } : {}) };
  }
  if (o.report?.status === 'ok' && o.exitCode === 0) return undefined;
  const hint = o.timedOut ? 'lower the resolution (e.g. /r64 in the spec), count fewer inferences, or raise the time limit' : undefined;
  return { status: 'failed', source: 'cachegrind', reason: `${what}: ${failureReason('valgrind', o, timeoutMs)}${logTail(dir, what)}`, ...(hint ? { hint } : {}) };
}

/** One run may be several processes (--trace-children): their totals add up. */
function totalsOf(dir: string, label: string): CachegrindTotals {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${label}.`) && f.endsWith('.cg'));
  if (files.length === 0) throw new Error(`cachegrind wrote no output for the ${label} run`);
  return addTotals(files.map((f) => parseCachegrindOut(readFileSync(join(dir, f), 'utf8'))));
}

/** valgrind's own complaint, when it had one (it logs to a file to keep the worker's stderr clean). */
function logTail(dir: string, what: string): string {
  const label = what.startsWith('counted') ? 'counted' : 'baseline';
  const logs = readdirSync(dir).filter((f) => f.startsWith(`${label}.`) && f.endsWith('.log'));
  const line = logs
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .map((l) => l.replace(/^==\d+==\s?/, '').trim())
    .filter((l) => /error|invalid|unhandled|unrecognised|out of memory/i.test(l))
    .at(-1);
  return line ? ` (valgrind: ${line})` : '';
}
