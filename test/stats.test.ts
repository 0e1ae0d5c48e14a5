import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countOutliers, mad, median, medianConfidenceInterval, quantile, speedup, summarize } from '../src/measure/stats.js';

describe('latency statistics', () => {
  it('quantiles interpolate between order statistics like numpy', () => {
    const v = [4, 1, 3, 2, 5];
    assert.equal(median(v), 3);
    assert.equal(median([1, 2, 3, 4]), 2.5);
    assert.equal(quantile(v, 0.9), 4.6);
    assert.equal(quantile(v, 0), 1);
    assert.equal(quantile(v, 1), 5);
  });

  it('MAD ignores a wild sample', () => {
    assert.equal(mad([10, 11, 12, 13, 1000]), 1);
  });

  it('the median interval uses the binomial ranks and needs 6 samples', () => {
    assert.equal(medianConfidenceInterval([1, 2, 3, 4, 5]), undefined);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    // n = 100: ranks 50 ∓ 9.8 → 40 and 60.
    assert.deepEqual(medianConfidenceInterval(hundred), [40, 60]);
  });

  it('covers the true median about 95% of the time (simulation)', () => {
    let state = 7;
    const uniform = () => ((state = (state * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
    let covered = 0;
    const trials = 2000;
    for (let t = 0; t < trials; t++) {
      // Exponential latencies, true median ln 2.
      const sample = Array.from({ length: 30 }, () => -Math.log(uniform()));
      const [lo, hi] = medianConfidenceInterval(sample)!;
      if (lo <= Math.LN2 && Math.LN2 <= hi) covered++;
    }
    assert.ok(covered / trials > 0.93 && covered / trials < 0.99, `coverage ${covered / trials}`);
  });

  it('flags outliers by the modified Z-score', () => {
    assert.equal(countOutliers([10, 10.1, 9.9, 10.2, 9.8, 10, 25]), 1);
    assert.equal(countOutliers([10, 10.1, 9.9, 10.2, 9.8, 10]), 0);
  });

  it('summarises samples and forms speed-ups as ratios of medians', () => {
    const slow = summarize(Array.from({ length: 20 }, (_, i) => 20 + (i % 5) * 0.1));
    const fast = summarize(Array.from({ length: 20 }, (_, i) => 10 + (i % 5) * 0.05));
    assert.equal(slow.runs, 20);
    assert.equal(slow.medianMs, 20.2);
    assert.ok(slow.ciRelative! < 0.01);
    const s = speedup(slow, fast);
    assert.ok(Math.abs(s.ratio - 2) < 0.01);
    assert.ok(s.interval![0] <= s.ratio && s.ratio <= s.interval![1]);
  });
});
