/**
 * Scenarios in studies: the `scenario:` key of a study file (each setting checked against the
 * scenario it belongs to), their plan and keys, the `throughput` preset, the `scenarios` table,
 * the throughput finding computed from fixture rows, and a real study of offline runs on
 * onnxruntime (and on an engine with wrong outputs) that stores, resumes and reports.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/errors.js';
import { throughputFindings, throughputPoints } from '../src/report/throughput.js';
import { ResultStore, type StoredScenario } from '../src/store/index.js';
import { parseStudy, planStudy, presetEngines, presetStudy } from '../src/study/index.js';
import { runCli } from './cli-helpers.js';
import { testTempDir } from './temp-dir.js';

const dir = testTempDir('formbench-study-scenarios-');
after(() => rmSync(dir, { recursive: true, force: true }));

const base = { name: 's', models: ['standard/d2/w16/r32'], engines: ['ort:threads=1'], batches: [1, 2] };

function userError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UserError && message.test(e.message), `expected ${message}`);
}

describe('scenario: in study files', () => {
  it('takes a name or a mapping, with defaults for every setting', () => {
    assert.deepEqual(parseStudy({ ...base, scenario: 'offline' }, 's.yaml').sweeps[0]!.scenario, { name: 'offline', streams: [1], durationMs: 3000, warmupMs: 1000 });
    assert.deepEqual(parseStudy({ ...base, scenario: { name: 'server', rate: 50 } }, 's.yaml').sweeps[0]!.scenario, { name: 'server', streams: [1], durationMs: 3000, warmupMs: 1000, ratePerS: 50, findPeak: false, p99BoundMs: 20, seed: 1 });
    assert.deepEqual(parseStudy({ ...base, scenario: { name: 'multi-stream', streams: [1, 2], seconds: 0.5, warmupSeconds: 0 } }, 's.yaml').sweeps[0]!.scenario, { name: 'multi-stream', streams: [1, 2], durationMs: 500, warmupMs: 0 });
    // Single-stream is the plain sweep.
    assert.equal(parseStudy({ ...base, scenario: 'single-stream' }, 's.yaml').sweeps[0]!.scenario, undefined);
  });

  it('refuses a setting that would do nothing, in one line naming the sweep', () => {
    userError(() => parseStudy({ ...base, scenario: { name: 'offline', rate: 5 } }, 's.yaml'), /^s\.yaml: 'rate' is for scenario server, not offline$/);
    userError(() => parseStudy({ ...base, scenario: { name: 'server' } }, 's.yaml'), /scenario server needs a rate \(queries\/s\) or findPeak: true/);
    userError(() => parseStudy({ ...base, scenario: 'offline', budget: { timedSeconds: 1 } }, 's.yaml'), /budget is for single-stream trials, not scenario offline/);
    userError(() => parseStudy({ ...base, scenario: 'offline', counters: 'perf' }, 's.yaml'), /counters are counted on single-stream trials/);
    userError(() => parseStudy({ ...base, scenario: { name: 'single-stream', streams: [2] } }, 's.yaml'), /scenario single-stream takes no 'streams'/);
    userError(() => parseStudy({ name: 's', sweeps: [{ ...base, name: 'a', scenario: { name: 'offline', seed: 2 } }] }, 's.yaml'), /^s\.yaml: sweeps\[0\]: 'seed' is for scenario server/);
    userError(() => parseStudy({ ...base, scenario: 'burst' }, 's.yaml'), /^s\.yaml: scenario: expected one of "single-stream"\|"offline"\|"multi-stream"\|"server", or object, received string$/);
    userError(() => parseStudy({ ...base, scenario: { name: 'offline', streams: [0] } }, 's.yaml'), /scenario\.streams\[0\]/);
    userError(() => parseStudy({ ...base, scenario: { name: 'offline', streams: [33] } }, 's.yaml'), /at most 32 concurrent sessions/);
    userError(() => parseStudy({ ...base, scenario: { name: 'offline', sessions: 2 } }, 's.yaml'), /unknown key 'sessions' in scenario/);
  });
});

describe('scenario plans', () => {
  it('one run per model × batch × engine × sessions, keyed apart from trials and by their settings', () => {
    const plan = planStudy(parseStudy({ ...base, engines: ['ort:threads=1', 'torch'], scenario: { name: 'offline', streams: [1, 2] } }, 's.yaml'));
    assert.equal(plan.trials.length, 0);
    assert.equal(plan.scenarios.length, 2 * 2 * 2);
    assert.equal(new Set(plan.scenarios.map((s) => s.key)).size, 8);
    // The native engine's fidelity is checked for scenario sweeps too, at its smallest batch.
    assert.deepEqual(plan.fidelity.map((f) => [f.spec, f.batch, f.choice.label]), [['standard/d2/w16/r32', 1, 'torch']]);
    assert.equal(plan.baseline, 'torch');
    const longer = planStudy(parseStudy({ ...base, engines: ['ort:threads=1', 'torch'], scenario: { name: 'offline', streams: [1, 2], seconds: 5 } }, 's.yaml'));
    assert.equal(longer.scenarios.filter((s) => plan.scenarios.some((p) => p.key === s.key)).length, 0, 'a longer run is a new measurement');
    const single = planStudy(parseStudy({ ...base, engines: ['ort:threads=1', 'torch'] }, 's.yaml'));
    assert.ok(single.trials.every((t) => !plan.scenarios.some((s) => s.key === t.key)));
  });

  it('the throughput preset: 6 patterns at depth 30, width 64, batch 1–32, offline, native and accelerated', () => {
    const all = new Map(['ort', 'torch', 'tfjs-wasm'].map((n) => [n, { available: true as const }]));
    const plan = planStudy(presetStudy('throughput', presetEngines(all)));
    assert.equal(plan.trials.length, 0);
    assert.equal(plan.scenarios.length, 6 * 6 * 2);
    assert.deepEqual([...new Set(plan.scenarios.map((s) => s.batch))], [1, 2, 4, 8, 16, 32]);
    assert.deepEqual([...new Set(plan.scenarios.map((s) => s.choice.label))], ['torch', 'ort']);
    assert.ok(plan.scenarios.every((s) => s.scenario.name === 'offline' && s.sessions === 1 && s.model.depth === 30 && s.model.width === 64));
    assert.equal(plan.fidelity.length, 6);
  });
});

/** A stored offline run, as the study writes it; the numbers are the test's. */
function offlineRow(model: string, pattern: string, engine: string, role: string, batch: number, imagesPerS: number, over: Partial<StoredScenario> = {}): StoredScenario {
  return {
    scenarioKey: `${model}|${engine}|${batch}|${over.sessions ?? 1}`,
    fingerprint: 'fp',
    study: 'throughput',
    sweep: 'throughput',
    model,
    modelKind: 'pattern',
    pattern,
    depth: 30,
    width: 64,
    resolution: 224,
    batch,
    engine,
    engineName: engine,
    engineRole: role,
    engineVersion: '1',
    gpuAdapter: null,
    scenario: 'offline',
    sessions: 1,
    threads: `${engine} (threads not set) × 1 session on 2 cores`,
    status: 'ok',
    reason: null,
    macsPerSample: 1e9,
    imagesPerS,
    queries: 10,
    p50Ms: null,
    p90Ms: null,
    p99Ms: null,
    targetRatePerS: null,
    achievedRatePerS: null,
    p99BoundMs: null,
    p99Met: null,
    peakRatePerS: null,
    overlapFraction: null,
    loadMs: 10,
    firstRunMs: 5,
    warmMedianMs: 2,
    peakRssBytes: 2 ** 28,
    outputRelativeError: 1e-7,
    result: { model, engine, batch, sessions: 1, threads: { sessions: 1, cores: 2, oversubscribed: false, label: 'x' }, imagesPerS },
    startedAt: '2026-12-02T08:00:00.000Z',
    finishedAt: `2026-12-02T08:00:${String(batch).padStart(2, '0')}.000Z`,
    ...over,
  };
}

describe('the throughput finding', () => {
  it('per-image time growth on each engine and the gain at both ends, from the rows alone', () => {
    const rows = [
      // Native: per-image time doubles from batch 1 to 32 (throughput halves); accelerated: flat.
      offlineRow('standard/d30/w64', 'standard', 'torch', 'native', 1, 100),
      offlineRow('standard/d30/w64', 'standard', 'torch', 'native', 32, 50),
      offlineRow('standard/d30/w64', 'standard', 'ort', 'accelerated', 1, 200),
      offlineRow('standard/d30/w64', 'standard', 'ort', 'accelerated', 32, 200),
      // A second session count at batch 32 that was slower: the best one counts.
      offlineRow('standard/d30/w64', 'standard', 'ort', 'accelerated', 32, 150, { sessions: 2, scenarioKey: 'two' }),
      // Failed and mismatched runs are never counted.
      offlineRow('standard/d30/w64', 'standard', 'ort', 'accelerated', 32, 9999, { status: 'mismatch', scenarioKey: 'bad' }),
      offlineRow('grouped/d30/w64', 'grouped', 'torch', 'native', 1, 40),
      offlineRow('grouped/d30/w64', 'grouped', 'torch', 'native', 32, 40),
      offlineRow('grouped/d30/w64', 'grouped', 'ort', 'accelerated', 1, 80),
      offlineRow('grouped/d30/w64', 'grouped', 'ort', 'accelerated', 32, 160),
    ];
    const [f, ...rest] = throughputFindings(throughputPoints(rows));
    assert.equal(rest.length, 0);
    // Gains: standard 2× → 4×, grouped 2× → 4×: both ends' geometric means 2 and 4.
    assert.equal(f!.value, 2);
    assert.match(f!.text, /torch's per-image time changes by 1\.41× and ort's by 0\.71×/);
    assert.match(f!.text, /torch's grows by more than 15% for 1 of 2, and ort's stays within ±15% for 1 of 2/);
    assert.match(f!.text, /ort's throughput is 2\.00× torch's at the smallest batch and 4\.00× at the largest/);
    assert.match(f!.text, /standard\/d30\/w64: 100\.0 → 50\.0 vs 200\.0 → 200\.0 images\/s \(2\.00× → 4\.00×\)/);
    assert.ok(!f!.trialKeys.includes('bad') && !f!.trialKeys.includes('two'));
  });

  it('a software GPU is never an accelerated line', () => {
    const soft = { software: true, vendor: 'google', architecture: 'swiftshader', device: 'SwiftShader', driver: 'SwiftShader', backend: 'vulkan', features: [], source: 'test' };
    const rows = [
      offlineRow('standard/d30/w64', 'standard', 'torch', 'native', 1, 100),
      offlineRow('standard/d30/w64', 'standard', 'torch', 'native', 32, 50),
      offlineRow('standard/d30/w64', 'standard', 'ort-webgpu', 'gpu-accelerated', 1, 10, { gpuAdapter: soft as unknown as StoredScenario['gpuAdapter'] }),
      offlineRow('standard/d30/w64', 'standard', 'ort-webgpu', 'gpu-accelerated', 32, 12, { gpuAdapter: soft as unknown as StoredScenario['gpuAdapter'] }),
    ];
    assert.deepEqual(throughputFindings(throughputPoints(rows)), []);
    assert.ok(throughputPoints(rows).some((p) => p.engine === 'ort-webgpu (software GPU)'));
  });
});

describe('the scenarios table', () => {
  it('keeps a run with its figures and whole result; a re-measurement replaces it', async () => {
    const store = await ResultStore.open(join(dir, 'table', 'results.duckdb'));
    try {
      const row = offlineRow('standard/d30/w64', 'standard', 'ort', 'accelerated', 4, 123.5);
      await store.insertScenario(row);
      await store.insertScenario({ ...row, imagesPerS: 130, result: { ...row.result, imagesPerS: 130 } });
      const [back, ...more] = await store.scenarios();
      assert.equal(more.length, 0);
      assert.deepEqual(back, { ...row, imagesPerS: 130, result: { ...row.result, imagesPerS: 130 } });
      assert.deepEqual([...(await store.storedScenarios('fp'))], [[row.scenarioKey, 'ok']]);
    } finally {
      store.close();
    }
  });
});

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('formbench study with an offline scenario', () => {
  it('stores every run with its outputs checked, resumes, and reports throughput', async () => {
    const file = join(dir, 'offline.yaml');
    const out = join(dir, 'offline-out');
    writeFileSync(file, 'name: offline-small\nmodels: [standard/d2/w16/r32]\nengines: [ort:threads=1, test-wrong]\nbatches: [1, 2]\nscenario: { name: offline, seconds: 0.5, warmupSeconds: 0.2 }\n');
    const env = { FORMBENCH_ENGINE_MODULES: fixture('failing-engines.js') };
    const r = await runCli(['study', file, '--out', out], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /offline-small: 1 model × batch 1,2 × ort:threads=1, test-wrong · offline, 1 session, 0\.5 s per point/);
    assert.match(r.stderr, /4 trials \(4 of them scenario runs\): 0 already stored/);
    assert.match(r.stderr, /\[4\/4\] offline standard\/d2\/w16\/r32 batch 2 test-wrong × 1: mismatch [\d.]+ images\/s \(outputs differ from ort:opt=disabled/);
    assert.match(r.stderr, /4 trials run \(0 failed, 2 mismatched\)/);
    const store = await ResultStore.open(join(out, 'results.duckdb'));
    let rows: StoredScenario[];
    try {
      rows = await store.scenarios();
    } finally {
      store.close();
    }
    assert.deepEqual(rows.map((x) => [x.engine, x.batch, x.status]), [['ort:threads=1', 1, 'ok'], ['test-wrong', 1, 'mismatch'], ['ort:threads=1', 2, 'ok'], ['test-wrong', 2, 'mismatch']]);
    for (const x of rows) {
      assert.ok(x.imagesPerS! > 0 && x.queries! > 0 && x.loadMs! >= 0 && x.peakRssBytes! > 0);
      assert.match(x.threads, x.engine === 'test-wrong' ? /^test-wrong \(threads not set\) × 1 session on \d+ cores?$/ : /^ort:threads=1 × 1 session = 1 thread on \d+ cores?$/);
    }
    assert.ok(rows.filter((x) => x.status === 'ok').every((x) => x.outputRelativeError! < 1e-5));
    assert.ok(rows.filter((x) => x.status === 'mismatch').every((x) => x.outputRelativeError! > 0.1));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /4 scenario runs \(2 ok\)/);
    assert.match(html, /<h2 id="scenarios">Scenarios<\/h2>/);
    assert.ok(existsSync(join(out, 'figures', 'throughput-vs-batch.svg')));
    assert.ok(existsSync(join(out, 'tables', 'scenarios.csv')));

    // `results --table scenarios` exports the runs with their machine, as `results` does trials.
    const exported = await runCli(['results', out, '--table', 'scenarios', '--format', 'json']);
    assert.equal(exported.code, 0, exported.stderr);
    const json = JSON.parse(exported.stdout) as { engine: string; status: string; images_per_s: number; cpu_model: string; result: string }[];
    assert.deepEqual(json.map((x) => [x.engine, x.status]), rows.map((x) => [x.engine, x.status]));
    assert.ok(json.every((x) => x.images_per_s > 0 && x.cpu_model.length > 0 && JSON.parse(x.result) !== null));
    const csv = await runCli(['results', out, '--table', 'scenarios']);
    assert.equal(csv.stdout.trim().split('\n').length, 5, csv.stdout);
    const bad = await runCli(['results', out, '--table', 'samples']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--table.*samples.*trials, scenarios/);

    const again = await runCli(['study', file, '--out', out, '--no-report'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /4 trials \(4 of them scenario runs\): 4 already stored for this machine \(\w+\), 0 to run/);
    assert.match(again.stderr, /0 trials run \(0 failed, 0 mismatched\), 4 already stored/);
  });
});
