import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../src/analysis/index.js';
import { validateGraph } from '../src/ir/index.js';
import { buildZooModel } from '../src/zoo/index.js';

describe('darts (DARTS_V2 ImageNet network)', () => {
  const { graph } = buildZooModel('darts');
  const cost = analyzeGraph(graph, { batch: 1 });

  it('has the reference parameter count and Conv+Linear MACs', () => {
    validateGraph(graph, { N: 1 });
    assert.equal(cost.params, 4_718_752);
    assert.ok(Math.abs(cost.macs / 529.9e6 - 1) < 0.005, `${cost.macs}`);
  });

  it('has the published widths: 192 channels at 28², 384 at 14², 768 at 7²', () => {
    const cellOutputs = new Map<string, number[]>();
    for (const l of cost.layers) if (l.block?.startsWith('cell') && l.op === 'Concat') cellOutputs.set(l.block, l.outputShape);
    assert.equal(cellOutputs.size, 14);
    assert.deepEqual(cellOutputs.get('cell0'), [1, 192, 28, 28]);
    assert.deepEqual(cellOutputs.get('cell4'), [1, 384, 14, 14]);
    assert.deepEqual(cellOutputs.get('cell13'), [1, 768, 7, 7]);
    assert.deepEqual(cost.layers.at(-1)!.outputShape, [1, 1000]);
  });

  it('is made of bias-free depthwise-separable and dilated convolutions', () => {
    const convs = graph.nodes.filter((n) => n.op === 'Conv');
    assert.ok(convs.every((n) => n.inputs.length === 2));
    const dilated = convs.filter((n) => n.attrs['dilations']?.type === 'ints' && n.attrs['dilations'].value[0] === 2);
    assert.equal(dilated.length, 12, 'one dil_conv_3x3 per normal cell');
  });
});
