import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeGraph } from '../src/analysis/index.js';
import { UserError } from '../src/errors.js';
import { validateGraph } from '../src/ir/index.js';
import { buildZooModel, formatPatternSpec, parsePatternSpec, PATTERNS } from '../src/zoo/index.js';
import { closedForm } from './closed-form.js';

describe('pattern spec', () => {
  it('parses depth, width, resolution and knobs, and prints the canonical form', () => {
    const s = parsePatternSpec('bottleneck/d12/w128/r160/reduction=2');
    assert.deepEqual([s.pattern, s.depth, s.width, s.resolution, s.knobs.reduction], ['bottleneck', 12, 128, 160, 2]);
    assert.equal(formatPatternSpec(s), 'bottleneck/d12/w128/r160/reduction=2');
    assert.equal(formatPatternSpec(parsePatternSpec('standard/d10/w64/r224')), 'standard/d10/w64');
  });

  const bad: [string, RegExp][] = [
    ['grouped/d10/w40', /grouped width 40 is not divisible by the group width 16/],
    ['bottleneck/d10/w30', /not divisible by its reduction 4/],
    ['standard/d0/w64', /depth must be at least 1/],
    ['standard/w64', /needs a depth and a width/],
    ['standard/d10/w64/expansion=4', /has no knob 'expansion'/],
    ['standard/d10/w64/x9', /cannot read 'x9'/],
    ['resnet9000', /unknown model 'resnet9000'/],
    ['standard/d10/w64/r4', /resolution must be at least 8/],
  ];
  for (const [spec, message] of bad) {
    it(`rejects ${spec} with a user error`, () => {
      assert.throws(() => buildZooModel(spec), (e: unknown) => e instanceof UserError && message.test(e.message));
    });
  }

  it('applies knob overrides to the block', () => {
    const g8 = analyzeGraph(buildZooModel('grouped/d2/w64/group-width=8').graph);
    assert.equal(g8.macs, closedForm({ pattern: 'grouped', depth: 2, width: 64, groupWidth: 8 }).macs);
    const e4 = analyzeGraph(buildZooModel('depthwise-bottleneck/d2/w32/expansion=4').graph);
    assert.equal(e4.params, closedForm({ pattern: 'depthwise-bottleneck', depth: 2, width: 32, expansion: 4 }).params);
  });
});

describe('pattern networks', () => {
  it('every pattern at depth 1–50 and widths 32–512 builds and validates, with closed-form MACs and parameters', () => {
    for (const pattern of PATTERNS) {
      for (const width of [32, 64, 128, 256, 512]) {
        for (let depth = 1; depth <= 50; depth += width === 32 ? 1 : 7) {
          const spec = `${pattern}/d${depth}/w${width}`;
          const { graph } = buildZooModel(spec);
          validateGraph(graph, { N: 1 });
          const cost = analyzeGraph(graph, { batch: 1 });
          const expected = closedForm({ pattern, depth, width });
          assert.equal(cost.macs, expected.macs, `${spec} MACs`);
          assert.equal(cost.params, expected.params, `${spec} params`);
        }
      }
    }
  });

  it('MACs scale with batch and follow the resolution', () => {
    const one = analyzeGraph(buildZooModel('depthwise-separable/d5/w64/r160').graph, { batch: 1 });
    const eight = analyzeGraph(buildZooModel('depthwise-separable/d5/w64/r160').graph, { batch: 8 });
    assert.equal(eight.macs, 8 * one.macs);
    assert.equal(one.macs, closedForm({ pattern: 'depthwise-separable', depth: 5, width: 64, resolution: 160 }).macs);
    assert.equal(eight.params, one.params);
  });

  it('labels every body node with its block', () => {
    const { graph } = buildZooModel('bottleneck/d3/w64');
    const blocks = new Set(graph.nodes.map((n) => n.block));
    assert.deepEqual([...blocks], ['stem', 'block1', 'block2', 'block3', 'head']);
    const block2 = graph.nodes.filter((n) => n.block === 'block2').map((n) => n.op);
    assert.deepEqual(block2, ['Conv', 'BatchNormalization', 'Relu', 'Conv', 'BatchNormalization', 'Relu', 'Conv', 'BatchNormalization', 'Add', 'Relu']);
  });

  it('builds a 50-block width-512 network without generating its weights', () => {
    const { graph } = buildZooModel('standard/d50/w512');
    const conv = [...graph.initializers.values()].filter((t) => t.dims.length === 4);
    assert.equal(conv.length, 51);
    assert.ok(conv.every((t) => !t.isMaterialized));
  });

  it('generates the same weights for the same seed and different ones for another seed', () => {
    const a = buildZooModel('standard/d2/w32').graph.initializers.get('block1.conv1.weight')!.float32();
    const b = buildZooModel('standard/d2/w32').graph.initializers.get('block1.conv1.weight')!.float32();
    const c = buildZooModel('standard/d2/w32/seed=7').graph.initializers.get('block1.conv1.weight')!.float32();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    // He-normal: std = sqrt(2 / fan_in), fan_in = 32·3·3.
    const std = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    assert.ok(Math.abs(std / Math.sqrt(2 / 288) - 1) < 0.05, `std ${std}`);
  });
});
