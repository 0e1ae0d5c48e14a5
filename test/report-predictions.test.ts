/** The report's latency-prediction section on hand-made held-out checks with known errors. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeReport } from '../src/report/index.js';
import { predictionAccuracyTable, predictionSpeedupTable } from '../src/report/predictions.js';
import { decodeTrial, ResultStore, type StoredPredictionCheck } from '../src/store/index.js';
import { fakeStudyRows } from './fixtures/result-rows.js';
import { testTempDir } from './temp-dir.js';

/** A check whose prediction is `error` above (or below, if negative) the measured 10 ms. */
const check = (engine: string, model: string, heldOut: string, error: number, measuredMs = 10, measuredRoundsMs: number[] = []): StoredPredictionCheck => ({ fingerprint: 'machine-a', engine, engineVersion: '1.0', model, heldOut, batch: 1, predictedMs: measuredMs * (1 + error), measuredMs, measuredRoundsMs, speedScale: 1, checkedAt: '2026-12-03T07:00:00.000Z' });

// ort: patterns off by 3%, −8%, 12%, 20%; one reference off by 4%; two patterns measured in two
// rounds, 5% and 25% apart. torch: the same networks, 20 ms, exact, each measured once.
const CHECKS: StoredPredictionCheck[] = [
  check('ort', 'standard/d7/w80', 'pattern', 0.03, 2, [2, 2.1]),
  check('ort', 'grouped/d7/w80', 'pattern', -0.08, 4, [5, 4]),
  check('ort', 'bottleneck/d7/w80', 'pattern', 0.12, 6),
  check('ort', 'factorized/d7/w80', 'pattern', 0.2, 8),
  check('ort', 'mobilenet_v2', 'reference', 0.04, 5),
  ...['standard/d7/w80', 'grouped/d7/w80', 'bottleneck/d7/w80', 'factorized/d7/w80', 'mobilenet_v2'].map((m) => check('torch', m, m.includes('/') ? 'pattern' : 'reference', 0, 20)),
];

describe('latency predictions in the report', () => {
  it('gives each engine its share within ±5% and ±10%, its median error and ρ, per held-out group', () => {
    const t = predictionAccuracyTable(CHECKS);
    assert.deepEqual(t.rows, [
      // Errors 0.03, 0.08, 0.12, 0.2: one within 5%, two within 10%, median 0.10; ranks agree (ρ = 1).
      // The rounds: 2 → 2.1 within 10%, 5 → 4 not (|5/4 − 1| = 25%).
      ['ort', 'pattern', 4, '25.0%', '50.0%', '10.0%', 1, '50.0%'],
      ['ort', 'reference', 1, '100.0%', '100.0%', '4.0%', null, null],
      ['ort', 'all', 5, '40.0%', '60.0%', '8.0%', 1, '50.0%'],
      ['torch', 'pattern', 4, '100.0%', '100.0%', '0.0%', null, null],
      ['torch', 'reference', 1, '100.0%', '100.0%', '0.0%', null, null],
      ['torch', 'all', 5, '100.0%', '100.0%', '0.0%', null, null],
    ]);
  });

  it('pairs each accelerated engine with each native one by the study\'s roles', () => {
    // Predicted speed-up = 20 / (measured·(1+e)) against measured 20 / measured: off by 1/(1+e) − 1,
    // within 15% for e = 0.03, −0.08, 0.12, 0.04 and not for 0.2 (−16.7%).
    const t = predictionSpeedupTable(CHECKS, fakeStudyRows().map(decodeTrial));
    assert.deepEqual(t.rows, [['ort', 'torch', 5, '80.0%']]);
    assert.deepEqual(predictionSpeedupTable(CHECKS, []).rows, [], 'no trial says which engine is native');
  });

  it('is a section of the report where the store holds checks of the report\'s machine, and absent otherwise', async () => {
    const dir = testTempDir('fb-predictions-');
    const store = await ResultStore.open(join(dir, 'results.duckdb'));
    try {
      for (const row of fakeStudyRows()) await store.insert(row);
      await writeReport(store, dir);
      assert.doesNotMatch(readFileSync(join(dir, 'report.html'), 'utf8'), /id="predictions"/);
      await store.calibration().insertChecks([...CHECKS, { ...check('ort', 'resnet18', 'reference', 0.5), fingerprint: 'another-machine' }]);
      await writeReport(store, dir);
      // The rounds come back from the store as they went in.
      const back = (await store.calibration().checks('machine-a')).find((c) => c.engine === 'ort' && c.model === 'grouped/d7/w80');
      assert.deepEqual(back!.measuredRoundsMs, [5, 4]);
    } finally {
      store.close();
    }
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /<h2 id="predictions">Latency predictions<\/h2>/);
    assert.match(html, /last run 2026-12-03T07:00:00.000Z/);
    const csv = readFileSync(join(dir, 'tables', 'prediction-accuracy.csv'), 'utf8');
    assert.match(csv, /ort,pattern,4,25.0%,50.0%,10.0%,1/);
    assert.match(csv, /ort,reference,1,100.0%,100.0%,4.0%,/, "another machine's check is not this machine's accuracy");
  });
});
