/**
 * Counting with the CPU's performance counters through `perf stat`, around the counted
 * inferences only: perf starts with its counters disabled (--delay=-1) and the worker enables
 * and disables them through perf's control fifos, so start-up, model loading and the warm-up
 * inference are never counted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureReason, runCounted } from './child.js';
import { parsePerfCsv } from './perf-csv.js';
import type { CounterRequest, CounterResult, CountsPerInference } from './result.js';
import { COUNTER_WORKER, workerRequest } from './worker-protocol.js';

/** perf's generic hardware events, in the order they are reported. */
export const PERF_EVENTS = ['LLC-loads', 'LLC-load-misses', 'cache-references', 'cache-misses', 'instructions', 'cycles', 'branches', 'branch-misses'] as const;

/** The perf event behind each figure (see CountsPerInference for the definitions). */
export const PERF_EVENT_OF: Record<keyof CountsPerInference, (typeof PERF_EVENTS)[number]> = {
  llcMissesPerInference: 'cache-misses',
  llcLoadsPerInference: 'LLC-loads',
  llcLoadMissesPerInference: 'LLC-load-misses',
  cacheReferencesPerInference: 'cache-references',
  cacheMissesPerInference: 'cache-misses',
  instructionsPerInference: 'instructions',
  cyclesPerInference: 'cycles',
  branchesPerInference: 'branches',
  branchMissesPerInference: 'branch-misses',
};

const SIMULATE_HINT = "use --simulate to count a simulated cache with valgrind (e.g. 'formbench counters <spec> --simulate')";

export async function countWithPerf(r: CounterRequest): Promise<CounterResult> {
  const started = Date.now();
  const progress = r.onProgress ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'formbench-perf-'));
  try {
    const ctlFifo = join(dir, 'ctl.fifo');
    const ackFifo = join(dir, 'ack.fifo');
    const csvPath = join(dir, 'perf.csv');
    execFileSync('mkfifo', ['-m', '600', ctlFifo, ackFifo]);
    const args = [
      'stat',
      '--control', `fifo:${ctlFifo},${ackFifo}`,
      '--delay=-1',
      '-x,',
      '-o', csvPath,
      '-e', PERF_EVENTS.join(','),
      '--',
      process.execPath, COUNTER_WORKER, JSON.stringify(workerRequest(r, r.inferences, { ctlFifo, ackFifo })),
    ];
    progress(`perf stat: ${r.spec} on ${r.engine}, ${r.inferences} counted inferences`);
    const o = await runCounted('perf', args, r.timeoutMs, progress, process.env, r.signal);
    if (o.spawnError) {
      const missing = o.spawnError.code === 'ENOENT';
      return {
        status: 'failed',
        source: 'perf',
        reason: missing ? 'perf is not installed' : `perf could not start: ${o.spawnError.message}`,
        hint: missing ? `install it (Debian: apt-get install linux-perf), or ${SIMULATE_HINT}` : SIMULATE_HINT,
      };
    }
    if (o.report?.status !== 'ok' || o.exitCode !== 0) {
      const reason = failureReason('perf stat', o, r.timeoutMs);
      const permission = /paranoid|permission|not permitted/i.test(o.stderrTail);
      return {
        status: 'failed',
        source: 'perf',
        reason,
        ...(permission ? { hint: `allow counting (sysctl kernel.perf_event_paranoid=2 or lower), or ${SIMULATE_HINT}` } : o.timedOut ? { hint: 'count fewer inferences or raise the time limit' } : {}),
      };
    }
    if (!existsSync(csvPath)) return { status: 'failed', source: 'perf', reason: 'perf stat wrote no output' };
    const parsed = parsePerfCsv(readFileSync(csvPath, 'utf8'), PERF_EVENTS);
    const n = r.inferences;
    const counts = Object.fromEntries(
      Object.entries(PERF_EVENT_OF).map(([field, event]) => {
        const c = parsed.counts[event];
        return [field, c === null || c === undefined ? null : c / n];
      }),
    ) as unknown as CountsPerInference;
    const caveats: string[] = [];
    if (parsed.unsupported.length === PERF_EVENTS.length) {
      caveats.push(`this machine's PMU is not visible to perf (every event <not supported>; a VM without a virtual PMU?): nothing was counted; ${SIMULATE_HINT}`);
    } else if (parsed.unsupported.length > 0) {
      caveats.push(`perf answered <not supported> for ${parsed.unsupported.join(', ')}: reported as null, not zero`);
    }
    if (parsed.notCounted.length > 0) caveats.push(`perf answered <not counted> for ${parsed.notCounted.join(', ')}: reported as null, not zero`);
    for (const m of parsed.multiplexed) caveats.push(`${m.event} shared the PMU with other events: counted ${m.runningPercent}% of the time, scaled by perf`);
    caveats.push('counts are the whole process (all its threads, user and kernel as perf_event_paranoid allows) while the counters were enabled');
    return {
      status: 'ok',
      source: 'perf',
      simulated: false,
      method: `perf stat with counters disabled at start (--delay=-1); the worker loads the model, runs 1 warm-up inference, then enables the counters through perf's control fifo, runs ${n} inferences and disables them: per inference = count / ${n}`,
      spec: r.spec,
      engine: r.engine,
      options: r.options,
      engineVersion: o.report.engineVersion,
      batch: r.batch,
      inferences: n,
      ...counts,
      raw: parsed.counts,
      unsupported: parsed.unsupported,
      notCounted: parsed.notCounted,
      caveats,
      wallMs: Date.now() - started,
      countedWallMs: o.report.countedMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
