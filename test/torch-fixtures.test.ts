import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { analyzeGraph } from '../src/analysis/index.js';
import { readOnnxFile, toOnnxBytes, torchModuleOf } from '../src/onnx/index.js';
import { seededNormal } from '../src/weights/index.js';

/** Fixtures exported by PyTorch with PyTorch's own counts (scripts/torch/make_fixtures.py). */
const DIR = fileURLToPath(new URL('../../fixtures/torch/', import.meta.url));

interface Expected {
  input: number[];
  macs: number;
  params: number;
  fileParams: number;
  bnFolded: boolean;
  layers: { module: string; op: string; macs: number; params: number; outputShape: number[]; foldsBatchNorm?: boolean }[];
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.onnx'));

describe('ONNX files exported by PyTorch agree with PyTorch’s own counts', () => {
  it('has the fixtures', () => assert.ok(files.length >= 6, files.join(', ')));

  for (const file of files) {
    const expected = JSON.parse(readFileSync(`${DIR}${file.replace('.onnx', '.expected.json')}`, 'utf8')) as Expected;
    it(`${file}: MACs, parameters and per-layer costs`, () => {
      const graph = readOnnxFile(`${DIR}${file}`);
      const cost = analyzeGraph(graph, { batch: 1 });
      assert.equal(cost.macs, expected.macs);
      // BN-folded exports hold one bias per folded BN channel in place of BN's scale and shift.
      assert.equal(cost.params, expected.bnFolded ? expected.fileParams : expected.params);
      // Layer by layer, matched through the module scope PyTorch writes into node names.
      const layers = cost.layers.filter((l) => l.op === 'Conv' || l.op === 'Gemm' || l.op === 'MatMul');
      const byModule = new Map(layers.map((l) => [torchModuleOf(l.name), l]));
      assert.deepEqual([...byModule.keys()].sort(), expected.layers.map((l) => l.module).sort());
      for (const want of expected.layers) {
        const got = byModule.get(want.module)!;
        assert.deepEqual([got.op, got.macs, got.outputShape], [want.op, want.macs, want.outputShape], want.module);
        // Folding adds a bias to a bias-free conv: one parameter per output channel more.
        const channels = want.outputShape[1]!;
        assert.equal(got.params, expected.bnFolded && want.foldsBatchNorm ? want.params + channels : want.params, want.module);
      }
      if (graph.inputs[0]!.type.shape[0] === 'N') assert.equal(analyzeGraph(graph, { batch: 8 }).macs, 8 * expected.macs);
    });
  }

  it('re-exported files compute what the PyTorch export computes (onnxruntime, same input)', async () => {
    // (mini_resnet-bn is a training-mode export, whose BatchNorms use batch statistics in onnxruntime;
    // formbench imports it for inference, so its outputs legitimately differ.)
    for (const file of ['mini_resnet-view.onnx', 'mini_mobilenet_v2.onnx', 'mini_inception.onnx', 'mini_resnet-static.onnx']) {
      const original = await ort.InferenceSession.create(`${DIR}${file}`);
      const ours = await ort.InferenceSession.create(toOnnxBytes(readOnnxFile(`${DIR}${file}`)));
      const batch = file.includes('static') ? 1 : 2;
      const input = new ort.Tensor('float32', seededNormal(3, 'input', batch * 3 * 32 * 32, 1), [batch, 3, 32, 32]);
      const a = (await original.run({ input }))['logits']!.data as Float32Array;
      const b = (await ours.run({ input }))['logits']!.data as Float32Array;
      assert.equal(a.length, b.length);
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-5 * (1 + Math.abs(a[i]!)), `${file}[${i}]: ${a[i]} vs ${b[i]}`);
      await original.release();
      await ours.release();
    }
  });
});
