/**
 * Slow tier: calibrated random weights keep activations healthy at full size (every pattern at
 * depth 50, 224×224, and at width 512), moved here from weights.test.ts with every assertion
 * kept; about 150 s on a 2-core machine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activationHealth, calibrateBatchNorm, isHealthy } from '../../src/weights/index.js';
import { buildZooModel, PATTERNS } from '../../src/zoo/index.js';

async function calibratedHealth(spec: string, batch = 1) {
  const model = buildZooModel(spec);
  const graph = await calibrateBatchNorm(model.graph, { gains: model.bnGains });
  return activationHealth(graph, { batch });
}

describe('calibrated random weights keep activations healthy at full size', () => {
  for (const pattern of PATTERNS) {
    it(`${pattern}: 50 blocks at width 64, 224×224, batch 2`, async () => {
      const h = await calibratedHealth(`${pattern}/d50/w64`, 2);
      assert.ok(isHealthy(h), JSON.stringify({ minStd: h.minStd, maxStd: h.maxStd, sub: h.maxSubnormalFraction, nonFiniteLayers: h.nonFiniteLayers }));
      // Every BatchNorm output in a non-residual position is normalised to unit spread.
      const bn = h.layers.filter((l) => l.op === 'BatchNormalization');
      const spread = bn.map((l) => l.std);
      assert.ok(Math.min(...spread) > 0.1 && Math.max(...spread) < 3, `BN std ${Math.min(...spread)}…${Math.max(...spread)}`);
      // Block outputs stay near unit scale at the end of the stack.
      const last = h.layers.filter((l) => l.name.startsWith('block50.')).at(-1)!;
      assert.ok(last.std > 0.2 && last.std < 5, `block50 output std ${last.std}`);
    });
  }

  for (const pattern of PATTERNS) {
    it(`${pattern}: depth 1 at width 32 and depth 50 at width 512 (32×32)`, async () => {
      for (const spec of [`${pattern}/d1/w32`, `${pattern}/d50/w512/r32`]) {
        const h = await calibratedHealth(spec);
        assert.ok(isHealthy(h), `${spec}: ${JSON.stringify({ minStd: h.minStd, maxStd: h.maxStd, sub: h.maxSubnormalFraction })}`);
      }
    });
  }

});
