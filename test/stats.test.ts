import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countOutliers, geometricMean, mad, median, medianConfidenceInterval, medianOf, pearson, quantile, ranks, spearman, speedup, summarize } from '../src/measure/stats.js';

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

  it('forms the same speed-up from stored medians, with an interval only where both ends of both are stored', () => {
    const baseline = { medianMs: 20, ciLowMs: 19, ciHighMs: 22 };
    assert.deepEqual(speedup(medianOf(baseline), medianOf({ medianMs: 10, ciLowMs: 9.5, ciHighMs: 11 })), { ratio: 2, interval: [19 / 11, 22 / 9.5] });
    assert.deepEqual(speedup(medianOf(baseline), medianOf({ medianMs: 10, ciLowMs: 9.5, ciHighMs: null })), { ratio: 2 });
  });
});

describe('correlation', () => {
  it('Pearson is 1 for a line, -1 for a falling line, and matches a hand computation', () => {
    assert.equal(pearson([1, 2, 3, 4], [3, 5, 7, 9]), 1);
    assert.equal(pearson([1, 2, 3, 4], [8, 6, 4, 2]), -1);
    // x = 1..5, y = [2, 4, 5, 4, 5]: sxy = 6, sxx = 10, syy = 6 → r = 6 / √60.
    assert.ok(Math.abs(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])! - 6 / Math.sqrt(60)) < 1e-12);
  });

  it('Pearson is undefined for a constant series or fewer than 3 pairs', () => {
    assert.equal(pearson([1, 2, 3], [5, 5, 5]), undefined);
    assert.equal(pearson([1, 2], [1, 2]), undefined);
  });

  it('ties share their average rank', () => {
    assert.deepEqual(ranks([10, 30, 20, 20]), [1, 4, 2.5, 2.5]);
  });

  it('Spearman scores any monotonic relation 1, where Pearson does not', () => {
    const x = [1, 2, 3, 4, 5, 6];
    const y = x.map((v) => Math.exp(v));
    assert.equal(spearman(x, y), 1);
    assert.ok(pearson(x, y)! < 0.95);
  });

  it('the geometric mean treats 2× and 0.5× symmetrically', () => {
    assert.ok(Math.abs(geometricMean([2, 0.5]) - 1) < 1e-12);
    assert.ok(Math.abs(geometricMean([1, 10, 100]) - 10) < 1e-9);
  });
});
