import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../../src/analysis/index.js';
import { readTfjsArtifacts, tfjsArtifactsToGraph } from '../../src/tfjs-graph/index.js';
import { maxAbs, maxAbsDiff, runInOrt, runInTfjs, seededUniform } from '../tfjs-helpers.js';

const HUMAN = 'node_modules/@vladmandic/human/models';
const UPSCALER = 'node_modules/@upscalerjs';

/**
 * Trained TF.js models as their authors publish them in npm packages (dev dependencies), each
 * imported and run in onnxruntime against TF.js's own execution of the same files on one seeded
 * input. `refused` models must fail with the reason given. (@upscalerjs/default-model is left out:
 * its files are byte for byte esrgan-slim's x2.)
 */
interface CorpusModel {
  spec: string;
  /** Pixel values: [0, 1) by default; 255 for models fed uint8-range images. */
  scale?: number;
  int32?: boolean;
  refused?: RegExp;
}

export const CORPUS: CorpusModel[] = [
  { spec: 'nsfwjs:mobilenet_v2' },
  { spec: 'nsfwjs:mobilenet_v2_mid' },
  { spec: 'nsfwjs:inception_v3' },
  { spec: `${HUMAN}/antispoof.json` },
  { spec: `${HUMAN}/blazeface.json` },
  { spec: `${HUMAN}/centernet.json` },
  { spec: `${HUMAN}/emotion.json` },
  { spec: `${HUMAN}/facemesh.json` },
  { spec: `${HUMAN}/faceres.json` },
  { spec: `${HUMAN}/handlandmark-lite.json` },
  { spec: `${HUMAN}/handtrack.json`, refused: /loop/ },
  { spec: `${HUMAN}/iris.json` },
  { spec: `${HUMAN}/liveness.json` },
  { spec: `${HUMAN}/movenet-lightning.json`, scale: 255, int32: true },
  { spec: `${UPSCALER}/esrgan-slim/models/x2/model.json@32x32`, scale: 255 },
  { spec: `${UPSCALER}/esrgan-slim/models/x3/model.json@32x32`, scale: 255 },
  { spec: `${UPSCALER}/esrgan-slim/models/x4/model.json@32x32`, scale: 255 },
  { spec: `${UPSCALER}/esrgan-slim/models/x8/model.json@32x32`, scale: 255 },
];

describe('published TF.js models (corpus)', () => {
  for (const m of CORPUS) {
    it(`${m.spec} ${m.refused ? 'is refused clearly' : 'imports and matches TF.js'}`, async () => {
      const t0 = Date.now();
      const art = readTfjsArtifacts(m.spec);
      if (m.refused) {
        assert.throws(() => tfjsArtifactsToGraph(art), (e: Error) => m.refused!.test(e.message));
        return;
      }
      const graph = tfjsArtifactsToGraph(art);
      const cost = analyzeGraph(graph, { batch: 1 });
      assert.ok(cost.macs > 0 && cost.params > 0);
      const shape = graph.inputs[0]!.type.shape.map((d) => (typeof d === 'number' ? d : 1));
      const n = shape.reduce((a, b) => a * b, 1);
      const data = m.int32 ? Float32Array.from(seededUniform(n, 5, m.scale ?? 1), Math.floor) : seededUniform(n, 5, m.scale ?? 1);
      const ours = await runInOrt(graph, data, shape);
      const ref = await runInTfjs(art, data, shape, { int32: m.int32 });
      assert.equal(ours.length, ref.length, 'output count');
      ours.forEach((o, k) => {
        const scale = Math.max(1, maxAbs(ref[k]!));
        const d = maxAbsDiff(o, ref[k]!);
        console.log(`${m.spec} output ${k}: ${o.length} values, max |ORT − TF.js| ${d.toExponential(2)} (max |TF.js| ${maxAbs(ref[k]!).toExponential(2)}) ${Date.now() - t0} ms`);
        assert.ok(d <= 1e-3 * scale, `output ${k}: max |ORT − TF.js| = ${d}`);
      });
    });
  }
});
