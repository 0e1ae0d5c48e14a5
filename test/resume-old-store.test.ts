/**
 * A store written before the renovation (fixtures/old-store: the study in study.yaml, run with
 * commit bea6360) resumes with nothing re-run: trial keys, and the way options enter them, have
 * not changed.
 */
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ResultStore } from '../src/store/index.js';
import { loadStudy, planStudy, runStudy, type StudyEvent } from '../src/study/index.js';
import { fakeGpuRows, HARDWARE_ADAPTER } from './fixtures/result-rows.js';
import { testTempDir } from './temp-dir.js';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/old-store/', import.meta.url));
const tmp = testTempDir('formbench-old-store-');
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('a store written before the change', () => {
  it('resumes with 0 trials re-run', async () => {
    const path = join(tmp, 'results.duckdb');
    copyFileSync(join(FIXTURE, 'results.duckdb'), path);
    const store = await ResultStore.open(path);
    try {
      // The machine that wrote it: resuming is per machine, so act as that one.
      const [env] = await store.environments();
      assert.ok(env);
      const plan = planStudy((await loadStudy(join(FIXTURE, 'study.yaml'))).study);
      assert.equal(plan.trials.length, 20);
      const stored = await store.storedTrials(env.fingerprint);
      assert.deepEqual(plan.trials.map((t) => stored.get(t.key)), plan.trials.map(() => 'ok'));
      const events: StudyEvent[] = [];
      await runStudy(plan, store, env, { onEvent: (e) => events.push(e) });
      const start = events.find((e) => e.type === 'start');
      const done = events.find((e) => e.type === 'done');
      assert.deepEqual(start && { toRun: start.toRun, alreadyStored: start.alreadyStored }, { toRun: 0, alreadyStored: 20 });
      assert.equal(done?.type === 'done' ? done.ran : undefined, 0);
      assert.equal((await store.rows()).length, 20);
    } finally {
      store.close();
    }
  });

  it('gains the GPU columns: its trials read them as null, and a GPU trial stored beside them reads back whole', async () => {
    const path = join(tmp, 'gpu-columns.duckdb');
    copyFileSync(join(FIXTURE, 'results.duckdb'), path);
    const store = await ResultStore.open(path);
    try {
      const old = await store.trials();
      assert.equal(old.length, 20);
      assert.ok(old.every((t) => t.firstRunMs === null && t.gpuAdapter === null && t.placement === null));
      // The old table gained the columns at its end; the row goes in by column name all the same.
      const [env] = await store.environments();
      const gpu = { ...fakeGpuRows(HARDWARE_ADAPTER)[0]!, fingerprint: env!.fingerprint, finishedAt: '2099-01-01T00:00:00.000Z' };
      await store.insert(gpu);
      assert.deepEqual((await store.rows()).at(-1), gpu);
      const back = (await store.trials()).at(-1)!;
      assert.deepEqual(back.gpuAdapter, HARDWARE_ADAPTER);
      assert.equal(back.firstRunMs, gpu.firstRunMs);
    } finally {
      store.close();
    }
  });
});
