import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { analyzeGraph } from '../src/analysis/index.js';
import { fromOnnxBytes, toOnnxBytes } from '../src/onnx/index.js';
import { calibrateBatchNorm, seededNormal } from '../src/weights/index.js';
import { buildZooModel, PATTERNS } from '../src/zoo/index.js';

function costKey(graph: Parameters<typeof analyzeGraph>[0], batch: number) {
  const c = analyzeGraph(graph, { batch });
  return {
    macs: c.macs,
    params: c.params,
    elementwiseOps: c.elementwiseOps,
    activationBytes: c.activationBytes,
    layers: c.layers.map((l) => [l.name, l.op, l.macs, l.params, l.outputShape.join('x')].join(' ')),
  };
}

describe('zoo models through ONNX', () => {
  for (const pattern of PATTERNS) {
    it(`${pattern}: import → export → import keeps MACs, parameters and layers; onnxruntime runs it`, async () => {
      const zoo = buildZooModel(`${pattern}/d4/w32/r64`);
      const graph = await calibrateBatchNorm(zoo.graph, { gains: zoo.bnGains });
      const first = fromOnnxBytes(toOnnxBytes(graph));
      const second = fromOnnxBytes(toOnnxBytes(first));
      for (const batch of [1, 3]) {
        assert.deepEqual(costKey(first, batch), costKey(graph, batch));
        assert.deepEqual(costKey(second, batch), costKey(graph, batch));
      }
      // Weights survive byte for byte.
      for (const [name, t] of graph.initializers) assert.equal(Buffer.compare(second.initializers.get(name)!.bytes(), t.bytes()), 0, name);

      const session = await ort.InferenceSession.create(toOnnxBytes(second));
      try {
        const input = seededNormal(1, 'input', 3 * 3 * 64 * 64, 1);
        const out = await session.run({ input: new ort.Tensor('float32', input, [3, 3, 64, 64]) });
        const logits = out[session.outputNames[0]!]!;
        assert.deepEqual(logits.dims, [3, 1000]);
        const values = logits.data as Float32Array;
        assert.ok(values.every(Number.isFinite));
        const std = Math.sqrt(values.reduce((s, x) => s + x * x, 0) / values.length);
        assert.ok(std > 0.05 && std < 20, `logit std ${std}`);
      } finally {
        await session.release();
      }
    });
  }

  it('a fixed batch exports as a static input dimension', () => {
    const graph = buildZooModel('standard/d1/w32/r32').graph;
    const imported = fromOnnxBytes(toOnnxBytes(graph, { batch: 4 }));
    assert.deepEqual(imported.inputs[0]!.type.shape, [4, 3, 32, 32]);
    assert.deepEqual(fromOnnxBytes(toOnnxBytes(graph)).inputs[0]!.type.shape, ['N', 3, 32, 32]);
  });
});
