/**
 * The timing protocol, statistics and the bench pipeline on an injected clock: runs "take" the
 * time a script says, so every figure below is exact, not a tolerance around a noisy machine.
 * (The same rules against the real clock, with busy-waits, are in the slow tier.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ENGINE_MODULES_ENV, parseEngineChoice } from '../src/engines/index.js';
import { defaultReference, runBench } from '../src/measure/bench.js';
import { DEFAULT_BUDGET, timeRuns, type TimingBudget } from '../src/measure/protocol.js';
import { summarize } from '../src/measure/stats.js';
import './fixtures/fake-engines.js';

/** A clock that only a run moves: each run advances it by the next scripted duration. */
function scripted(durationMs: (run: number) => number): { run: () => Promise<void>; clock: () => number; runs: () => number } {
  let now = 0;
  let runs = 0;
  return {
    run: async () => {
      now += durationMs(runs++);
    },
    clock: () => now,
    runs: () => runs,
  };
}

const BUDGET: TimingBudget = { ...DEFAULT_BUDGET, timedBudgetMs: 300, warmupBudgetMs: 100, minRuns: 5 };

describe('timing protocol on an injected clock', () => {
  it('warms up until the last 5 runs are within 5% of the 5 before, then stops at the interval target', async () => {
    // A cold start (10 ms, falling) that settles at 1 ms; the timed runs are steady.
    const s = scripted((i) => (i < 4 ? 10 - 2 * i : 1));
    const r = await timeRuns(s.run, BUDGET, undefined, s.clock);
    // Runs 0-3 are cold; at run 11 the last five (7-11, all 1 ms) are within 5% of the five
    // before them (2-6: 6, 4, 1, 1, 1; median 1 ms): 12 warm-up runs.
    assert.equal(r.warmupRuns, 12);
    assert.equal(r.stoppedBy, 'ci-target');
    // The interval is checked every 5th run once the minimum is reached; 5 runs are too few for
    // a 95% interval of the median, so the first check that can pass is at run 10.
    assert.deepEqual(r.samplesMs, Array(10).fill(1));
    assert.equal(r.wallMs, 10 + 8 + 6 + 4 + 8 * 1 + 10 * 1);
  });

  it('stops at the time budget when latency alternates and the target is out of reach', async () => {
    const s = scripted((i) => (i % 2 ? 2 : 0.2));
    const r = await timeRuns(s.run, { ...BUDGET, targetCiRelative: 0.0001, warmupBudgetMs: 0 }, undefined, s.clock);
    assert.equal(r.stoppedBy, 'budget');
    // A warm-up budget of 0 still makes no warm-up run: the clock has not moved.
    assert.equal(r.warmupRuns, 0);
    // 2.2 ms a pair: after 273 runs the clock reads 299.4 ms, after 274 runs 301.4 ms.
    assert.equal(r.samplesMs.length, 274);
    assert.ok(Math.abs(r.wallMs - 301.4) < 1e-9, String(r.wallMs));
  });

  it('stops at the run cap, and counts scripted outliers by the modified Z-score', async () => {
    const base = (i: number): number => 1 + ((i * 7) % 13) * 0.001;
    const s = scripted((i) => (i % 10 === 9 ? 5 : base(i)));
    const r = await timeRuns(s.run, { ...BUDGET, targetCiRelative: 0.0001, timedBudgetMs: 1e9, warmupBudgetMs: 0, maxRuns: 100 }, undefined, s.clock);
    assert.equal(r.stoppedBy, 'max-runs');
    const summary = summarize(r.samplesMs);
    assert.equal(summary.runs, 100);
    assert.equal(summary.outliers, 10);
    const sorted = [...r.samplesMs].sort((a, b) => a - b);
    assert.equal(summary.medianMs, (sorted[49]! + sorted[50]!) / 2);
  });
});

describe('bench on the fake engines (an injected clock in the worker)', () => {
  process.env[ENGINE_MODULES_ENV] = fileURLToPath(new URL('./fixtures/fake-engines.js', import.meta.url));

  it('gives exact speed-ups and intervals: fake-accel:gain=3 is 3× fake-native at every batch', async () => {
    const native = parseEngineChoice('fake-native');
    const accel = parseEngineChoice('fake-accel:gain=3');
    const r = await runBench({ specs: ['standard/d2/w16/r32'], engines: [native, accel], batches: [1, 4], baseline: native, reference: defaultReference(), budget: { ...DEFAULT_BUDGET, timedBudgetMs: 1000, warmupBudgetMs: 100 }, inputSeed: 1 });
    assert.deepEqual(r.trials.map((t) => [t.engine, t.batch, t.status]), [
      ['fake-native', 1, 'ok'],
      ['fake-accel:gain=3', 1, 'ok'],
      ['fake-native', 4, 'ok'],
      ['fake-accel:gain=3', 4, 'ok'],
    ]);
    assert.equal(r.speedups.length, 2);
    for (const s of r.speedups) {
      assert.ok(Math.abs(s.ratio - 3) < 1e-9, String(s.ratio));
      assert.ok(s.interval && s.interval[0] < 3 && s.interval[1] > 3);
    }
    // Batch 4 costs 4× the MACs: per-image time is flat on a simulated clock.
    const n1 = r.trials[0]!.summary!.medianMs;
    const n4 = r.trials[2]!.summary!.medianMs;
    assert.ok(Math.abs(n4 / n1 - 4) < 1e-9);
    assert.ok(r.trials.every((t) => t.outputs?.matches && t.stoppedBy === 'ci-target'));
  });
});
