/**
 * The report's lifecycle table and its warnings, from hand-made rows: a trial measured on a machine
 * with cpufreq and RAPL (13 GB at its peak, a leak, a throttled CPU), one on a VM without either,
 * and one from a store older than the columns. Golden CSV, then the files and the page.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { lifecycleTable, lifecycleWarnings, writeReport } from '../src/report/index.js';
import { tableToCsv } from '../src/report/tables.js';
import { decodeTrial, ResultStore, type ResultRow } from '../src/store/index.js';
import { fakeRow, MEASURED_LIFECYCLE } from './fixtures/result-rows.js';
import { testTempDir } from './temp-dir.js';

const measured: ResultRow = { ...fakeRow({ model: 'standard/d30/w64', pattern: 'standard', depth: 30, width: 64, batch: 8, engine: 'torch', macs: 1e9 }), loadMs: 1200, ...MEASURED_LIFECYCLE };
const vm: ResultRow = {
  ...fakeRow({ model: 'mobilenet_v2', batch: 1, engine: 'ort', macs: 0.3e9 }),
  peakRssBytes: 150 * 2 ** 20,
  estimatedPeakBytes: 160 * 2 ** 20,
  rssStartBytes: 140 * 2 ** 20,
  rssGrowthBytes: 2 ** 20,
  cpuMs: 2000,
  cpuPerWall: 1.9876,
  cpuMhzBefore: 2600,
  cpuMhzAfter: 2600,
  cpuMhzSource: 'cpuinfo',
  energyUnsupported: 'no powercap/RAPL here: /sys/class/powercap is absent',
};
const old: ResultRow = { ...fakeRow({ model: 'resnet50', batch: 1, engine: 'ort', macs: 4.1e9 }), firstRunMs: null };
const failed: ResultRow = fakeRow({ model: 'resnet18', batch: 1, engine: 'torch', macs: 1.8e9, status: 'failed' });
const rows = [measured, vm, old, failed].map(decodeTrial);

describe('the report\'s lifecycle', () => {
  it('is a table of every measured trial, empty cells where a figure was not offered, never 0', () => {
    assert.equal(
      tableToCsv(lifecycleTable(rows)),
      [
        'model,batch,engine,load ms,first-run ms,median ms,first ÷ median,peak RSS MiB,estimated peak MiB,RSS growth MiB,leak?,CPU ÷ wall,MHz before,MHz after,MHz from,throttled?,J per inference,energy',
        'standard/d30/w64,8,torch,1200,250,83.3,3,13517,12288,40,yes,1.97,3400,2800,cpufreq,yes,0.125,RAPL package',
        'mobilenet_v2,1,ort,10,30,10,3,150,160,1,no,1.99,2600,2600,cpuinfo,no,,unsupported: no powercap/RAPL here: /sys/class/powercap is absent',
        'resnet50,1,ort,10,,137,,,,,,,,,,,,',
        '',
      ].join('\n'),
    );
  });

  it('warns of a leak and of throttling, naming the trials and what to do', () => {
    const [leak, throttle] = lifecycleWarnings(rows);
    assert.equal(lifecycleWarnings(rows).length, 2);
    assert.match(leak!, /^1 trial\(s\) grew their resident memory by more than 10% and 32 MiB over the timed runs, after warm-up: standard\/d30\/w64 batch 8 on torch \(\+40 MiB\)\. The engine may leak/);
    assert.match(throttle!, /^the CPU frequency dropped by more than 10% during 1 trial\(s\): standard\/d30\/w64 batch 8 on torch \(18%\)\. The machine throttled/);
    assert.deepEqual(lifecycleWarnings([rows[1]!, rows[2]!]), []);
  });

  it('is written as CSV and Markdown beside the others, with its section and warnings on the page', async () => {
    const dir = testTempDir('formbench-lifecycle-report-');
    const store = await ResultStore.open(join(dir, 'results.duckdb'));
    try {
      for (const r of [measured, vm, old, failed]) await store.insert(r);
      const report = await writeReport(store, dir);
      assert.equal(report.lifecycleWarnings.length, 2);
    } finally {
      store.close();
    }
    assert.equal(readFileSync(join(dir, 'tables', 'lifecycle.csv'), 'utf8'), tableToCsv(lifecycleTable(rows)));
    assert.match(readFileSync(join(dir, 'tables', 'lifecycle.md'), 'utf8'), /^\| model \| batch \| engine \| load ms \| first-run ms \| median ms \|/);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /<h2 id="lifecycle">Trial lifecycle<\/h2>/);
    assert.match(html, /<p class="warning"><b>Warning:<\/b> 1 trial\(s\) grew their resident memory/);
    assert.match(html, /<td>unsupported: no powercap\/RAPL here/);
  });
});
