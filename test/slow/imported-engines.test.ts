import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readTfjsArtifacts, tfjsArtifactsToGraph } from '../../src/tfjs-graph/index.js';
import { seededNormal } from '../../src/weights/index.js';
import { onEachEngine } from '../engine-helpers.js';
import { HUMAN } from '../tfjs-helpers.js';

/**
 * Published TF.js models (the corpus) on the op-by-op engines against onnxruntime, each graph
 * re-imported from its ONNX bytes as a bench worker does. `output`: the one output compared
 * (engines return their graph's first), chosen to pass through the post-processing operators.
 */
const MODELS: { spec: string; output: number }[] = [
  { spec: `${HUMAN}/movenet-lightning.json`, output: 0 },
  { spec: `${HUMAN}/facemesh.json`, output: 0 },
  { spec: `${HUMAN}/centernet.json`, output: 2 },
  { spec: `${HUMAN}/handlandmark-lite.json`, output: 1 },
  { spec: 'node_modules/@upscalerjs/esrgan-slim/models/x3/model.json@32x32', output: 0 },
  { spec: `${HUMAN}/iris.json`, output: 0 },
];

describe('imported TF.js models on the tfjs and torch engines', () => {
  for (const m of MODELS) {
    it(`${m.spec}: tfjs-cpu, tfjs-wasm and torch match ort`, async () => {
      const graph = tfjsArtifactsToGraph(readTfjsArtifacts(m.spec));
      graph.outputs = [graph.outputs[m.output]!];
      const dims = graph.inputs[0]!.type.shape.map((d) => (typeof d === 'number' ? d : 1));
      const input = seededNormal(1, 'input', dims.reduce((a, b) => a * b, 1), 1);
      const outputs = await onEachEngine(graph, input, dims);
      const want = outputs.get('ort:threads=1')!;
      const scale = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0) || 1;
      for (const [choice, got] of outputs) {
        assert.equal(got.length, want.length, `${choice}: output size`);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
        console.log(`${m.spec} ${choice}: max |Δ| / max |ort| = ${(worst / scale).toExponential(2)}`);
        assert.ok(worst / scale < 1e-4, `${choice}: relative error ${worst / scale}`);
      }
    });
  }
});
