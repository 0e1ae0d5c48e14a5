/**
 * Slow tier: the timing protocol against the real clock (busy-waits of known length), moved here
 * from measure.test.ts with every assertion kept. protocol-clock.test.ts checks the same rules
 * exactly on an injected clock in the fast tier.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BUDGET, timeRuns } from '../../src/measure/protocol.js';

const QUICK = { ...DEFAULT_BUDGET, timedBudgetMs: 300, warmupBudgetMs: 100, minRuns: 5 };

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('timing protocol', () => {
  it('stops once the median interval is tight, keeping every sample', async () => {
    const r = await timeRuns(async () => busyWait(0.5), { ...QUICK, timedBudgetMs: 5000 });
    assert.equal(r.stoppedBy, 'ci-target');
    assert.ok(r.samplesMs.length >= QUICK.minRuns);
    assert.ok(r.samplesMs.every((s) => s >= 0.5 && s < 50), r.samplesMs.join(','));
  });

  it('stops at the time budget when the latency never settles', async () => {
    let i = 0;
    const r = await timeRuns(async () => busyWait(++i % 2 ? 0.2 : 2), { ...QUICK, targetCiRelative: 0.0001, timedBudgetMs: 200 });
    assert.equal(r.stoppedBy, 'budget');
    assert.ok(r.wallMs < 1000);
  });
});

