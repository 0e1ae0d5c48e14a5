import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../src/analysis/index.js';
import { validateGraph } from '../src/ir/index.js';
import { NetBuilder } from '../src/zoo/builder.js';
import { buildReferenceNetwork, REFERENCE_NETWORKS } from '../src/zoo/reference/index.js';
import { NASNET } from '../src/zoo/reference/nasnet.js';

const NET = NASNET[0]!;

function build(resolution: number) {
  const b = new NetBuilder(NET.name, 1, ['N', 3, resolution, resolution]);
  const graph = b.finish(NET.build(b, 'input'));
  return { graph, bnGains: b.bnGains };
}

/** Output shape of the last layer of each block label, in build order. */
function blockOutputs(resolution: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const l of analyzeGraph(build(resolution).graph, { batch: 1 }).layers) out.set(l.block!, l.outputShape);
  return out;
}

describe('nasnet-a-large', () => {
  it('is the only entry and defaults to 331×331', () => {
    assert.equal(NASNET.length, 1);
    assert.equal(NET.name, 'nasnet-a-large');
    assert.equal(NET.resolution, 331);
  });

  it("has Cadene's exact parameter count and MACs within 2% of 23.78 G", () => {
    const { graph } = build(331);
    validateGraph(graph, { N: 1 });
    const cost = analyzeGraph(graph, { batch: 1 });
    assert.equal(cost.params, 88_753_150);
    assert.equal(NET.reference.params, 88_753_150);
    assert.ok(Math.abs(cost.macs / 23.78e9 - 1) < 0.02, `${cost.macs}`);
    assert.ok(Math.abs(cost.macs / NET.reference.macs - 1) < 0.02, `${cost.macs} vs ${NET.reference.macs}`);
    assert.deepEqual(cost.layers.at(-1)!.outputShape, [1, 1000]);
  });

  it("follows TF-slim's spatial sizes and the cell widths", () => {
    const out = blockOutputs(331);
    assert.deepEqual(out.get('stem'), [1, 96, 165, 165]);
    assert.deepEqual(out.get('cell_stem_0'), [1, 168, 83, 83]);
    assert.deepEqual(out.get('cell_stem_1'), [1, 336, 42, 42]);
    for (let i = 0; i < 6; i++) assert.deepEqual(out.get(`cell_${i}`), [1, 1008, 42, 42], `cell_${i}`);
    assert.deepEqual(out.get('reduction_cell_0'), [1, 1344, 21, 21]);
    for (let i = 6; i < 12; i++) assert.deepEqual(out.get(`cell_${i}`), [1, 2016, 21, 21], `cell_${i}`);
    assert.deepEqual(out.get('reduction_cell_1'), [1, 2688, 11, 11]);
    for (let i = 12; i < 18; i++) assert.deepEqual(out.get(`cell_${i}`), [1, 4032, 11, 11], `cell_${i}`);
    assert.deepEqual(out.get('head'), [1, 1000]);
    assert.equal(out.size, 2 + 2 + 18 + 2);
  });

  it('uses depthwise separable convolutions without bias and BN epsilon 1e-3', () => {
    const { graph } = build(331);
    const convs = graph.nodes.filter((n) => n.op === 'Conv');
    assert.ok(convs.every((n) => n.inputs.length === 2), 'no conv has a bias');
    const depthwise = convs.filter((n) => n.attrs.group!.value !== 1);
    // 2 separable convolutions per sep branch: 5 stem-0 + 5 stem-1 + 18·5 normal + 2·5 reduction branches.
    assert.equal(depthwise.length, 2 * (5 + 5 + 18 * 5 + 2 * 5));
    const bns = graph.nodes.filter((n) => n.op === 'BatchNormalization');
    assert.ok(bns.every((n) => Math.abs((n.attrs.epsilon!.value as number) - 1e-3) < 1e-9));
  });

  it('keeps its parameters at a reduced resolution', () => {
    const { graph } = build(96);
    validateGraph(graph, { N: 2 });
    const cost = analyzeGraph(graph, { batch: 1 });
    assert.equal(cost.params, 88_753_150);
    assert.deepEqual(cost.layers.at(-1)!.outputShape, [1, 1000]);
  });


  const registered = REFERENCE_NETWORKS.some((n) => n.name === NET.name);
  it('builds through buildReferenceNetwork once registered', { skip: !registered && 'not registered in reference/index.ts yet' }, () => {
    const model = buildReferenceNetwork('nasnet-a-large');
    assert.equal(model.spec, 'nasnet-a-large');
    assert.equal(analyzeGraph(model.graph, { batch: 1 }).params, 88_753_150);
    const small = buildReferenceNetwork('nasnet-a-large/r128');
    assert.deepEqual(analyzeGraph(small.graph, { batch: 1 }).layers.at(-1)!.outputShape, [1, 1000]);
  });
});
