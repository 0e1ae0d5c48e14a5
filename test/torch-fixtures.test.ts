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
  fileDistinctParams: number;
  bnFolded: boolean;
  layers: { module: string; op: string; macs: number; params: number; outputShape: number[]; foldsBatchNorm?: boolean }[];
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.onnx'));

describe('ONNX files exported by PyTorch agree with PyTorch’s own counts', () => {
  it('has the fixtures', () => assert.ok(files.length >= 7, files.join(', ')));

  for (const file of files) {
    const expected = JSON.parse(readFileSync(`${DIR}${file.replace('.onnx', '.expected.json')}`, 'utf8')) as Expected;
    it(`${file}: MACs, parameters and per-layer costs`, () => {
      const graph = readOnnxFile(`${DIR}${file}`);
      const cost = analyzeGraph(graph, { batch: 1 });
      assert.equal(cost.macs, expected.macs);
      // BN-folded exports hold one bias per folded BN channel in place of BN's scale and shift;
      // -bn keeps BN (weight and bias count, running statistics do not). Distinct tensors differ
      // only in -init, whose zero folded biases torch stores once behind Identity nodes.
      assert.equal(cost.params, expected.bnFolded ? expected.fileParams : expected.params, 'params');
      // Layer by layer, matched through the module scope PyTorch writes into node names.
      const layers = cost.layers.filter((l) => l.op === 'Conv' || l.op === 'Gemm' || l.op === 'MatMul');
      assert.equal(layers.length, expected.layers.length, 'Conv/Gemm/MatMul layers');
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

    // Parameters as stored, each distinct tensor once. In -init torch stores the equal (zero)
    // folded conv biases once and feeds the other convs through Identity nodes, which the
    // importer resolves to the one stored tensor.
    it(`${file}: distinct parameter tensors (uniqueParams)`, () => {
      const cost = analyzeGraph(readOnnxFile(`${DIR}${file}`), { batch: 1 });
      assert.equal(cost.uniqueParams, expected.bnFolded ? expected.fileDistinctParams : expected.params);
    });
  }

  const logits = async (model: string | Uint8Array, batch: number): Promise<Float32Array> => {
    const session = await ort.InferenceSession.create(model as string);
    const input = new ort.Tensor('float32', seededNormal(3, 'input', batch * 3 * 32 * 32, 1), [batch, 3, 32, 32]);
    const out = (await session.run({ input }))['logits']!.data as Float32Array;
    await session.release();
    return out;
  };
  const assertClose = (a: Float32Array, b: Float32Array, what: string, tol: number) => {
    assert.equal(a.length, b.length, what);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(a[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  };

  it('re-exported files compute what the PyTorch export computes (onnxruntime, same input)', async () => {
    for (const file of files) {
      const batch = file.includes('static') ? 1 : 2;
      const original = await logits(`${DIR}${file}`, batch);
      assertClose(original, await logits(toOnnxBytes(readOnnxFile(`${DIR}${file}`)), batch), file, 1e-5);
    }
  });

  it('mini_resnet-bn (BatchNormalization kept) computes what mini_resnet (BN folded) computes', async () => {
    // The same weights, so this checks the fixtures themselves: folding is exact up to rounding.
    assertClose(await logits(`${DIR}mini_resnet.onnx`, 2), await logits(`${DIR}mini_resnet-bn.onnx`, 2), 'mini_resnet-bn', 1e-4);
  });
});
