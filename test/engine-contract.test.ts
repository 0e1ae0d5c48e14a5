/**
 * The engine contract end to end: bad option values are one clean error before any trial, from
 * every command that takes engines; and an engine registered at run time (the deterministic fake
 * engines of fixtures/fake-engines.ts, loaded through FORMBENCH_ENGINE_MODULES) runs through
 * bench, study and the report with no file of formbench changed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ENGINE_MODULES_ENV } from '../src/engines/index.js';
import { ResultStore } from '../src/store/index.js';
import { runCli, type CliRun } from './cli-helpers.js';
import { FAKE_GPU_ADAPTER } from './fixtures/fake-engines.js';
import { testTempDir } from './temp-dir.js';

const FAKE = fileURLToPath(new URL('./fixtures/fake-engines.js', import.meta.url));
const tmp = testTempDir('formbench-contract-');
after(() => rmSync(tmp, { recursive: true, force: true }));

const formbench = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runCli(args, { cwd: tmp, env });

const withFakes = { [ENGINE_MODULES_ENV]: FAKE };
const MODEL = 'standard/d2/w16/r32';

describe('engine options are checked when the choice is made', () => {
  const studyWith = (engine: string): string => {
    const file = join(tmp, `bad-${engine.replace(/[^a-z]/g, '')}.yaml`);
    writeFileSync(file, `name: bad\nmodels: [${MODEL}]\nengines: ["${engine}"]\n`);
    return file;
  };
  const cases: [string, RegExp][] = [
    ['ort:threads=abc', /option threads=abc of engine ort: must be a positive integer/],
    ['ort:opt=fast', /option opt=fast of engine ort is not one of disabled, basic, extended, all/],
    ['torch:layout=x', /option layout=x of engine torch is not one of nchw, channels_last/],
    ['ort:threads=100000', /option threads=100000 of engine ort: must be at most \d+/],
  ];
  for (const [engine, message] of cases) {
    it(`${engine}: one line, exit 2, from bench, study, study --dry-run and profile`, async () => {
      const out = join(tmp, 'never');
      const runs = await Promise.all([
        formbench(['bench', MODEL, '--engines', engine]),
        formbench(['study', studyWith(engine), '--out', out]),
        formbench(['study', studyWith(engine), '--dry-run', '--out', out]),
        formbench(['profile', MODEL, '--engine', engine]),
      ]);
      for (const r of runs) {
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /^formbench: error: .*\(hint: /);
      }
      // Nothing ran and nothing was written: the store was never created.
      assert.ok(!existsSync(out));
    });
  }
});

describe('an engine registered at run time', () => {
  it('runs through bench with deterministic times: fake-accel is exactly 4× fake-native', async () => {
    const r = await formbench(['bench', MODEL, '--engines', 'fake-native,fake-accel', '--json'], withFakes);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { trials: { engine: string; status: string; outputsMatch: boolean; maxAbsError: number }[]; speedups: { engine: string; ratio: number }[] };
    assert.deepEqual(result.trials.map((t) => [t.engine, t.status]), [['fake-native', 'ok'], ['fake-accel', 'ok']]);
    // Outputs come from onnxruntime, so they match the reference engine's.
    assert.ok(result.trials.every((t) => t.outputsMatch && t.maxAbsError === 0), r.stdout);
    assert.equal(result.speedups.length, 1);
    assert.ok(Math.abs(result.speedups[0]!.ratio - 4) < 1e-9, `speed-up ${result.speedups[0]!.ratio}`);
  });

  it('has its options parsed by the registry like any other engine', async () => {
    const r = await formbench(['bench', MODEL, '--engines', 'fake-accel:gain=-1'], withFakes);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /option gain=-1 of engine fake-accel: must be a positive number/);
  });

  it('runs through study, the store and the report', async () => {
    const file = join(tmp, 'fake.yaml');
    writeFileSync(file, `name: fake\nmodels: [${MODEL}, depthwise-separable/d2/w16/r32]\nengines: [fake-native, "fake-accel:gain=2.5"]\nbatches: [1]\n`);
    const out = join(tmp, 'fake-out');
    const r = await formbench(['study', file, '--out', out], withFakes);
    assert.equal(r.code, 0, r.stderr);
    const store = await ResultStore.open(join(out, 'results.duckdb'));
    try {
      const rows = await store.rows();
      assert.equal(rows.length, 4);
      assert.ok(rows.every((row) => row.status === 'ok'), JSON.stringify(rows.map((row) => row.reason)));
      // Each trial's lifecycle reaches the store: the worker tree's peak, CPU ÷ wall, energy or why not.
      for (const row of rows) {
        assert.ok(row.peakRssBytes! > 50 * 2 ** 20 && row.rssStartBytes! > 0 && row.rssGrowthBytes !== null, JSON.stringify(row));
        assert.ok(row.cpuMs! >= 0 && (row.cpuPerWall === null || row.cpuPerWall > 0), JSON.stringify(row));
        assert.ok((row.energyJoulesPerInference === null) !== (row.energyUnsupported === null), JSON.stringify(row));
      }
      const fidelity = await store.fidelity();
      assert.equal(fidelity.length, 2);
      assert.ok(fidelity.every((f) => f.status === 'ok' && Math.abs(f.ratio! - 1) < 1e-9), JSON.stringify(fidelity));
    } finally {
      store.close();
    }
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /fake-accel:gain=2\.5/);
    assert.match(html, /fake-native/);
    // The findings come out exact: the fake engines differ by their rates and nothing else.
    assert.match(html, /depthwise-separable gains most from acceleration \(2\.50× over fake-native/);
    assert.match(readFileSync(join(out, 'tables', 'fidelity.csv'), 'utf8'), /fake-native,standard\/d2\/w16\/r32,1,the fake engine itself,[\d.]+,[\d.]+,1,1,1,/);
    // Resuming runs nothing: the new engine's trial keys are as stable as any.
    const again = await formbench(['study', file, '--out', out, '--no-report'], withFakes);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /0 trials run .* 4 already stored/);
  });

  it('a GPU engine\'s trials are stored with their adapter, placement and first run, a failed one with its adapter, and a software adapter is labelled in the report', async () => {
    const file = join(tmp, 'fake-gpu.yaml');
    writeFileSync(file, `name: fake-gpu\nmodels: [${MODEL}]\nengines: [fake-native, fake-gpu, "fake-gpu:precision=fp16"]\nbatches: [1]\n`);
    const out = join(tmp, 'fake-gpu-out');
    const r = await formbench(['study', file, '--out', out, '--allow-software-gpu'], withFakes);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^note: 2 trials ran on a software GPU .* left out of every speed-up/m);
    const store = await ResultStore.open(join(out, 'results.duckdb'));
    try {
      const trials = await store.trials();
      const native = trials.find((t) => t.engine === 'fake-native')!;
      const gpu = trials.find((t) => t.engine === 'fake-gpu')!;
      const failed = trials.find((t) => t.engine === 'fake-gpu:precision=fp16')!;
      assert.ok(native.firstRunMs! > 0, 'every trial keeps its first run');
      assert.deepEqual([native.gpuAdapter, native.placement], [null, null]);
      assert.equal(gpu.status, 'ok', gpu.reason ?? '');
      assert.ok(gpu.firstRunMs! > 0);
      assert.deepEqual(gpu.gpuAdapter, FAKE_GPU_ADAPTER);
      assert.deepEqual(gpu.placement!.macKernels, { webgpu: 3 }, 'standard/d2: the stem and one Conv per block');
      assert.equal(failed.status, 'failed');
      assert.match(failed.reason!, /shader-f16/);
      assert.deepEqual(failed.gpuAdapter, FAKE_GPU_ADAPTER, 'the adapter it failed on');
      assert.equal(failed.placement, null);
    } finally {
      store.close();
    }
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /<b>Software GPU:<\/b> 2 trials ran on a software GPU \(SwiftShader driver 5\.0\.0 \(google swiftshader, vulkan, software GPU\)\)/);
    assert.match(html, /<td>fake-gpu:precision=fp16 \(software GPU\)<\/td><td class="failed">failed/);
    assert.doesNotMatch(html, /Average speed-up of fake-gpu/);
  });
});
