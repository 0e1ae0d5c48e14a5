import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activationHealth, calibrateBatchNorm, isHealthy, Rng } from '../src/weights/index.js';
import { buildZooModel, PATTERNS } from '../src/zoo/index.js';

async function calibratedHealth(spec: string, batch = 1) {
  const model = buildZooModel(spec);
  const graph = await calibrateBatchNorm(model.graph, { gains: model.bnGains });
  return activationHealth(graph, { batch });
}

describe('seeded random numbers', () => {
  it('repeat for the same seed and stream, and are standard normal', () => {
    const a = new Rng(3, 'w').fillNormal(new Float32Array(100_001), 1);
    const b = new Rng(3, 'w').fillNormal(new Float32Array(100_001), 1);
    const c = new Rng(3, 'v').fillNormal(new Float32Array(100_001), 1);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const variance = a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length;
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
  });
});

describe('calibrated random weights keep activations healthy', () => {
  // The full-size checks (depth 50 at 224×224, and at width 512) are in slow/weights-health.test.ts.
  for (const pattern of PATTERNS) {
    it(`${pattern}: depth 10 at width 32 (32×32), batch 2`, async () => {
      const h = await calibratedHealth(`${pattern}/d10/w32/r32`, 2);
      assert.ok(isHealthy(h), JSON.stringify({ minStd: h.minStd, maxStd: h.maxStd, sub: h.maxSubnormalFraction, nonFiniteLayers: h.nonFiniteLayers }));
    });
  }

  it('an uncalibrated residual stack is flagged as unhealthy', async () => {
    const h = await activationHealth(buildZooModel('bottleneck/d50/w64/r64').graph);
    assert.equal(isHealthy(h), false);
    assert.ok(h.maxStd > 1e3, `max std ${h.maxStd}`);
  });
});
