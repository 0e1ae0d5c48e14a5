import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../src/analysis/index.js';
import { UserError } from '../src/errors.js';
import { validateGraph } from '../src/ir/index.js';
import { activationHealth, calibrateBatchNorm, isHealthy } from '../src/weights/index.js';
import { buildZooModel, REFERENCE_NETWORKS } from '../src/zoo/index.js';
import { HEAVY_NETWORKS } from './heavy-networks.js';

/** torchvision's own parameter counts (sum of p.numel(), BN weight and bias, no running statistics). */
const TORCHVISION_PARAMS: Record<string, number> = {
  resnet18: 11_689_512,
  resnet34: 21_797_672,
  resnet50: 25_557_032,
  resnet101: 44_549_160,
  resnet152: 60_192_808,
  resnext50_32x4d: 25_028_904,
  resnext101_32x8d: 88_791_336,
  mobilenet_v2: 3_504_872,
  inception_v3: 23_834_568,
};

describe('reference networks', () => {
  for (const [name, params] of Object.entries(TORCHVISION_PARAMS)) {
    it(`${name} has torchvision's exact parameter count and MACs within 2% of the published figure`, () => {
      const net = REFERENCE_NETWORKS.find((n) => n.name === name)!;
      const { graph } = buildZooModel(name);
      validateGraph(graph, { N: 1 });
      const cost = analyzeGraph(graph, { batch: 1 });
      assert.equal(cost.params, params);
      assert.ok(Math.abs(cost.macs / net.reference.macs - 1) < 0.02, `${cost.macs} vs ${net.reference.macs}`);
      assert.deepEqual(cost.layers.at(-1)!.outputShape, [1, 1000]);
    });
  }

  it('take a resolution override and keep their parameters', () => {
    const full = analyzeGraph(buildZooModel('resnet50').graph);
    const small = analyzeGraph(buildZooModel('resnet50/r160').graph);
    assert.equal(small.params, full.params);
    assert.ok(small.macs < full.macs * 0.55 && small.macs > full.macs * 0.45, `${small.macs}`);
    assert.equal(buildZooModel('resnet50/r160').spec, 'resnet50/r160');
    assert.equal(buildZooModel('inception_v3/r299').spec, 'inception_v3');
  });

  it('reject a malformed spec with a user error', () => {
    assert.throws(() => buildZooModel('resnet50/w64'), (e: unknown) => e instanceof UserError && /cannot read 'w64'/.test(e.message));
    assert.throws(() => buildZooModel('resnet50/r16'), (e: unknown) => e instanceof UserError && /at least 32/.test(e.message));
  });

  // The largest networks' health checks (5 to 35 s each here) are in slow/reference-health.test.ts.
  for (const net of REFERENCE_NETWORKS.filter((n) => !HEAVY_NETWORKS.has(n.name))) {
    it(`${net.name} runs in onnxruntime with healthy activations (reduced resolution, batch 2)`, async () => {
      const spec = `${net.name}/r${net.resolution >= 299 ? 128 : 64}`;
      const model = buildZooModel(spec);
      const h = await activationHealth(await calibrateBatchNorm(model.graph, { gains: model.bnGains }), { batch: 2 });
      assert.ok(isHealthy(h), `${spec}: std ${h.minStd}…${h.maxStd}, subnormal ${h.maxSubnormalFraction}`);
    });
  }
});
