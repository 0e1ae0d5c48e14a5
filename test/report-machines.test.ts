/**
 * The cross-machine report on hand-made rows whose latency is MACs ÷ a known rate: a CLI machine
 * (torch and ort) and a browser (one engine, at torch's rates), so that every cell has a closed form.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Environment } from '../src/measure/index.js';
import { machinesView, writeReport } from '../src/report/index.js';
import { decodeTrial, ResultStore, type ResultRow } from '../src/store/index.js';
import { fakeRow, fakeStudyRows, macsOf, RATES_GMACS } from './fixtures/result-rows.js';
import { testTempDir } from './temp-dir.js';

const PATTERNS = ['standard', 'factorized', 'bottleneck', 'depthwise-separable', 'depthwise-bottleneck', 'grouped'];

const environment = (fingerprint: string, cpuModel: string, device?: string): Environment => ({ fingerprint, cpuModel, isa: ['avx2'], logicalCores: 2, memoryGiB: 24, os: 'linux', nodeVersion: 'v20', ...(device ? { device } : {}) });

/** The browser's depth series at batch 1, on one engine timed at torch's rates, finished after the CLI's rows. */
function browserRows(fingerprint = 'browser-b'): ResultRow[] {
  return PATTERNS.flatMap((pattern) =>
    [10, 20, 30].map((depth) => ({ ...fakeRow({ model: `${pattern}/d${depth}/w64`, pattern, depth, width: 64, batch: 1, engine: 'ort-web:backend=wasm', rates: 'torch', role: 'accelerated', macs: macsOf(pattern, depth), fingerprint }), finishedAt: '2026-11-24T09:00:00.000Z' })),
  );
}

const DEVICE = JSON.stringify({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156', crossOriginIsolated: true });
const ENVIRONMENTS = [environment('machine-a', 'AMD EPYC 7B13'), environment('browser-b', 'Chromium 156 on Linux x86_64 (browser)', DEVICE)];

describe('cross-machine report', () => {
  it('is absent while the store holds one machine, or a second one with no successful trial', () => {
    const one = fakeStudyRows().map(decodeTrial);
    assert.equal(machinesView(one, ENVIRONMENTS), undefined);
    const failedElsewhere = [...fakeStudyRows(), fakeRow({ model: 'standard/d10/w64', pattern: 'standard', depth: 10, width: 64, batch: 1, engine: 'ort', macs: 1, status: 'failed', fingerprint: 'browser-b' })].map(decodeTrial);
    assert.equal(machinesView(failedElsewhere, ENVIRONMENTS), undefined);
  });

  const rows = [...fakeStudyRows(), ...browserRows()].map(decodeTrial);
  const view = machinesView(rows, ENVIRONMENTS)!;

  it('lists each machine with its engines, its native engine and its device, the busiest as the reference', () => {
    assert.deepEqual(
      view.machines.map((m) => [m.label, m.engines, m.native ?? null, m.device ?? null]),
      [
        ['AMD EPYC 7B13 · 2 cores · 24 GiB', ['torch', 'ort'], 'torch', null],
        ['Chromium 156 on Linux x86_64 (browser) · 2 cores · 24 GiB', ['ort-web:backend=wasm'], null, DEVICE],
      ],
    );
    assert.equal(view.reference.fingerprint, 'machine-a');
    assert.deepEqual(view.figures.map((f) => f.id), ['machines-latency-vs-depth', 'form-vs-device-speedup', 'form-vs-device-latency']);
  });

  it('gives each pattern its speed-up over the machine\'s own native engine, leaving out a machine without one', () => {
    const speedup = view.figures.find((f) => f.id === 'form-vs-device-speedup')!;
    // Every ort point of a pattern is ort's rate ÷ torch's: their geometric mean is that ratio, over
    // 3 depths × 2 batches and 3 widths.
    for (const pattern of PATTERNS) {
      const row = speedup.table.rows.find((r) => r[2] === pattern)!;
      assert.equal(row[1], 'ort · on AMD EPYC 7B13 · 2 cores · 24 GiB');
      assert.ok(Math.abs((row[3] as number) - RATES_GMACS['ort']![pattern]! / RATES_GMACS['torch']![pattern]!) < 1e-2, `${pattern}: ${row[3]}`);
      assert.equal(row[4], 9);
    }
    assert.equal(speedup.table.rows.length, PATTERNS.length);
    assert.match(speedup.caption, /no native engine: Chromium 156/);
  });

  it('gives each pattern the machine\'s latency over the reference\'s on the same models, each at its fastest engine', () => {
    const latency = view.figures.find((f) => f.id === 'form-vs-device-latency')!;
    for (const pattern of PATTERNS) {
      const row = latency.table.rows.find((r) => r[2] === pattern)!;
      // The reference's fastest is ort; the browser's one engine runs at torch's rates. Batch 1 only: 3 depths.
      assert.ok(Math.abs((row[3] as number) - RATES_GMACS['ort']![pattern]! / RATES_GMACS['torch']![pattern]!) < 1e-2, `${pattern}: ${row[3]}`);
      assert.equal(row[4], 3);
    }
    assert.match(latency.caption, /AMD EPYC 7B13 · 2 cores · 24 GiB: ort; Chromium 156 .*: ort-web:backend=wasm/);
  });

  it('tells two machines that read alike apart by their fingerprints', () => {
    const twins = [...fakeStudyRows(), ...browserRows('machine-c')].map(decodeTrial);
    const labels = machinesView(twins, [environment('machine-a', 'Xeon'), environment('machine-c', 'Xeon')])!.machines.map((m) => m.label);
    assert.deepEqual(labels, ['Xeon · 2 cores · 24 GiB (machine-a)', 'Xeon · 2 cores · 24 GiB (machine-c)']);
  });

  it("names a fleet's machine class, from its export's device description", () => {
    const classes = [environment('machine-a', 'Xeon', JSON.stringify({ fleet: 'split', class: 'alpha', workers: ['w0'] })), environment('machine-c', 'Xeon', '{not json')];
    const labels = machinesView([...fakeStudyRows(), ...browserRows('machine-c')].map(decodeTrial), classes)!.machines.map((m) => m.label);
    assert.deepEqual(labels, ['class alpha · Xeon · 2 cores · 24 GiB', 'Xeon · 2 cores · 24 GiB']);
  });

  it('writes the Machines section, its figures and its table from a store, with the device kept in it', async () => {
    const dir = testTempDir('fb-machines-');
    const store = await ResultStore.open(join(dir, 'results.duckdb'));
    try {
      for (const env of ENVIRONMENTS) await store.recordEnvironment(env);
      for (const row of [...fakeStudyRows(), ...browserRows()]) await store.insert(row);
      assert.deepEqual((await store.environments()).map((e) => e.device ?? null), [null, DEVICE]);
      await writeReport(store, dir);
    } finally {
      store.close();
    }
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /<h2 id="machines">Machines in this store<\/h2>/);
    assert.match(html, /are not in this machine's figures; <a href="#machines">Machines<\/a> compares every machine/);
    for (const id of ['machines-latency-vs-depth', 'form-vs-device-speedup', 'form-vs-device-latency']) {
      assert.ok(existsSync(join(dir, 'figures', `${id}.svg`)), id);
      assert.ok(existsSync(join(dir, 'tables', `${id}.csv`)), id);
    }
    assert.match(readFileSync(join(dir, 'tables', 'machines.csv'), 'utf8'), /Chromium 156 on Linux x86_64 \(browser\)/);
  });
});
