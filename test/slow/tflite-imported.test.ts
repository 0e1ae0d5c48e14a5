import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readTfjsArtifacts, tfjsArtifactsToGraph } from '../../src/tfjs-graph/index.js';
import { readTflite, toTfliteBytes } from '../../src/tflite/index.js';
import { Op } from '../../src/tflite/schema.js';
import { runOnLiteRt } from '../litert-helpers.js';
import { CORPUS, HUMAN, maxAbs, maxAbsDiff, runInOrt, seededUniform } from '../tfjs-helpers.js';

/**
 * Published TF.js models (the corpus of tfjs-corpus.test.ts) written to .tflite and run on
 * LiteRT.js, every output against onnxruntime's run of the same imported graph on one seeded
 * input. Tolerance: max |LiteRT − ort| ≤ 1e-3 · max(1, max |ort|), the corpus test's own bound
 * against TF.js (XNNPACK and MLAS sum in different orders). Models the export refuses say why.
 */
const REFUSED: { spec: string; reason: RegExp }[] = [
  { spec: `${HUMAN}/centernet.json`, reason: /operator Equal has no \.tflite export/ },
  { spec: `${HUMAN}/movenet-lightning.json`, reason: /is int64; the \.tflite export writes float32 operands only/ },
];
/** Every corpus model that imports, but those the export refuses. */
const RUNS = CORPUS.filter((m) => !m.refused && !REFUSED.some((r) => r.spec === m.spec));

describe('imported TF.js models on LiteRT.js (.tflite export)', () => {
  for (const m of RUNS) {
    it(`${m.spec}: the .tflite keeps the NHWC input, runs on LiteRT.js and matches ort`, async () => {
      const graph = tfjsArtifactsToGraph(readTfjsArtifacts(m.spec));
      const shape = graph.inputs[0]!.type.shape.map((d) => (typeof d === 'number' ? d : 1));
      const bytes = toTfliteBytes(graph, { batch: 1 });
      const file = readTflite(bytes, m.spec);
      assert.deepEqual(file.tensors[file.inputs[0]!]!.shape, shape, 'the file keeps the NHWC input');
      assert.notEqual(file.operators[0]!.builtin, Op.TRANSPOSE, 'the NHWC → NCHW transpose is a layout no-op');
      const data = seededUniform(shape.reduce((a, b) => a * b, 1), 5, m.scale ?? 1);
      const reference = await runInOrt(graph, data, shape);
      const ours = await runOnLiteRt(bytes, data, shape);
      assert.equal(ours.length, reference.length, 'output count');
      reference.forEach((ref, k) => {
        const d = maxAbsDiff(ours[k]!, ref);
        assert.ok(d <= 1e-3 * Math.max(1, maxAbs(ref)), `output ${k}: max |LiteRT − ort| = ${d} (max |ort| ${maxAbs(ref)})`);
      });
    });
  }
  for (const m of REFUSED) {
    it(`${m.spec}: the export refuses it, naming what it cannot write`, () => {
      const graph = tfjsArtifactsToGraph(readTfjsArtifacts(m.spec));
      assert.throws(() => toTfliteBytes(graph, { batch: 1 }), m.reason);
    });
  }
});
