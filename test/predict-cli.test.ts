/**
 * calibrate, predict and advise as a user runs them: refusals without a calibration (and with
 * another machine's), bad input as one line, and a few seconds of real calibration on ort that
 * predict then uses and a re-run resumes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from './cli-helpers.js';
import { assertOneLineUserError } from './hostile-helpers.js';
import { testTempDir } from './temp-dir.js';
import { ResultStore } from '../src/store/index.js';
import { speedScaleAt } from '../src/predict/speed-check.js';
import { parseEngineChoice } from '../src/engines/index.js';
import { currentEnvironment } from '../src/measure/index.js';
import { loadModels, medianOf, validate, VALIDATE_ROUNDS } from '../src/predict/index.js';

const tmp = testTempDir('formbench-predict-cli-');

describe('formbench predict, calibrate, advise', () => {
  it('refuses to predict without a calibration, in one line', async () => {
    assertOneLineUserError(await runCli(['predict', 'standard/d2/w16', '--out', join(tmp, 'none')]), /no calibration in .*none/);
    assertOneLineUserError(await runCli(['advise', '--budget-ms', '5', '--out', join(tmp, 'none')]), /no calibration in/);
  });

  it("refuses another machine's calibration, naming both fingerprints", async () => {
    const dir = join(tmp, 'elsewhere');
    const store = await ResultStore.open(join(dir, 'results.duckdb'));
    const row = { fingerprint: '0123456789abcdef', engine: 'ort', engineVersion: '1.30.0', featureNames: ['kernelSumMs', 'kernels'], intercept: 0, coefficients: [1, 0], means: [0, 0], scales: [1, 1], samples: 1, probes: 1, fittedAt: new Date().toISOString() };
    await store.calibration().saveModel(row.fingerprint, 'ort', '1.30.0', [{ ...row, kernelClass: 'network' }], []);
    store.close();
    assertOneLineUserError(await runCli(['predict', 'standard/d2/w16', '--engines', 'ort', '--out', dir]), /another machine \(fingerprint 0123456789abcdef, this one is [0-9a-f]{16}\)/);
  });

  it('rejects bad input before any work', async () => {
    assertOneLineUserError(await runCli(['calibrate', '--minutes', '0', '--out', join(tmp, 'bad')]), /minutes/);
    assertOneLineUserError(await runCli(['calibrate', '--engines', 'ort-wasm', '--out', join(tmp, 'bad')]), /ort-wasm has no per-layer profiler/);
    assertOneLineUserError(await runCli(['predict', '--out', join(tmp, 'bad')]), /needs a model spec/);
  });

  it('calibrates ort for seconds, predicts from it with its fusion, refuses an uncalibrated engine, and resumes', async () => {
    const dir = join(tmp, 'cal');
    const first = await runCli(['calibrate', '--engines', 'ort', '--minutes', '0.06', '--out', dir, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const cal = JSON.parse(first.stdout) as { engines: { engine: string; measured: number; resumed: number; fusion: Record<string, number> }[] };
    assert.ok(cal.engines[0]!.measured > 0);
    // ort's profile names Conv+BN+ReLU as one kernel: the signature was learned, not given.
    assert.ok(cal.engines[0]!.fusion['Conv+BatchNormalization+Relu']! > 0, JSON.stringify(cal.engines[0]!.fusion));

    const p = await runCli(['predict', 'standard/d3/w16', '--engines', 'ort', '--out', dir, '--json']);
    assert.equal(p.code, 0, p.stderr);
    const [prediction] = (JSON.parse(p.stdout) as { predictions: { predictions: { latencyMs: number; kernels: { signature: string }[] }[] }[] }).predictions;
    const ort = prediction!.predictions[0]!;
    assert.ok(ort.latencyMs > 0);
    assert.equal(ort.kernels.filter((k) => k.signature === 'Conv+BatchNormalization+Relu').length, 4);

    // The speed check times stored probes again and scales the prediction by the drift it finds
    // near the prediction's latency.
    const checked = await runCli(['predict', 'standard/d3/w16', '--engines', 'ort', '--speed-check', '--out', dir, '--json']);
    assert.equal(checked.code, 0, checked.stderr);
    const out = JSON.parse(checked.stdout) as { speedChecks: { engine: string; ratio: number; probes: { storedMs: number; nowMs: number }[] }[]; predictions: { predictions: { latencyMs: number; speedScale: number }[] }[] };
    const [speed] = out.speedChecks;
    assert.equal(speed!.engine, 'ort');
    assert.ok(speed!.probes.length > 0 && speed!.probes.every((x) => x.storedMs > 0 && x.nowMs > 0));
    assert.ok(speed!.ratio > 0.2 && speed!.ratio < 5, `ratio ${speed!.ratio}`);
    const scaled = out.predictions[0]!.predictions[0]!;
    assert.equal(scaled.speedScale, speedScaleAt(speed!, ort.latencyMs));
    assert.ok(Math.abs(scaled.latencyMs / ort.latencyMs - scaled.speedScale) < 1e-9);
    assert.match(checked.stderr, /speed check of ort: \d+ stored probe networks ran/);

    assertOneLineUserError(await runCli(['predict', 'standard/d3/w16', '--engines', 'ort,ort-wasm', '--out', dir]), /ort-wasm/);

    // Validation measures each network in two rounds, compares the median, and stores both rounds.
    const store = await ResultStore.open(join(dir, 'results.duckdb'));
    try {
      const fingerprint = currentEnvironment().fingerprint;
      const loaded = await loadModels(store.calibration(), [parseEngineChoice('ort')], fingerprint);
      const v = await validate(loaded, store.calibration(), fingerprint, { batch: 1, specs: ['standard/d3/w16', 'mobilenet_v2/r96'] });
      assert.equal(v.checks.length, 2);
      for (const c of v.checks) {
        assert.equal(c.measuredRoundsMs.length, VALIDATE_ROUNDS);
        assert.equal(c.measuredMs, medianOf(c.measuredRoundsMs));
      }
      assert.deepEqual(v.checks.map((c) => c.heldOut).sort(), ['pattern', 'reference']);
      assert.equal(v.engines[0]!.repeatability.networks, 2);
      const stored = await store.calibration().checks(fingerprint);
      assert.deepEqual(stored.map((c) => c.measuredRoundsMs.length), [VALIDATE_ROUNDS, VALIDATE_ROUNDS]);
    } finally {
      store.close();
    }

    const again = await runCli(['calibrate', '--engines', 'ort', '--minutes', '0.03', '--out', dir, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as typeof cal).engines[0]!.resumed, cal.engines[0]!.measured + cal.engines[0]!.resumed);
  });
});
