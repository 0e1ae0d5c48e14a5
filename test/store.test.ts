import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { UserError } from '../src/errors.js';
import { decodeTrial, encodeTrial, ResultStore } from '../src/store/index.js';
import { fakeFidelity } from './fixtures/fidelity-records.js';
import { fakeGpuRows, fakeRow, HARDWARE_ADAPTER, SOFTWARE_ADAPTER } from './fixtures/result-rows.js';
import { testTempDir } from './temp-dir.js';

const dir = testTempDir('formbench-store-test-');
after(() => rmSync(dir, { recursive: true, force: true }));

describe('results store', () => {
  it('gives back every field of a stored row, raw samples included', async () => {
    const store = await ResultStore.open(join(dir, 'a', 'results.duckdb'));
    const row = { ...fakeRow({ model: 'standard/d10/w64', pattern: 'standard', depth: 10, width: 64, batch: 8, engine: 'ort', macs: 9.28e9 }), samplesMs: [1.25, 1.5, 1.125] };
    await store.insert(row);
    const [back] = await store.rows();
    assert.deepEqual(back, row);
    store.close();
  });

  it('hands readers typed trials: options, kernel precision and counters decoded from their JSON columns', async () => {
    const store = await ResultStore.open(join(dir, 't', 'results.duckdb'));
    const kernels = { runs: 3, classes: [{ precision: 'integer' as const, kernels: 5, ms: 1.5, share: 0.8, ops: { QLinearConv: 5 } }], macKernels: { integer: 5 } };
    const counters = { status: 'failed' as const, source: 'perf' as const, reason: 'no PMU' };
    const row = { ...fakeRow({ model: 'resnet50', batch: 1, engine: 'ort:precision=int8', macs: 4.1e9 }), options: '{"precision":"int8","threads":"1"}', kernelPrecision: JSON.stringify(kernels), counters: JSON.stringify(counters) };
    const plain = fakeRow({ model: 'resnet50', batch: 1, engine: 'torch', macs: 4.1e9, finishedAt: '2026-11-23T09:00:00.000Z' });
    await store.insert(row);
    await store.insert(plain);
    const [typed, untyped] = await store.trials();
    assert.deepEqual(typed, { ...row, options: { precision: 'int8', threads: '1' }, kernelPrecision: kernels, counters });
    assert.deepEqual([untyped!.options, untyped!.kernelPrecision, untyped!.counters], [{}, null, null], 'no options, no profile, no counters');
    store.close();
  });

  it('hands GPU trials back typed: first-run time, the adapter and the placement decoded; other engines have none', async () => {
    const store = await ResultStore.open(join(dir, 'gpu', 'results.duckdb'));
    const gpu = { ...fakeGpuRows(HARDWARE_ADAPTER, { cpuConv: ['standard'] })[0]!, firstRunMs: 812.5 };
    // A failed trial keeps the adapter it failed on, and has no placement or times.
    const failed = { ...fakeRow({ model: 'resnet50', batch: 1, engine: 'ort-webgpu:precision=fp16', role: 'gpu-accelerated', macs: 4.1e9, status: 'failed', finishedAt: '2026-11-23T09:00:00.000Z' }), gpuAdapter: JSON.stringify(SOFTWARE_ADAPTER) };
    const cpu = fakeRow({ model: 'resnet50', batch: 1, engine: 'ort', macs: 4.1e9, finishedAt: '2026-11-23T09:00:01.000Z' });
    for (const r of [gpu, failed, cpu]) await store.insert(r);
    const [typed, typedFailed, plain] = await store.trials();
    assert.equal(typed!.firstRunMs, 812.5);
    assert.deepEqual(typed!.gpuAdapter, HARDWARE_ADAPTER);
    assert.deepEqual(typed!.placement!.macKernels, { webgpu: 0, cpu: 10 });
    assert.equal(typed!.placement!.deviceMs, gpu.medianMs! / 4);
    assert.deepEqual(typedFailed!.gpuAdapter, SOFTWARE_ADAPTER);
    assert.deepEqual([typedFailed!.placement, typedFailed!.firstRunMs], [null, null]);
    assert.deepEqual([plain!.gpuAdapter, plain!.placement], [null, null]);
    assert.deepEqual((await store.rows()).map((r) => encodeTrial(decodeTrial(r))), [gpu, failed, cpu], 'encodeTrial undoes decodeTrial');
    await store.exportTable('trials', 'json', join(dir, 'gpu.json'));
    store.close();
    const [exported] = JSON.parse(readFileSync(join(dir, 'gpu.json'), 'utf8')) as { first_run_ms: number; gpu_adapter: string; placement: string }[];
    assert.equal(exported!.first_run_ms, 812.5);
    assert.deepEqual(JSON.parse(exported!.gpu_adapter), HARDWARE_ADAPTER, 'the export keeps the adapter, as JSON text');
    assert.deepEqual(JSON.parse(exported!.placement).macKernels, { webgpu: 0, cpu: 10 });
  });

  it('keeps rows across reopening, and a re-measured trial replaces its row instead of duplicating it', async () => {
    const path = join(dir, 'b', 'results.duckdb');
    let store = await ResultStore.open(path);
    const failed = fakeRow({ model: 'resnet50', batch: 1, engine: 'torch', macs: 4.1e9, status: 'failed' });
    await store.insert(failed);
    await store.insert(fakeRow({ model: 'resnet50', batch: 1, engine: 'ort', macs: 4.1e9 }));
    store.close();
    store = await ResultStore.open(path);
    assert.deepEqual([...(await store.storedTrials('machine-a')).values()].sort(), ['failed', 'ok']);
    await store.insert({ ...fakeRow({ model: 'resnet50', batch: 1, engine: 'torch', macs: 4.1e9 }), trialKey: failed.trialKey });
    const rows = await store.rows();
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((r) => r.status), ['ok', 'ok']);
    assert.equal((await store.storedTrials('another-machine')).size, 0, 'trials are stored per machine fingerprint');
    store.close();
  });

  it('exports CSV with a header, JSON and Parquet that DuckDB reads back', async () => {
    const store = await ResultStore.open(join(dir, 'c', 'results.duckdb'));
    await store.recordEnvironment({ fingerprint: 'machine-a', cpuModel: 'Test CPU', isa: ['AVX2', 'AVX-512F'], logicalCores: 2, memoryGiB: 24, os: 'linux', nodeVersion: 'v20' });
    for (const batch of [1, 2, 4]) await store.insert(fakeRow({ model: 'mobilenet_v2', batch, engine: 'ort', macs: 3e8 * batch }));
    await store.exportTable('trials', 'csv', join(dir, 'c.csv'));
    await store.exportTable('trials', 'json', join(dir, 'c.json'));
    await store.exportTable('trials', 'parquet', join(dir, 'c.parquet'));
    store.close();
    const csv = readFileSync(join(dir, 'c.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 4);
    assert.match(csv[0]!, /^trial_key,fingerprint,study,.*load_ms,first_run_ms,median_ms,.*kernel_precision,gpu_adapter,placement,counters,/);
    const json = JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8')) as { batch: number; samples_ms: number[]; cpu_model: string; isa: string }[];
    assert.deepEqual(json.map((r) => r.batch), [1, 2, 4]);
    assert.equal(json[0]!.cpu_model, 'Test CPU', 'each row carries its machine');
    assert.equal(json[0]!.isa, 'AVX2 AVX-512F');
    assert.equal(json[0]!.samples_ms.length, 8);
    const db = await (await DuckDBInstance.create(':memory:')).connect();
    const reader = await db.runAndReadAll(`SELECT count(*)::INTEGER AS n, sum(batch)::INTEGER AS b FROM read_parquet('${join(dir, 'c.parquet')}')`);
    assert.deepEqual(reader.getRowObjectsJS(), [{ n: 3, b: 7 }]);
  });

  it("reads a device's unreported memory back as unknown, not as 0 GiB", async () => {
    const store = await ResultStore.open(join(dir, 'm', 'results.duckdb'));
    await store.recordDevice({ fingerprint: 'tab-1', cpuModel: 'browser', logicalCores: 8, memoryGiB: null, os: 'Android', runtime: 'Chrome 131', device: '{}' });
    await store.recordEnvironment({ fingerprint: 'machine-m', cpuModel: 'Test CPU', isa: [], logicalCores: 2, memoryGiB: 24, os: 'linux', nodeVersion: 'v20' });
    const byPrint = new Map((await store.environments()).map((e) => [e.fingerprint, e.memoryGiB]));
    assert.equal(byPrint.get('tab-1'), null);
    assert.equal(byPrint.get('machine-m'), 24);
    store.close();
  });

  it('keeps the machine\'s measured peaks with its environment', async () => {
    const store = await ResultStore.open(join(dir, 'p', 'results.duckdb'));
    const env = { fingerprint: 'machine-p', cpuModel: 'Test CPU', isa: [], logicalCores: 2, memoryGiB: 24, os: 'linux', nodeVersion: 'v20' };
    await store.recordEnvironment(env);
    assert.equal(await store.peaks('machine-p'), undefined);
    await store.recordPeaks('machine-p', { peakGflops: 310.5, bandwidthGBs: 21.5, method: 'MatMul and Add' });
    assert.deepEqual(await store.peaks('machine-p'), { peakGflops: 310.5, bandwidthGBs: 21.5, method: 'MatMul and Add' });
    const caches = [{ level: 'L2', capacityBytes: 2 ** 21, bandwidthGBs: 150.5 }];
    await store.recordPeaks('machine-p', { peakGflops: 311, bandwidthGBs: 21, method: 'again', caches });
    assert.deepEqual(await store.peaks('machine-p'), { peakGflops: 311, bandwidthGBs: 21, method: 'again', caches });
    store.close();
  });

  it('keeps fidelity checks per machine, model, batch and engine; a re-measurement replaces the check', async () => {
    const path = join(dir, 'f', 'results.duckdb');
    let store = await ResultStore.open(path);
    const first = fakeFidelity({ model: 'resnet50', batch: 1, ratio: 1.3 });
    await store.insertFidelity('machine-a', 'quick', first);
    await store.insertFidelity('machine-a', 'quick', fakeFidelity({ model: 'resnet50', batch: 8, ratio: 1.05 }));
    await store.insertFidelity('machine-a', 'quick', fakeFidelity({ model: 'resnet50', batch: 1, engine: 'tfjs-wasm', ratio: 0.98 }));
    await store.insertFidelity('machine-b', 'quick', fakeFidelity({ model: 'resnet50', batch: 1, ratio: 2 }));
    store.close();
    store = await ResultStore.open(path);
    const again = fakeFidelity({ model: 'resnet50', batch: 1, ratio: 1.02 });
    await store.insertFidelity('machine-a', 'quick-again', again);
    const rows = await store.fidelity('machine-a');
    assert.equal(rows.length, 3);
    const back = rows.find((r) => r.engine === 'torch' && r.batch === 1)!;
    const { fingerprint, study, measuredAt, ...record } = back;
    assert.deepEqual(record, again, 'every field comes back typed: samples as numbers, options as an object, the interval as a pair');
    assert.deepEqual([fingerprint, study], ['machine-a', 'quick-again']);
    assert.ok(!Number.isNaN(Date.parse(measuredAt)));
    assert.equal((await store.fidelity()).length, 4, 'without a fingerprint: every machine');
    assert.deepEqual((await store.fidelity('machine-c')), []);
    store.close();
  });

  it('stores a failed fidelity check with its reason and no numbers', async () => {
    const store = await ResultStore.open(join(dir, 'g', 'results.duckdb'));
    const failed = fakeFidelity({ model: 'darts', batch: 1, status: 'failed' });
    await store.insertFidelity('machine-a', 'quick', failed);
    const [stored] = await store.fidelity('machine-a');
    const { fingerprint, study, measuredAt, ...back } = stored!;
    assert.deepEqual(back, failed);
    store.close();
  });

  it('opens a store written before the fidelity table existed, trials intact, with no checks', async () => {
    const path = join(dir, 'old', 'results.duckdb');
    const row = fakeRow({ model: 'resnet50', batch: 1, engine: 'torch', macs: 4.1e9 });
    let store = await ResultStore.open(path);
    await store.insert(row);
    store.close();
    const instance = await DuckDBInstance.create(path);
    const db = await instance.connect();
    await db.run('DROP TABLE fidelity');
    db.closeSync();
    instance.closeSync();
    store = await ResultStore.open(path);
    assert.deepEqual(await store.fidelity(), []);
    assert.deepEqual(await store.rows(), [row]);
    await store.insertFidelity('machine-a', 'quick', fakeFidelity({ model: 'resnet50', batch: 1, ratio: 1.1 }));
    assert.equal((await store.fidelity('machine-a')).length, 1);
    store.close();
  });

  it('refuses a file that is not a DuckDB database with a user error', async () => {
    const path = join(dir, 'not-a-db.duckdb');
    writeFileSync(path, 'this is not a database');
    await assert.rejects(ResultStore.open(path), (e: unknown) => e instanceof UserError && /cannot open results store/.test(e.message));
    assert.equal(readFileSync(path, 'utf8'), 'this is not a database', 'the file is left as it was');
  });

  it('a folder without a store is a user error', async () => {
    await assert.rejects(ResultStore.openFolder(join(dir, 'empty')), (e: unknown) => e instanceof UserError && /no results/.test(e.message));
  });
});
