import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../../src/analysis/index.js';
import { readTfjsArtifacts, tfjsArtifactsToGraph } from '../../src/tfjs-graph/index.js';
import { CORPUS, maxAbs, maxAbsDiff, runInOrt, runInTfjs, seededUniform } from '../tfjs-helpers.js';

/** Each corpus model imported and run in onnxruntime against TF.js's own execution; `refused` ones fail with their reason. */
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
