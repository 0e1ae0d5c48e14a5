import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pairedRatios } from '../src/measure/fidelity.js';
import { impreciseReason } from '../src/measure/bench.js';
import { timedLimitMs, timeInterleaved } from '../src/measure/protocol.js';
import { summarize } from '../src/measure/stats.js';

const budget = { targetCiRelative: 0.02, timedBudgetMs: 60_000, warmupBudgetMs: 0, minRuns: 10, maxRuns: 40 };

describe('interleaved timing (the fidelity check)', () => {
  it('runs the arms in turn, reversing the order every round, with equal counts', async () => {
    const calls: string[] = [];
    const arm = (name: string, ms: number) => async () => {
      calls.push(name);
      return ms;
    };
    const { samplesMs, stoppedBy } = await timeInterleaved([arm('a', 2), arm('b', 1)], budget);
    // One warm-up round, then a, b, b, a, a, b, …; constant times meet any interval target at the 10th round.
    assert.deepEqual(calls.slice(0, 7), ['a', 'b', 'a', 'b', 'b', 'a', 'a']);
    assert.equal(stoppedBy, 'ci-target');
    assert.equal(samplesMs[0]!.length, 10);
    assert.equal(samplesMs[1]!.length, 10);
  });

  it('pairs each round: a machine that switches speed mid-check moves the ratio of medians, not the paired ratio', () => {
    // Seen here (torch, standard/d10/w64, batch 8): the host slowed ~4× from the 5th round on,
    // on both sides at once; with the medians between the two modes their ratio said 0.80.
    const engine = [237, 246, 246, 294, 552, 948, 913, 912, 950, 917];
    const idiomatic = [248, 247, 238, 296, 905, 922, 893, 896, 902, 904];
    const ofMedians = summarize(engine).medianMs / summarize(idiomatic).medianMs;
    const paired = summarize(pairedRatios(engine, idiomatic)).medianMs;
    assert.ok(ofMedians < 0.85, `ratio of medians ${ofMedians}`);
    assert.ok(Math.abs(paired - 1) < 0.03, `paired ${paired}`);
  });

  it('stops when the given precision test passes, or at the run cap', async () => {
    let n = 0;
    const noisy = async () => 1 + (n++ % 7) / 3;
    const capped = await timeInterleaved([noisy, noisy], budget, () => false);
    assert.equal(capped.stoppedBy, 'max-runs');
    assert.equal(capped.samplesMs[0]!.length, budget.maxRuns);
  });
});

describe('a trial that misses its interval target', () => {
  it('is extended to the cap and then says why', () => {
    const capped = { ...budget, targetCiRelative: 0.03, timedBudgetMs: 2000, maxTimedBudgetMs: 8000 };
    assert.equal(timedLimitMs(capped), 8000);
    assert.equal(timedLimitMs({ ...capped, maxTimedBudgetMs: undefined as unknown as number }), 2000);
    const wide = summarize([10, 14, 9, 20, 11, 30, 10, 12, 25, 9]);
    assert.match(impreciseReason(wide, 'budget', capped)!, /^imprecise: 95% interval ±\d+\.\d%, wider than the ±3% target after 8 s of timed runs \(10 runs/);
    assert.equal(impreciseReason(summarize([10, 10, 10, 10, 10, 10, 10, 10]), 'budget', capped), undefined);
    assert.equal(impreciseReason(wide, 'ci-target', capped), undefined);
  });
});
