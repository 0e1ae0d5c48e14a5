/**
 * Slow tier: the largest reference networks built, calibrated and run in onnxruntime with their
 * activations checked (5 to 35 s each on a 2-core machine), moved here from reference.test.ts and
 * nasnet.test.ts with every assertion kept. The smaller networks' checks stay in the fast tier.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activationHealth, calibrateBatchNorm, isHealthy } from '../../src/weights/index.js';
import { NetBuilder } from '../../src/zoo/builder.js';
import { buildZooModel, REFERENCE_NETWORKS } from '../../src/zoo/index.js';
import { NASNET } from '../../src/zoo/reference/nasnet.js';
import { HEAVY_NETWORKS } from '../heavy-networks.js';

describe('reference networks (the largest)', () => {
  for (const net of REFERENCE_NETWORKS.filter((n) => HEAVY_NETWORKS.has(n.name))) {
    it(`${net.name} runs in onnxruntime with healthy activations (reduced resolution, batch 2)`, async () => {
      const spec = `${net.name}/r${net.resolution >= 299 ? 128 : 64}`;
      const model = buildZooModel(spec);
      const h = await activationHealth(await calibrateBatchNorm(model.graph, { gains: model.bnGains }), { batch: 2 });
      assert.ok(isHealthy(h), `${spec}: std ${h.minStd}…${h.maxStd}, subnormal ${h.maxSubnormalFraction}`);
    });
  }

  it('nasnet-a-large runs in onnxruntime with healthy activations (96×96, batch 1)', async () => {
    const net = NASNET[0]!;
    const b = new NetBuilder(net.name, 1, ['N', 3, 96, 96]);
    const graph = b.finish(net.build(b, 'input'));
    const h = await activationHealth(await calibrateBatchNorm(graph, { gains: b.bnGains }), { batch: 1 });
    assert.ok(isHealthy(h), `std ${h.minStd}…${h.maxStd}, subnormal ${h.maxSubnormalFraction}, non-finite ${h.nonFiniteLayers}`);
  });
});
