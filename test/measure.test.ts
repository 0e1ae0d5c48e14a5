import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { engineByName, numericsOf, parseEngineChoice } from '../src/engines/index.js';
import { defaultReference, runBench } from '../src/measure/bench.js';
import { compareOutputs } from '../src/measure/compare.js';
import { DEFAULT_BUDGET } from '../src/measure/protocol.js';
import { runTrial, type TrialRequest, limitAfterFirstRun, LOAD_ALLOWANCE_MS } from '../src/measure/trial.js';
import { toOnnxBytes } from '../src/onnx/index.js';
// Registers the failing engines in this process too (workers load them through the variable below).
import './fixtures/failing-engines.js';
import { buildZooModel } from '../src/zoo/index.js';
import { testTempDir } from './temp-dir.js';

const QUICK = { ...DEFAULT_BUDGET, timedBudgetMs: 300, warmupBudgetMs: 100, minRuns: 5 };

describe('output comparison', () => {
  it('measures error relative to the reference and top-1 agreement per row', () => {
    const ref = Float32Array.of(1, 5, 2, 9, 0, 1);
    const same = compareOutputs(ref, Float32Array.of(1, 5.0001, 2, 9, 0, 1), 2);
    assert.equal(same.matches, true);
    assert.equal(same.top1Agreement, 1);
    const off = compareOutputs(ref, Float32Array.of(6, 5, 2, 9, 0, 1), 2);
    assert.equal(off.matches, false);
    assert.equal(off.top1Agreement, 0.5);
    assert.equal(compareOutputs(ref, Float32Array.of(1, 2), 2).matches, false);
  });

  it('holds a lower precision to its own tolerance, FP32 to reordered-sum noise', () => {
    const ref = Float32Array.of(1, 5, 2, 10);
    const int8ish = Float32Array.of(1.3, 5, 2, 10); // 3% of the largest output
    assert.equal(compareOutputs(ref, int8ish, 1, numericsOf(engineByName('ort'), { opt: 'all' }).tolerance).matches, false);
    assert.equal(compareOutputs(ref, int8ish, 1, numericsOf(engineByName('ort'), { precision: 'int8' }).tolerance).matches, true);
    assert.equal(compareOutputs(ref, int8ish, 1, numericsOf(engineByName('ort'), { precision: 'fp16' }).tolerance).matches, true);
    assert.equal(compareOutputs(ref, Float32Array.of(1, 5, 2, Number.NaN), 1, numericsOf(engineByName('ort'), { precision: 'int8' }).tolerance).matches, false);
    assert.equal(compareOutputs(ref, Float32Array.of(-9, 5, 2, 10), 1, numericsOf(engineByName('ort'), { precision: 'int8' }).tolerance).matches, false);
  });
});

describe('trials in worker processes', () => {
  const dir = testTempDir('formbench-trial-');
  const onnxPath = join(dir, 'm.onnx');
  writeFileSync(onnxPath, toOnnxBytes(buildZooModel('standard/d1/w32/r32').graph));
  process.env['FORMBENCH_ENGINE_MODULES'] = fileURLToPath(new URL('./fixtures/failing-engines.js', import.meta.url));
  const request = (engine: string): TrialRequest => ({ spec: 'standard/d1/w32/r32', onnxPath, engine, options: engine === 'ort' ? parseEngineChoice('ort:threads=1').options : {}, batch: 2, inputSeed: 1, budget: QUICK });

  it('a crashing engine becomes a failed trial, and the next trial runs', async () => {
    const crashed = await runTrial(request('test-crash'));
    assert.equal(crashed.status, 'failed');
    assert.match(crashed.status === 'failed' ? crashed.reason : '', /worker died \(signal SIGSEGV\)/);
    const next = await runTrial(request('ort'));
    assert.equal(next.status, 'ok');
    assert.ok(next.status === 'ok' && next.timing.samplesMs.length >= 5 && next.output.length === 2000);
  });

  it('a slow model gets time for its minimum runs once its first run is timed', () => {
    const budget = { targetCiRelative: 0.02, warmupBudgetMs: 1000, timedBudgetMs: 2000, minRuns: 8, maxRuns: 100 };
    // 10 s per run: budgets + 1.5 × (8 minimum + 2) runs + the load allowance.
    assert.equal(limitAfterFirstRun(budget, 10_000), 1000 + 2000 + 150_000 + LOAD_ALLOWANCE_MS);
  });

  it('a hanging engine times out and an engine error is reported with its message', async () => {
    const hung = await runTrial(request('test-hang'), 1500);
    assert.deepEqual([hung.status, hung.status === 'failed' && hung.reason], ['failed', 'timed out after 2 s while loading the model']);
    const threw = await runTrial(request('test-throw'));
    assert.deepEqual([threw.status, threw.status === 'failed' && threw.reason], ['failed', 'this engine cannot run Conv with dilations 7']);
  });

  it('bench runs every engine, checks outputs against the reference and forms speed-ups', async () => {
    const engines = ['ort:threads=1', 'ort:opt=disabled,threads=1', 'test-throw'].map(parseEngineChoice);
    const result = await runBench({ specs: ['grouped/d2/w32/r32'], engines, batches: [1, 2], baseline: engines[1]!, reference: defaultReference(), budget: QUICK, inputSeed: 1 });
    assert.equal(result.trials.length, 6);
    const byEngine = (e: string) => result.trials.filter((t) => t.engine === e);
    assert.ok(byEngine('ort:threads=1').every((t) => t.status === 'ok' && t.outputs?.matches && t.summary!.runs >= 5));
    assert.ok(byEngine('test-throw').every((t) => t.status === 'failed' && /dilations 7/.test(t.reason!)));
    assert.deepEqual(result.speedups.map((s) => [s.engine, s.batch]), [['ort:threads=1', 1], ['ort:threads=1', 2]]);
    assert.ok(result.speedups.every((s) => s.ratio > 0 && s.baseline === 'ort:opt=disabled,threads=1'));
    assert.deepEqual(result.health.map((h) => [h.model, h.healthy, h.maxSubnormalFraction]), [['grouped/d2/w32/r32', true, 0]]);
  });
});
