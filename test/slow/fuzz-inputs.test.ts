/**
 * Fuzzing everything that enters formbench: seeded mutations of ONNX files (formbench's own
 * exports and the torch fixtures), TF.js model.json files and weight shards, and study YAML.
 * Each input must import and analyse, or be refused with a one-line UserError with a hint (exit 2
 * in the CLI): never another error, never a hang, and never a file touched outside the fuzz
 * folder (the workers record every open through node:fs). In-process, on two worker threads;
 * a worker silent for HANG_MS on one input is terminated and that input is the failure.
 *
 * A failure prints its kind and seed and the folder it was copied to; `makeInput(corpus, kind,
 * seed)` rebuilds it exactly.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { KINDS, type Kind } from './fuzz-cases.js';
import type { WorkerData, WorkerMessage } from './fuzz-worker.js';

/**
 * The seeds: inputs are base + 0, 1, 2, …. The base is fixed so every run tests the same inputs;
 * FORMBENCH_FUZZ_SEED explores others (a find is then kept as a fast regression, not as a seed).
 */
const BASE_SEED = Number(process.env['FORMBENCH_FUZZ_SEED'] ?? 20_261_202);
const PER_KIND: Record<Kind, number> = {
  'onnx-bytes': 2000,
  'onnx-fields': 2500,
  'tfjs-json': 2000,
  'tfjs-text': 1000,
  'tfjs-shard': 1000,
  'yaml-fields': 1200,
  'yaml-text': 800,
};
const WORKERS = 2;
/** No input may take this long; a synchronous hang (a FIFO, /dev/zero) would never end. */
const HANG_MS = 20_000;

const root = mkdtempSync(join(tmpdir(), 'formbench-fuzz-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A small Keras model saved as TF.js saves it, for the layers-model importer. */
async function tinyLayersModel(): Promise<{ json: unknown; shard: Uint8Array }> {
  await tf.setBackend('cpu');
  const input = tfl.input({ shape: [8, 8, 3] });
  const c = tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(input) as tfl.SymbolicTensor;
  const d = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }).apply(c) as tfl.SymbolicTensor;
  const bn = tfl.layers.batchNormalization({}).apply(d) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3 }).apply(tfl.layers.flatten().apply(bn) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
  let saved: tf.io.ModelArtifacts | undefined;
  await tfl.model({ inputs: input, outputs: out }).save({ save: async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }) });
  const json = { format: 'layers-model', modelTopology: saved!.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: saved!.weightSpecs }] };
  return { json, shard: new Uint8Array(saved!.weightData as ArrayBuffer) };
}

interface Failure {
  kind: Kind;
  seed: number;
  detail: string;
  copy?: string;
}

function runWorker(data: WorkerData, failures: Failure[], counts: Record<string, number>, guards: boolean[]): Promise<void> {
  return new Promise((done) => {
    const worker = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: data });
    let current = -1;
    let since = performance.now();
    /** For a worker stopped mid-input: its folder still holds that input. */
    const keep = (index: number, detail: string, copied?: string) => {
      const [kind, seed] = data.cases[index]!;
      let copy = copied;
      if (!copy) {
        copy = mkdtempSync(join(tmpdir(), `formbench-fuzz-failure-${kind}-${seed}-`));
        cpSync(data.folder, copy, { recursive: true });
      }
      failures.push({ kind, seed, detail, copy });
    };
    const watchdog = setInterval(() => {
      if (current >= 0 && performance.now() - since > HANG_MS) {
        keep(current, `no answer in ${HANG_MS} ms (a hang)`);
        clearInterval(watchdog);
        void worker.terminate().then(() => done());
      }
    }, 500);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'guard') {
        guards.push(m.works);
        return;
      }
      if (m.type === 'start') {
        current = m.index;
        since = performance.now();
        return;
      }
      current = -1;
      counts[m.outcome] = (counts[m.outcome] ?? 0) + 1;
      const kindKey = `${data.cases[m.index]![0]} ${m.outcome}`;
      counts[kindKey] = (counts[kindKey] ?? 0) + 1;
      if (m.outcome === 'fail') keep(m.index, m.detail, m.copy);
      else if (m.ms > HANG_MS / 4) failures.push({ kind: data.cases[m.index]![0], seed: data.cases[m.index]![1], detail: `took ${Math.round(m.ms)} ms` });
    });
    worker.on('error', (e) => {
      // The generator or the worker itself broke: the input at hand is named, the rest are not run.
      keep(Math.max(current, 0), `worker error: ${e.stack ?? e.message}`);
    });
    worker.on('exit', () => {
      clearInterval(watchdog);
      done();
    });
  });
}

describe('fuzzing every input formbench reads', () => {
  it(`${Object.values(PER_KIND).reduce((a, b) => a + b, 0)} seeded hostile inputs: each analyses or is refused in one line`, { timeout: 10 * 60_000 }, async () => {
    const layersModel = await tinyLayersModel();
    const cases: [Kind, number][] = KINDS.flatMap((kind) => Array.from({ length: PER_KIND[kind] }, (_, i) => [kind, BASE_SEED + i] as [Kind, number]));
    const failures: Failure[] = [];
    const counts: Record<string, number> = {};
    const guards: boolean[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: WORKERS }, (_, w) =>
        runWorker({ root, folder: join(root, `worker${w}`), cases: cases.filter((_, i) => i % WORKERS === w), layersModel }, failures, counts, guards),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    console.log(`fuzzed ${cases.length} inputs in ${seconds.toFixed(1)} s: ${counts['ok'] ?? 0} analysed, ${counts['refused'] ?? 0} refused, ${counts['fail'] ?? 0} failed`);
    // How far each kind gets: a kind that is always refused tests only the first check it meets.
    console.log(KINDS.map((k) => `${k}: ${counts[`${k} ok`] ?? 0} analysed, ${counts[`${k} refused`] ?? 0} refused`).join('; '));
    const report = failures.slice(0, 20).map((f) => `  ${f.kind} seed ${f.seed} (copied to ${f.copy}): ${f.detail.split('\n').slice(0, 4).join(' | ')}`);
    assert.deepEqual(guards, new Array(WORKERS).fill(true), 'each worker sees the files the code under test opens');
    assert.equal(failures.length, 0, `${failures.length} inputs broke the promise:\n${report.join('\n')}`);
    assert.equal((counts['ok'] ?? 0) + (counts['refused'] ?? 0), cases.length, 'every input reported an outcome');
  });
});
