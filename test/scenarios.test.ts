/**
 * The scenarios' rules on deterministic inputs: LoadGen's minimum query counts, refused and
 * supported percentile claims with their order-statistics intervals, the seeded Poisson
 * schedule, a FIFO queue under a simulated service time (the stand-in for real sessions, which a
 * simulated clock cannot make concurrent), the peak-rate search, and the overlap of sessions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { engineChoice } from '../src/engines/index.js';
import { claimPercentile, claimPercentiles, findPeakRate, minProbeRatePerS, minQueriesFor, overlapFraction, poissonArrivalsMs, simulateQueue, spansIntersect, threadSplit } from '../src/measure/scenarios/index.js';
import { medianConfidenceInterval, quantileConfidenceInterval } from '../src/measure/stats.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('percentile claims (MLPerf LoadGen minimum query counts)', () => {
  it('derives 64 queries for p90 and 662 for p99 from "at most one over, 99% confidence"', () => {
    assert.equal(minQueriesFor(0.9), 64);
    assert.equal(minQueriesFor(0.99), 662);
    // The other rule one might guess, 1 − q^n ≥ 0.999 with no query over, is not LoadGen's.
    assert.equal(minQueriesFor(0.9, 0.999, 0), 66);
    assert.equal(minQueriesFor(0.99, 0.999, 0), 688);
  });

  it('refuses a p99 claim below 662 queries with the count it needs, and makes the p90 one', () => {
    const claims = claimPercentiles(range(300));
    const p99 = claims.find((c) => c.q === 0.99)!;
    assert.equal(p99.supported, false);
    assert.equal(!p99.supported && p99.reason, 'p99 needs ≥ 662 queries, got 300');
    const p90 = claims.find((c) => c.q === 0.9)!;
    assert.ok(p90.supported);
    assert.ok(!claimPercentile(range(63), 0.9).supported);
    assert.ok(claimPercentile(range(64), 0.9).supported);
    assert.ok(!claimPercentile(range(661), 0.99).supported);
    assert.ok(claimPercentile(range(662), 0.99).supported);
  });

  it('gives each percentile the order-statistics interval, the median interval of stats.ts at q = 0.5', () => {
    const values = range(1000).map((i) => (i * 7919) % 1000);
    assert.deepEqual(quantileConfidenceInterval(values, 0.5), medianConfidenceInterval(values));
    // Ranks 990 ∓ 1.96·√(1000·0.99·0.01) = 983.8…996.2 → 983 and 997 of 1…1000.
    assert.deepEqual(quantileConfidenceInterval(range(1000), 0.99), [983, 997]);
    const p99 = claimPercentile(range(1000), 0.99);
    assert.ok(p99.supported);
    assert.equal(p99.valueMs, 990.01);
    assert.deepEqual(p99.ciMs, [983, 997]);
  });
});

describe('Poisson arrivals', () => {
  it('are reproducible from the seed and differ between seeds', () => {
    assert.deepEqual(poissonArrivalsMs(50, 2000, 7), poissonArrivalsMs(50, 2000, 7));
    assert.notDeepEqual(poissonArrivalsMs(50, 2000, 7), poissonArrivalsMs(50, 2000, 8));
  });

  it('have exponential gaps of mean 1/rate and stay within the duration', () => {
    const a = poissonArrivalsMs(200, 100_000, 1);
    // 20 000 expected; a Poisson count's σ is √20000 ≈ 141.
    assert.ok(Math.abs(a.length - 20_000) < 600, String(a.length));
    assert.ok(a.every((t, i) => t < 100_000 && (i === 0 || t > a[i - 1]!)));
    const gaps = a.map((t, i) => t - (a[i - 1] ?? 0));
    // Exponential: the fraction of gaps above the mean is e^-1.
    const above = gaps.filter((g) => g > 5).length / gaps.length;
    assert.ok(Math.abs(above - Math.exp(-1)) < 0.02, String(above));
  });

  it('run past the duration to reach a minimum count, and refuse a rate that is not positive', () => {
    assert.equal(poissonArrivalsMs(10, 1000, 1, 662).length, 662);
    assert.throws(() => poissonArrivalsMs(0, 1000, 1));
    assert.throws(() => poissonArrivalsMs(-5, 1000, 1));
  });
});

describe('a FIFO queue on a simulated service time', () => {
  it('counts queueing in the latency and hands each query to the session free first', () => {
    assert.deepEqual(simulateQueue([0, 1, 2], 1, () => 2), [2, 3, 4]);
    assert.deepEqual(simulateQueue([0, 1, 2], 2, () => 2), [2, 2, 2]);
    assert.deepEqual(simulateQueue([0, 0, 0, 0], 2, (i) => i + 1), [1, 2, 4, 6]);
  });

  it('meets a p99 bound at light load and misses it near saturation (10 ms service, 20 ms bound)', () => {
    const p99At = (rate: number) => claimPercentile(simulateQueue(poissonArrivalsMs(rate, 0, 3, 662), 1, () => 10), 0.99);
    const light = p99At(20);
    const heavy = p99At(95);
    assert.ok(light.supported && light.valueMs <= 20, JSON.stringify(light));
    assert.ok(heavy.supported && heavy.valueMs > 20, JSON.stringify(heavy));
  });
});

describe('the peak-rate search', () => {
  it('brackets by doubling, then bisects to within 5%: the exact probes for a bound at 123 q/s', async () => {
    const r = await findPeakRate(async (rate) => rate <= 123, { startRatePerS: 100 });
    assert.deepEqual(
      r.probes.map((p) => p.ratePerS),
      [100, 200, 150, 125, 112.5, 118.75, 121.875],
    );
    assert.equal(r.peakRatePerS, 121.875);
    assert.equal(r.failedRatePerS, 125);
    assert.equal(r.stoppedBy, 'tolerance');
  });

  it('halves from a first guess that fails, stops at its probe limit, and says when nothing met the bound', async () => {
    const down = await findPeakRate(async (rate) => rate <= 30, { startRatePerS: 100 });
    assert.deepEqual(down.probes.slice(0, 3).map((p) => p.ratePerS), [100, 50, 25]);
    assert.ok(down.peakRatePerS! <= 30 && down.peakRatePerS! >= 30 / 1.05);
    const capped = await findPeakRate(async (rate) => rate <= 123, { startRatePerS: 100, maxProbes: 3 });
    assert.equal(capped.probes.length, 3);
    assert.equal(capped.stoppedBy, 'max-probes');
    assert.equal(capped.peakRatePerS, 100);
    const never = await findPeakRate(async () => false, { startRatePerS: 100, minRatePerS: 10 });
    assert.equal(never.peakRatePerS, undefined);
    assert.equal(never.stoppedBy, 'min-rate');
  });

  it('probes no rate whose 662 queries would take over a minute (or the duration) to arrive', () => {
    assert.equal(minProbeRatePerS(10_000), 662 / 60);
    assert.equal(minProbeRatePerS(120_000), 662 / 120);
  });

  it('finds the simulated server peak: the rate where a 10 ms service first breaks p99 ≤ 20 ms', async () => {
    const meets = async (rate: number) => {
      const c = claimPercentile(simulateQueue(poissonArrivalsMs(rate, 0, 11, 2000), 1, () => 10), 0.99);
      return c.supported && c.valueMs <= 20;
    };
    const r = await findPeakRate(meets, { startRatePerS: 50 });
    assert.ok(r.probes.length <= 10);
    assert.ok(await meets(r.peakRatePerS!));
    assert.ok(!(await meets(r.failedRatePerS!)));
    assert.ok((r.failedRatePerS! - r.peakRatePerS!) / r.peakRatePerS! <= 0.05);
    // One session of 10 ms serves at most 100 q/s; a 20 ms p99 (at most one service time of
    // waiting for 99% of queries) keeps it far from saturation: the peak is 14 q/s here.
    assert.ok(r.peakRatePerS! > 5 && r.peakRatePerS! < 50, String(r.peakRatePerS));
  });
});

describe('concurrency of sessions', () => {
  it('measures the overlap as time two sessions ran over time any ran; touching runs do not overlap', () => {
    assert.equal(overlapFraction([[{ startMs: 0, endMs: 10 }], [{ startMs: 5, endMs: 15 }]]), 5 / 15);
    assert.equal(overlapFraction([[{ startMs: 0, endMs: 5 }], [{ startMs: 5, endMs: 10 }]]), 0);
    assert.equal(overlapFraction([[{ startMs: 0, endMs: 5 }]]), undefined);
    assert.equal(spansIntersect([[{ startMs: 0, endMs: 5 }], [{ startMs: 5, endMs: 10 }]]), false);
    assert.equal(spansIntersect([[{ startMs: 0, endMs: 6 }], [{ startMs: 5, endMs: 10 }]]), true);
  });

  it('states the thread split as intra-op threads × sessions against the cores', () => {
    const split = threadSplit(engineChoice('ort', { threads: '2' }), 2, 2);
    assert.equal(split.label, 'ort:threads=2 × 2 sessions = 4 threads on 2 cores');
    assert.equal(split.oversubscribed, true);
    assert.equal(threadSplit(engineChoice('ort', { threads: '1' }), 2, 2).oversubscribed, false);
  });
});
