/**
 * The lifecycle columns in the store: a fresh store gives every one back, an unsupported figure
 * stays null (with the reason for energy), and a store written before the columns existed gains
 * them at the end of its table: its trials read null, a new trial beside them reads back whole.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ResultStore } from '../src/store/index.js';
import { fakeRow, MEASURED_LIFECYCLE } from './fixtures/result-rows.js';
import { testTempDir } from './temp-dir.js';

const OLD_STORE = fileURLToPath(new URL('../../test/fixtures/old-store/results.duckdb', import.meta.url));
const LIFECYCLE_KEYS = Object.keys(MEASURED_LIFECYCLE) as (keyof typeof MEASURED_LIFECYCLE)[];
const tmp = testTempDir('formbench-lifecycle-store-');

describe('lifecycle columns in the store', () => {
  it('come back as stored: measured figures, negative growth, and null where unsupported with the reason', async () => {
    const store = await ResultStore.open(join(tmp, 'fresh.duckdb'));
    try {
      const measured = { ...fakeRow({ model: 'standard/d10/w64', pattern: 'standard', depth: 10, width: 64, batch: 8, engine: 'ort', macs: 9.28e9 }), ...MEASURED_LIFECYCLE };
      const vm = { ...fakeRow({ model: 'resnet50', batch: 1, engine: 'torch', macs: 4.1e9, finishedAt: '2026-11-23T09:00:00.000Z' }), peakRssBytes: 3e8, rssStartBytes: 2.9e8, rssGrowthBytes: -4096, cpuMs: 480, cpuPerWall: 0.96, cpuMhzBefore: 2600, cpuMhzAfter: 2600, cpuMhzSource: 'cpuinfo', energyUnsupported: 'no powercap/RAPL here: /sys/class/powercap is absent' };
      await store.insert(measured);
      await store.insert(vm);
      const [a, b] = await store.trials();
      assert.deepEqual(LIFECYCLE_KEYS.map((k) => a![k]), LIFECYCLE_KEYS.map((k) => measured[k]));
      assert.deepEqual(LIFECYCLE_KEYS.map((k) => b![k]), LIFECYCLE_KEYS.map((k) => vm[k]));
      assert.equal(b!.energyJoulesPerInference, null, 'unsupported is null, never 0');
    } finally {
      store.close();
    }
  });

  it('are added to a store written before them: its trials read null, and a new trial reads back whole', async () => {
    const path = join(tmp, 'old.duckdb');
    copyFileSync(OLD_STORE, path);
    const store = await ResultStore.open(path);
    try {
      const old = await store.trials();
      assert.equal(old.length, 20);
      assert.ok(old.every((t) => LIFECYCLE_KEYS.every((k) => t[k] === null)), 'old trials have no lifecycle');
      const [env] = await store.environments();
      const row = { ...fakeRow({ model: 'mobilenet_v2', batch: 1, engine: 'ort', macs: 0.3e9, finishedAt: '2099-01-01T00:00:00.000Z' }), fingerprint: env!.fingerprint, ...MEASURED_LIFECYCLE };
      await store.insert(row);
      assert.deepEqual((await store.rows()).at(-1), row);
    } finally {
      store.close();
    }
    // Reopened: the columns are there once, and nothing is added twice.
    const again = await ResultStore.open(path);
    try {
      assert.equal((await again.rows()).length, 21);
    } finally {
      again.close();
    }
  });
});
