import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { paperClaims, paperClaimsTable, reportData, type PaperClaim } from '../src/report/index.js';
import { tableToCsv } from '../src/report/tables.js';
import { decodeTrial, type ResultRow } from '../src/store/index.js';
import { fakeRow, fakeStudyRows } from './fixtures/result-rows.js';

/** Fixture rows (as the study writes them) as the store reads them back for the report. */
const trials = (rows: ResultRow[]) => rows.map(decodeTrial);

/** A trial with a chosen median (±2% interval): the claims' rules see exactly these numbers. */
function trial(o: { model?: string; pattern?: string; depth?: number; width?: number; resolution?: number; batch?: number; engine: string; ms: number }): ResultRow {
  const model = o.model ?? `${o.pattern}/d${o.depth ?? 10}/w${o.width ?? 64}${o.resolution ? `/r${o.resolution}` : ''}`;
  const r = fakeRow({ model, pattern: o.pattern, depth: o.pattern ? (o.depth ?? 10) : undefined, width: o.pattern ? (o.width ?? 64) : undefined, resolution: o.resolution ?? 224, batch: o.batch ?? 1, engine: o.engine, macs: 1e9 });
  return { ...r, medianMs: o.ms, meanMs: o.ms, minMs: o.ms, p90Ms: o.ms, p99Ms: o.ms, ciLowMs: o.ms * 0.98, ciHighMs: o.ms * 1.02, samplesMs: Array.from({ length: 8 }, () => o.ms) };
}

/** The same model on torch (the native framework) and ort (the accelerated engine). */
const pair = (o: Omit<Parameters<typeof trial>[0], 'engine' | 'ms'>, torchMs: number, ortMs: number): ResultRow[] => [trial({ ...o, engine: 'torch', ms: torchMs }), trial({ ...o, engine: 'ort', ms: ortMs })];

const claim = (rows: ResultRow[], id: string): PaperClaim => {
  const c = paperClaims(reportData(trials(rows))).find((x) => x.id === id);
  assert.ok(c, `claim ${id}`);
  return c;
};

const PATTERNS = ['standard', 'factorized', 'bottleneck', 'depthwise-separable', 'depthwise-bottleneck', 'grouped'];

describe('the seed paper\'s claims', () => {
  it('are the seven published claims, in the paper\'s order, each with its rule', () => {
    const claims = paperClaims(reportData(trials(fakeStudyRows())));
    assert.deepEqual(
      claims.map((c) => c.id),
      ['average-speedup', 'depthwise-bottleneck-gains-most', 'gain-grows-with-depth', 'batch-per-image-latency', 'latency-vs-width', 'darts-gains-most', 'mobilenet-v2-fastest'],
    );
    assert.deepEqual(claims.map((c) => c.paper), ['3.8×', '5.5×', 'every pattern', 'native grows, accelerated flat', 'slope ≈ 0.5 vs ≈ 1', '12×', '2.4 ms (i5-7600K)']);
    for (const c of claims) assert.match(c.rule, /^[A-Z].*reproduced if .*\.$/, c.id);
  });

  it('compare the native framework with the accelerated engine at default options, not a decomposition of it', () => {
    const rows = [...pair({ pattern: 'standard' }, 40, 10), trial({ pattern: 'standard', engine: 'ort:opt=disabled', ms: 39 })];
    const c = claim(rows, 'average-speedup');
    assert.equal(c.measured, '4.00×');
    assert.match(c.rule, /ort's FP32 speed-ups over torch/);
    assert.equal(c.trialKeys.length, 2);
  });

  it('are all not measured without a native framework', () => {
    const claims = paperClaims(reportData(trials(fakeStudyRows().filter((r) => r.engine === 'ort'))));
    assert.ok(claims.every((c) => c.verdict === 'not measured' && c.measured === null && c.trialKeys.length === 0));
    assert.match(claims[0]!.detail, /no native framework was measured/);
  });

  describe('1. acceleration averages 3.8× over the native framework', () => {
    it('reproduced within a factor 2 of 3.8×', () => {
      const c = claim(PATTERNS.flatMap((pattern) => pair({ pattern }, 40, 10)), 'average-speedup');
      assert.equal(c.verdict, 'reproduced');
      assert.equal(c.measuredValue, 4);
      assert.equal(c.trialKeys.length, 12);
    });
    it('not reproduced below 1.9× or above 7.6×', () => {
      assert.equal(claim(PATTERNS.flatMap((pattern) => pair({ pattern }, 40, 30)), 'average-speedup').verdict, 'not reproduced');
      const high = claim(PATTERNS.flatMap((pattern) => pair({ pattern }, 80, 10)), 'average-speedup');
      assert.equal(high.verdict, 'not reproduced');
      assert.equal(high.measured, '8.00×');
    });
    it('not measured without pattern networks on both engines', () => {
      const c = claim(pair({ model: 'resnet50' }, 40, 10), 'average-speedup');
      assert.equal(c.verdict, 'not measured');
      assert.match(c.detail, /no pattern network/);
    });
  });

  describe('2. the depthwise bottleneck gains most', () => {
    const gains = (best: string) => PATTERNS.flatMap((pattern) => pair({ pattern }, pattern === best ? 60 : 30, 10));
    it('reproduced when depthwise-bottleneck has the highest geometric-mean speed-up', () => {
      const c = claim(gains('depthwise-bottleneck'), 'depthwise-bottleneck-gains-most');
      assert.equal(c.verdict, 'reproduced');
      assert.equal(c.measured, '6.00×, the highest');
      assert.match(c.detail, /^6 of 6 patterns measured: depthwise-bottleneck 6\.00×/);
    });
    it('not reproduced when another pattern gains more, naming it', () => {
      const c = claim(gains('grouped'), 'depthwise-bottleneck-gains-most');
      assert.equal(c.verdict, 'not reproduced');
      assert.equal(c.measured, '3.00×; grouped gains most (6.00×)');
    });
    it('not measured without depthwise-bottleneck, or with nothing to compare it with', () => {
      assert.equal(claim(gains('grouped').filter((r) => r.pattern !== 'depthwise-bottleneck'), 'depthwise-bottleneck-gains-most').verdict, 'not measured');
      assert.equal(claim(pair({ pattern: 'depthwise-bottleneck' }, 60, 10), 'depthwise-bottleneck-gains-most').verdict, 'not measured');
    });
  });

  describe('3. the gain grows with depth for every pattern', () => {
    /** Speed-up = depth / 10 (growing) or 10 / depth (falling), at batch 1 and 8. */
    const series = (falling: string[], depths = [10, 20, 30]) =>
      ['standard', 'grouped'].flatMap((pattern) => depths.flatMap((depth) => [1, 8].flatMap((batch) => pair({ pattern, depth, batch }, 10 * (falling.includes(pattern) ? 10 / depth : depth / 10), 10))));
    it('reproduced when ρ > 0 for every pattern', () => {
      const c = claim(series([]), 'gain-grows-with-depth');
      assert.equal(c.verdict, 'reproduced');
      assert.equal(c.measured, '2 of 2 patterns');
      assert.equal(c.measuredValue, 1);
    });
    it('not reproduced, listing the exceptions', () => {
      const c = claim(series(['grouped']), 'gain-grows-with-depth');
      assert.equal(c.verdict, 'not reproduced');
      assert.equal(c.detail, 'Exceptions: grouped ρ = −1.00. Growing: standard ρ = 1.00.');
    });
    it('a constant gain does not grow', () => {
      const rows = ['standard'].flatMap((pattern) => [10, 20, 30].flatMap((depth) => pair({ pattern, depth }, 30, 10)));
      assert.equal(claim(rows, 'gain-grows-with-depth').detail, 'Exceptions: standard constant.');
    });
    it('not measured with fewer than 3 depths', () => {
      const c = claim(series([], [10, 30]), 'gain-grows-with-depth');
      assert.equal(c.verdict, 'not measured');
      assert.match(c.detail, /3 or more depths/);
    });
  });

  describe('4. per-image latency grows with batch on the native framework, flat on the accelerated', () => {
    /** Per-image latency at batch 8 is `torchGrowth` and `ortGrowth` times that at batch 1. */
    const batches = (torchGrowth: number, ortGrowth: number, sizes = [1, 8]) =>
      PATTERNS.flatMap((pattern) => sizes.flatMap((batch) => pair({ pattern, batch }, 20 * batch * (batch === 1 ? 1 : torchGrowth), 5 * batch * (batch === 1 ? 1 : ortGrowth))));
    it('reproduced when torch grows by more than 15% and ort stays within ±15%', () => {
      const c = claim(batches(1.5, 1.1), 'batch-per-image-latency');
      assert.equal(c.verdict, 'reproduced');
      assert.equal(c.measured, 'torch 1.50×, ort 1.10×');
      assert.match(c.detail, /from batch 1 to batch 8, geometric mean over 6 models: torch grows, ort flat/);
      assert.equal(c.trialKeys.length, 24);
    });
    it('not reproduced when torch stays flat, or ort grows too', () => {
      assert.equal(claim(batches(1.1, 1), 'batch-per-image-latency').verdict, 'not reproduced');
      assert.equal(claim(batches(1.5, 1.3), 'batch-per-image-latency').verdict, 'not reproduced');
    });
    it('not measured with one batch size', () => {
      assert.equal(claim(batches(1.5, 1, [1]), 'batch-per-image-latency').verdict, 'not measured');
    });
  });

  describe('5. latency grows like √width for three patterns, near-linearly for the others', () => {
    /** Latency ∝ width^slope(pattern) on both engines, depth 10, 112² input. */
    const widths = (slopeOf: (pattern: string) => number, patterns = PATTERNS, ws = [32, 64, 128]) =>
      patterns.flatMap((pattern) => ws.flatMap((width) => pair({ pattern, width, resolution: 112 }, 4 * (width / 32) ** slopeOf(pattern), (width / 32) ** slopeOf(pattern))));
    const paper = (p: string) => (['standard', 'factorized', 'bottleneck'].includes(p) ? 0.55 : 0.9);
    it('reproduced when every slope is within ±0.25 of 0.5 or 1', () => {
      const c = claim(widths(paper), 'latency-vs-width');
      assert.equal(c.verdict, 'reproduced');
      assert.equal(c.measured, '12 of 12 slopes within ±0.25');
      assert.ok(Math.abs(c.measuredValue! - 0.1) < 1e-9, 'the largest distance from the paper\'s slope');
    });
    it('not reproduced when a slope is off, naming it', () => {
      const c = claim(widths((p) => (p === 'standard' ? 2 : paper(p))), 'latency-vs-width');
      assert.equal(c.verdict, 'not reproduced');
      assert.match(c.detail, /^Outside: standard on torch 2\.00 \(paper 0\.5\), standard on ort 2\.00 \(paper 0\.5\)\./);
    });
    it('not measured with fewer than 3 widths, or with only one group of patterns', () => {
      assert.equal(claim(widths(paper, PATTERNS, [32, 64]), 'latency-vs-width').verdict, 'not measured');
      const oneGroup = claim(widths(paper, ['standard', 'bottleneck']), 'latency-vs-width');
      assert.equal(oneGroup.verdict, 'not measured');
      assert.match(oneGroup.detail, /only one group of patterns/i);
    });
  });

  describe('6. DARTS gains most among the networks', () => {
    it('reproduced when DARTS has the highest speed-up', () => {
      const c = claim([...pair({ model: 'darts' }, 120, 10), ...pair({ model: 'resnet50' }, 40, 10)], 'darts-gains-most');
      assert.equal(c.verdict, 'reproduced');
      assert.equal(c.measured, '12.0×, the highest');
      assert.equal(c.trialKeys.length, 4);
    });
    it('not reproduced when another network gains more', () => {
      const c = claim([...pair({ model: 'darts' }, 20, 10), ...pair({ model: 'resnet50' }, 40, 10)], 'darts-gains-most');
      assert.equal(c.verdict, 'not reproduced');
      assert.equal(c.measured, '2.00×; resnet50 gains most (4.00×)');
    });
    it('not measured without DARTS, or with DARTS alone', () => {
      assert.equal(claim(fakeStudyRows(), 'darts-gains-most').verdict, 'not measured');
      assert.equal(claim(pair({ model: 'darts' }, 120, 10), 'darts-gains-most').verdict, 'not measured');
    });
  });

  describe('7. MobileNetV2 has the lowest latency', () => {
    it('reproduced when MobileNetV2 is the fastest network on the accelerated engine, its latency beside the paper\'s 2.4 ms', () => {
      const c = claim(fakeStudyRows(), 'mobilenet-v2-fastest');
      assert.equal(c.verdict, 'reproduced');
      assert.equal(c.measured, '10.0 ms, the lowest');
      assert.equal(c.paper, '2.4 ms (i5-7600K)');
    });
    it('not reproduced when another network is faster', () => {
      const c = claim([...pair({ model: 'mobilenet_v2' }, 20, 3), ...pair({ model: 'darts' }, 20, 2.5)], 'mobilenet-v2-fastest');
      assert.equal(c.verdict, 'not reproduced');
      assert.equal(c.measured, '3.00 ms; darts is faster (2.50 ms)');
    });
    it('not measured without MobileNetV2 at batch 1, or with it alone', () => {
      assert.equal(claim(pair({ model: 'resnet50' }, 20, 3), 'mobilenet-v2-fastest').verdict, 'not measured');
      assert.equal(claim(pair({ model: 'mobilenet_v2', batch: 8 }, 20, 3), 'mobilenet-v2-fastest').verdict, 'not measured');
      assert.equal(claim(pair({ model: 'mobilenet_v2' }, 20, 3), 'mobilenet-v2-fastest').verdict, 'not measured');
    });
  });

  it('as a table: one row per claim, the trials space-separated', () => {
    const claims = paperClaims(reportData(trials(fakeStudyRows())));
    const table = paperClaimsTable(claims);
    assert.deepEqual(table.columns, ['claim', 'paper', 'this machine', 'verdict', 'detail', 'rule', 'trials']);
    assert.equal(table.rows.length, 7);
    assert.equal(table.rows[6]![6], claims[6]!.trialKeys.join(' '));
    assert.match(tableToCsv(table), /^claim,paper,this machine,verdict,detail,rule,trials\n/);
  });
});
