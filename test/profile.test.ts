import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { analyzeGraph } from '../src/analysis/index.js';
import { parseEngineChoice } from '../src/engines/index.js';
import { ortLayerTimings, parseOrtTrace } from '../src/engines/ort-trace.js';
import { torchEngine } from '../src/engines/torch.js';
import { buildProfileReport, profileModel, type ProfileReport } from '../src/measure/profile.js';
import { cacheLevels, layerRoof } from '../src/measure/roofline.js';
import { prepareModel, resolveModel } from '../src/model/index.js';
import { buildZooModel } from '../src/zoo/index.js';
import { testTempDir } from './temp-dir.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const torch = await torchEngine.availability();
const skipTorch = torch.available ? false : `torch engine unavailable: ${torch.reason}`;
/** Short budgets: these tests check bookkeeping, not precision. */
const QUICK = { batch: 1, runs: 4, inputSeed: 1, budget: { targetCiRelative: 0.05, timedBudgetMs: 500, warmupBudgetMs: 300, minRuns: 5, maxRuns: 200 } };

/** A Chrome-trace event as onnxruntime writes it (only the fields the parser reads, plus noise). */
function kernel(name: string, op: string, ts: number, dur: number, inputs: number[][] = []) {
  return {
    cat: 'Node',
    pid: 1,
    tid: 1,
    ph: 'X',
    ts,
    dur,
    name: `${name}_kernel_time`,
    args: { op_name: op, provider: 'CPUExecutionProvider', input_type_shape: inputs.map((s) => ({ float: s })), thread_scheduling_stats: {} },
  };
}

/**
 * Two inferences of bottleneck/d1/w16/r32 as ORT names them at opt=all: NCHWc Convs named after
 * the last node fused into them, a residual Add fused into the third Conv (named after its BN),
 * a FusedConv under the Conv's own name, layout conversions standing for no node.
 */
function handWrittenTrace(firstRunUs: number, secondRunUs: number): unknown[] {
  const run = (t: number, scale: number) => [
    { cat: 'Session', ph: 'X', name: 'model_run', ts: t, dur: 1000 * scale, args: {} },
    kernel('ReorderInput', 'ReorderInput', t + 1, 5 * scale),
    kernel('stem.relu1_nchwc', 'Conv', t + 10, 100 * scale, [[1, 3, 32, 32], [16, 3, 3, 3], [16]]),
    kernel('stem.maxpool1_nchwc', 'MaxPool', t + 120, 20 * scale),
    kernel('block1.conv1', 'FusedConv', t + 150, 30 * scale, [[1, 16, 8, 8], [4, 16, 1, 1], [4]]),
    kernel('block1.relu2_nchwc', 'Conv', t + 200, 40 * scale, [[1, 4, 8, 8], [4, 4, 3, 3], [4]]),
    kernel('block1.bn3_nchwc', 'Conv', t + 250, 50 * scale, [[1, 4, 8, 8], [16, 4, 1, 1], [16], [1, 16, 8, 8]]),
    kernel('head.gap1_nchwc', 'GlobalAveragePool', t + 310, 10 * scale),
    kernel('ReorderOutput', 'ReorderOutput', t + 330, 6 * scale),
    kernel('Transpose_token_7', 'Transpose', t + 340, 4 * scale),
    kernel('head.flatten1', 'Flatten', t + 350, 2 * scale),
    kernel('head.fc1', 'Gemm', t + 360, 8 * scale),
  ];
  return [
    { cat: 'Session', ph: 'X', name: 'session_initialization', ts: 0, dur: 500, args: {} },
    ...run(10_000, firstRunUs / 1000),
    ...run(20_000, secondRunUs / 1000),
    ...run(30_000, secondRunUs / 1000),
  ];
}

function assertEveryNodeOnce(report: ProfileReport, graphNodes: string[]): void {
  const seen = report.layers.flatMap((l) => l.nodes);
  assert.deepEqual([...seen].sort(), [...graphNodes].sort(), 'every IR node is covered by exactly one timed unit');
  assert.deepEqual(report.unattributedNodes, []);
}

function assertSharesAndMacs(report: ProfileReport, totalMacs: number): void {
  const shares = report.layers.reduce((a, l) => a + l.share, 0);
  assert.ok(Math.abs(shares - 1) < 1e-9, `time shares sum to 1, got ${shares}`);
  assert.equal(report.layers.reduce((a, l) => a + l.macs, 0), totalMacs, 'MACs of the units add up to the model’s');
  assert.ok(Math.abs(report.layers.reduce((a, l) => a + l.macShare, 0) - 1) < 1e-9);
  assert.ok(Math.abs(report.byOpType.reduce((a, g) => a + g.share, 0) - 1) < 1e-9);
  assert.ok(Math.abs(report.byBlock.reduce((a, g) => a + g.share, 0) - 1) < 1e-9);
  for (let i = 1; i < report.layers.length; i++) assert.ok(report.layers[i - 1]!.ms >= report.layers[i]!.ms, 'slowest first');
}

describe('onnxruntime trace parser', async () => {
  const graph = buildZooModel('bottleneck/d1/w16/r32').graph;
  const cost = analyzeGraph(graph);
  const trace = parseOrtTrace(handWrittenTrace(5000, 1000));
  const timings = ortLayerTimings(trace, graph, 1);
  const byName = new Map(timings.map((t) => [t.name, t]));

  it('splits the trace into inferences by model_run and drops the first', () => {
    assert.equal(trace.runs.length, 3);
    assert.deepEqual(trace.runMs, [5, 1, 1]);
    assert.equal(byName.get('stem.relu1_nchwc')!.ms, 0.1, 'median of the recorded runs, not the slow first one');
  });

  it('maps fused NCHWc kernels back to the Conv and the nodes fused after it', () => {
    assert.deepEqual(byName.get('stem.relu1_nchwc')!.nodes, ['stem.conv1', 'stem.bn1', 'stem.relu1']);
    assert.deepEqual(byName.get('block1.relu2_nchwc')!.nodes, ['block1.conv2', 'block1.bn2', 'block1.relu2']);
    assert.deepEqual(byName.get('block1.bn3_nchwc')!.nodes, ['block1.conv3', 'block1.bn3', 'block1.add1', 'block1.relu3']);
    assert.deepEqual(byName.get('block1.conv1')!.nodes, ['block1.conv1', 'block1.bn1', 'block1.relu1'], 'FusedConv keeps the Conv name; BN and ReLU join it');
    assert.equal(byName.get('head.gap1_nchwc')!.kind, 'compute');
  });

  it('shows ORT’s own layout changes as layout conversions', () => {
    for (const name of ['ReorderInput', 'ReorderOutput', 'Transpose_token_7']) {
      assert.equal(byName.get(name)!.kind, 'layout', name);
      assert.deepEqual(byName.get(name)!.nodes, []);
    }
    const report = buildProfileReport(graph, cost, { layers: timings, profiledRunMs: [1.2], method: 'fixture' }, [1], {
      model: 'bottleneck/d1/w16/r32',
      engine: 'ort',
      options: {},
      engineVersion: 'fixture',
      runs: 2,
    });
    const layout = report.byOpType.find((g) => g.key === 'layout conversion')!;
    assert.equal(layout.count, 3);
    assert.ok(Math.abs(layout.ms - 0.015) < 1e-12);
    assertEveryNodeOnce(report, graph.nodes.map((n) => n.name));
    assertSharesAndMacs(report, cost.macs);
    // 275 µs in all; MACs 144 000 (stem 110 592, fc 16 000, conv2 9 216, conv1 and conv3 4 096 each).
    const flagged = report.layers.filter((l) => l.softwareLimited).map((l) => l.name);
    assert.deepEqual(flagged.sort(), ['ReorderOutput', 'block1.bn3_nchwc', 'block1.conv1', 'head.gap1_nchwc', 'stem.maxpool1_nchwc'], 'time ≥ 2% and ≥ 3× the MAC share, or no MACs');
    const stem = report.layers.find((l) => l.name === 'stem.relu1_nchwc')!;
    assert.equal(stem.macs, cost.layers.find((l) => l.name === 'stem.conv1')!.macs, 'the Conv’s MACs go to the kernel named after its ReLU');
    assert.equal(stem.block, 'stem');
  });
});

describe('profile on real engines', () => {
  for (const spec of ['standard/d3/w16/r32', 'depthwise-separable/d3/w16/r32']) {
    for (const engine of ['ort', 'tfjs-wasm', 'torch']) {
      it(`${spec} on ${engine}`, { skip: engine === 'torch' ? skipTorch : false }, async () => {
        const report = await profileModel(spec, parseEngineChoice(engine), QUICK);
        const graph = await prepareModel(resolveModel(spec));
        const cost = analyzeGraph(graph);
        assertEveryNodeOnce(report, graph.nodes.map((n) => n.name));
        assertSharesAndMacs(report, cost.macs);
        if (engine === 'torch') {
          // Op by op: one unit per IR node, with exactly that node's MACs.
          for (const layer of cost.layers) assert.equal(report.layers.find((l) => l.name === layer.name)!.macs, layer.macs, layer.name);
        }
        if (engine === 'tfjs-wasm') {
          // Conv + BN + ReLU run as one fused call, as a converted TF.js model runs them: a unit's MACs are its nodes'.
          for (const unit of report.layers) {
            const nodes = new Set(unit.nodes);
            assert.equal(unit.macs, cost.layers.filter((l) => nodes.has(l.name)).reduce((a, l) => a + l.macs, 0), unit.name);
          }
        }
        if (spec.startsWith('depthwise')) assert.ok(report.byOpType.some((g) => g.key === 'Conv (depthwise)'));
        assert.ok(report.totalLayerMs > 0 && report.unprofiledMedianMs > 0 && report.profiledRunMedianMs > 0);
        assert.ok(Number.isFinite(report.gapFraction));
        assert.equal(report.withinTolerance, Math.abs(report.gapMs) <= 0.1 * report.unprofiledMedianMs);
        assert.ok(report.byBlock.some((g) => g.key === 'block2'));
      });
    }
  }

  it('refuses an engine without a profiler, saying which can', async () => {
    await assert.rejects(profileModel('standard/d1/w16/r32', parseEngineChoice('ort-wasm'), QUICK), (e: Error & { hint?: string }) => {
      assert.equal(e.name, 'UserError');
      assert.match(e.message, /no per-layer profiler/);
      assert.match(e.hint ?? '', /ort/);
      return true;
    });
  });
});

describe('formbench profile', () => {
  it('prints the profile as JSON', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [CLI, 'profile', 'depthwise-separable/d3/w16/r32', '--engine', 'ort:opt=disabled', '--runs', '3', '--json'], { maxBuffer: 2 ** 24 }, (e, out, err) =>
        e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out),
      );
    });
    const report = JSON.parse(stdout) as ProfileReport;
    assert.equal(report.engine, 'ort:opt=disabled');
    for (const l of report.layers) for (const key of ['name', 'op', 'ms', 'share', 'macs', 'macShare']) assert.ok(key in l, key);
    assert.equal(report.layers.length, buildZooModel('depthwise-separable/d3/w16/r32').graph.nodes.length, 'opt=disabled runs every node as its own kernel');
    for (const key of ['byOpType', 'byBlock', 'totalLayerMs', 'unprofiledMedianMs', 'gapMs']) assert.ok(key in report, key);
  });
});

describe('roofline', () => {
  it('reads the cache levels Linux reports, counting a private cache once per thread', () => {
    const root = testTempDir('formbench-cache-');
    const entries: [string, string, string, string][] = [
      ['1', 'Data', '48K', '0'],
      ['1', 'Instruction', '32K', '0'],
      ['2', 'Unified', '2048K', '0'],
      ['3', 'Unified', '266240K', '0-1'],
    ];
    entries.forEach(([level, type, size, shared], i) => {
      mkdirSync(join(root, `index${i}`));
      for (const [file, value] of Object.entries({ level, type, size, shared_cpu_list: shared })) writeFileSync(join(root, `index${i}`, file), `${value}\n`);
    });
    assert.deepEqual(cacheLevels(2, root), [
      { level: 'L2', capacityBytes: 2 * 2048 * 1024 },
      { level: 'L3', capacityBytes: 266240 * 1024 },
    ]);
    assert.deepEqual(cacheLevels(2, join(root, 'missing')), []);
  });

  it('holds a layer to the roof of the smallest level its working set fits in', () => {
    const peaks = { peakGflops: 100, bandwidthGBs: 10, method: 'fixture', caches: [{ level: 'L2', capacityBytes: 4 * 2 ** 20, bandwidthGBs: 50 }] };
    assert.deepEqual(layerRoof(1, 2 ** 20, peaks), { gflops: 50, level: 'L2' });
    assert.deepEqual(layerRoof(1, 2 ** 30, peaks), { gflops: 10, level: 'DRAM' });
    assert.deepEqual(layerRoof(1000, 2 ** 20, peaks), { gflops: 100, level: 'compute' });
  });

});
