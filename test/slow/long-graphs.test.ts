/**
 * Long graphs: nothing on the import and analysis path recurses per node or spreads a graph's
 * layers into one call (Math.max(...layers) overflowed the stack at a zoo depth of 100000, whose
 * spec is now capped; an imported ONNX file has no such cap). Slow: 200,000 nodes take seconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../../src/analysis/index.js';
import { fromOnnxBytes } from '../../src/onnx/index.js';
import { modelBytes, valueInfoMsg } from '../onnx-helpers.js';

describe('long imported graphs', () => {
  it('a chain of 200,000 Relu nodes imports and analyses without overflowing the stack', () => {
    const n = 200_000;
    const nodes = Array.from({ length: n }, (_, i) => ({ op: 'Relu', inputs: [i ? `v${i - 1}` : 'x'], outputs: [i === n - 1 ? 'y' : `v${i}`], name: `r${i}` }));
    const graph = fromOnnxBytes(modelBytes({ opset: 17, inputs: [valueInfoMsg('x', ['N', 4])], outputs: [valueInfoMsg('y', ['N', 4])], nodes }));
    const cost = analyzeGraph(graph, { batch: 1 });
    assert.equal(cost.layers.length, n);
    assert.equal(cost.elementwiseOps, 4 * n);
    assert.equal(cost.peakActivationBytes, 16);
  });
});
