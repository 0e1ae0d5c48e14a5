/**
 * `npm run bench`: the foundation's speed and memory goals, measured on this machine.
 *  1. Building, calibrating and exporting a 50-block network of each pattern (goal: build +
 *     export under 1 s at width 64).
 *  2. `analyze` of large ONNX files exported by PyTorch from torchvision (goal: a 240 MB
 *     ResNet-152 under 5 s and 1.5 GB peak RSS), cross-checked against PyTorch's own counts.
 *  3. The zoo's reference networks against torchvision's: totals and layer by layer.
 *  4. Every reference network at its full resolution in onnxruntime, batch 1 and 8: calibration
 *     and the activation check.
 *  5. The measurement protocol: harness overhead per run against a bare loop over the same engine
 *     call (goal: under 2% of the median or 50 µs, ort, MobileNetV2, batch 1), and repeatability
 *     (the same trial twice in one run, medians within 3%).
 *  6. The seed paper's headline on this machine: per pattern at depth 10/30/50 (width 64, batch 1),
 *     the speed-up of ort (opt=all) over torch eager and over tfjs-wasm, and the part of it that
 *     graph optimisation gives (ort opt=all vs opt=disabled).
 *  7. All five engines on the six patterns (depth 10, width 64, batch 1): each runs and agrees
 *     with the reference engine.
 *  8. The results store: time to commit one trial row (with 1,000 raw samples) to DuckDB, and
 *     the file's size per trial, against a study trial's seconds.
 *  9. `torch-config`: plain PyTorch under the torch engine's BLAS and threading environment against
 *     Debian's defaults and the alternatives, separate processes taking turns (benchTorchConfig).
 * Choose sections by name: `npm run bench -- torch-config build large reference health protocol
 * headline engines store` (default: all).
 * Large files are made by bench/torchvision/export_torchvision.py with Debian's python3-torch;
 * without it that part says so and is skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { analyzeGraph, type LayerCost } from '../src/analysis/index.js';
import { readOnnxFile, toOnnxBytes } from '../src/onnx/index.js';
import { activationHealth, calibrateBatchNorm, isHealthy, seededNormal } from '../src/weights/index.js';
import { parseEngineChoice } from '../src/engines/index.js';
import { torchThreadingEnv } from '../src/engines/torch.js';
import os from 'node:os';
import { defaultReference, runBench } from '../src/measure/bench.js';
import { DEFAULT_BUDGET, timeRuns } from '../src/measure/protocol.js';
import { buildZooModel, PATTERNS, REFERENCE_NETWORKS } from '../src/zoo/index.js';
import { ResultStore } from '../src/store/index.js';
import { fakeRow } from '../test/fixtures/result-rows.js';
import { median, summary } from './stats.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = `${ROOT}bench/out/`;
const REPS = Number(process.env.FORMBENCH_BENCH_REPS ?? 5);

async function benchBuildExport(): Promise<void> {
  console.log(`\n## Build and export of 50-block networks at width 64 (${REPS} repetitions, ms)`);
  console.log('| model | build (structure) | calibrate (onnxruntime pass) | export to ONNX bytes (incl. weight generation) | build + export | file |');
  console.log('|---|---|---|---|---|---|');
  for (const pattern of PATTERNS) {
    const spec = `${pattern}/d50/w64`;
    const build: number[] = [];
    const calibrate: number[] = [];
    const exp: number[] = [];
    let size = 0;
    for (let i = 0; i < REPS; i++) {
      const t0 = performance.now();
      const model = buildZooModel(spec);
      const t1 = performance.now();
      // Export first (uncalibrated) to time weight generation + serialisation alone.
      const bytes = toOnnxBytes(model.graph);
      const t2 = performance.now();
      await calibrateBatchNorm(model.graph, { gains: model.bnGains });
      const t3 = performance.now();
      build.push(t1 - t0);
      exp.push(t2 - t1);
      calibrate.push(t3 - t2);
      size = bytes.byteLength;
    }
    const both = build.map((b, i) => b + exp[i]!);
    console.log(`| ${spec} | ${median(build).toFixed(1)} | ${median(calibrate).toFixed(0)} | ${median(exp).toFixed(1)} | ${summary(both)} | ${(size / 2 ** 20).toFixed(1)} MiB |`);
  }
}

function ensureTorchvisionExports(): boolean {
  if (existsSync(`${OUT}resnet152.onnx`)) return true;
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    console.log('\n(skipped large-file benchmark: /usr/bin/python3 with torch and torchvision is not installed;');
    console.log(' apt-get install python3-torch python3-torchvision, then run npm run bench again)');
    return false;
  }
  console.log('\nexporting torchvision models with PyTorch (once; files go to bench/out/) …');
  execFileSync('/usr/bin/python3', [`${ROOT}bench/torchvision/export_torchvision.py`, OUT], { stdio: 'inherit' });
  return true;
}

interface ChildResult {
  readMs: number;
  analyzeMs: number;
  totalMs: number;
  maxRssMiB: number;
  macs: number;
  params: number;
  uniqueParams: number;
  layers: { module: string; macs: number; params: number; outputShape: number[] }[];
}

function benchLargeFiles(): void {
  if (!ensureTorchvisionExports()) return;
  console.log(`\n## analyze of ONNX files exported by PyTorch (fresh process each, ${REPS} repetitions)`);
  console.log('| file | size | read + analyze (ms) | peak RSS (MiB) | MACs: formbench / PyTorch hooks | params per use: formbench / PyTorch (BN folded) | distinct tensors | layers matching PyTorch (module, MACs, shape) |');
  console.log('|---|---|---|---|---|---|---|---|');
  const child = fileURLToPath(new URL('./analyze-file.js', import.meta.url));
  for (const name of ['resnet152', 'resnext101_32x8d', 'resnet50', 'mobilenet_v2', 'inception_v3']) {
    const file = `${OUT}${name}.onnx`;
    if (!existsSync(file)) continue;
    const runs: ChildResult[] = [];
    for (let i = 0; i < REPS; i++) {
      runs.push(JSON.parse(execFileSync(process.execPath, [child, file], { encoding: 'utf8', maxBuffer: 2 ** 26 })) as ChildResult);
    }
    const expected = JSON.parse(readFileSync(`${OUT}${name}.expected.json`, 'utf8')) as {
      macs: number;
      fileParams: number;
      layers: { module: string; macs: number; outputShape: number[] }[];
    };
    const r = runs[0]!;
    const ours = new Map(r.layers.map((l) => [l.module, l]));
    const matching = expected.layers.filter((e) => {
      const l = ours.get(e.module);
      return l !== undefined && l.macs === e.macs && l.outputShape.join() === e.outputShape.join();
    }).length;
    console.log(
      `| ${name} | ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB | ${summary(runs.map((x) => x.totalMs), 0)} | ${median(runs.map((x) => x.maxRssMiB)).toFixed(0)} | ` +
        `${r.macs} / ${expected.macs} | ${r.params} / ${expected.fileParams} | ${r.uniqueParams} | ${matching} of ${expected.layers.length} (formbench has ${r.layers.length}) |`,
    );
  }
}

/** A layer as a comparable string: operator, MACs, output shape (batch 1) and parameters. */
const layerKey = (op: string, macs: number, shape: number[], params?: number) => `${op} ${macs} ${shape.join('x')}${params === undefined ? '' : ` ${params}`}`;

function multisetDiff(a: string[], b: string[]): number {
  const counts = new Map<string, number>();
  for (const k of a) counts.set(k, (counts.get(k) ?? 0) + 1);
  let missing = 0;
  for (const k of b) {
    const n = counts.get(k) ?? 0;
    if (n > 0) counts.set(k, n - 1);
    else missing++;
  }
  return missing + [...counts.values()].reduce((x, y) => x + y, 0);
}

function benchReferenceCrossCheck(): void {
  if (!ensureTorchvisionExports()) return;
  console.log('\n## Zoo reference networks vs torchvision (PyTorch hooks and formbench analyze of the PyTorch export)');
  console.log('| network | params: zoo / PyTorch | MACs: zoo / export | Conv+Linear layers | differing layers vs hooks (op, MACs, shape, params) | vs export (op, MACs, shape) |');
  console.log('|---|---|---|---|---|---|');
  const computeLayers = (layers: LayerCost[]) => layers.filter((l) => l.op === 'Conv' || l.op === 'Gemm' || l.op === 'MatMul');
  for (const net of REFERENCE_NETWORKS) {
    const file = `${OUT}${net.name}.onnx`;
    if (!existsSync(file)) continue;
    const expected = JSON.parse(readFileSync(`${OUT}${net.name}.expected.json`, 'utf8')) as {
      params: number;
      layers: { op: string; macs: number; params: number; outputShape: number[] }[];
    };
    const zoo = analyzeGraph(buildZooModel(net.name).graph, { batch: 1 });
    const exported = analyzeGraph(readOnnxFile(file), { batch: 1 });
    const zooLayers = computeLayers(zoo.layers);
    const vsHooks = multisetDiff(
      zooLayers.map((l) => layerKey(l.op, l.macs, l.outputShape, l.params)),
      expected.layers.map((l) => layerKey(l.op, l.macs, l.outputShape, l.params)),
    );
    const vsExport = multisetDiff(
      zooLayers.map((l) => layerKey(l.op, l.macs, l.outputShape)),
      computeLayers(exported.layers).map((l) => layerKey(l.op, l.macs, l.outputShape)),
    );
    console.log(`| ${net.name} | ${zoo.params} / ${expected.params} | ${zoo.macs} / ${exported.macs} | ${zooLayers.length} | ${vsHooks} | ${vsExport} |`);
  }
}

async function benchReferenceHealth(): Promise<void> {
  console.log('\n## Reference networks at full resolution in onnxruntime (calibration + activation check, s)');
  console.log('| network | batch | build + calibrate | activation check | healthy | activation std (min…max) | subnormal |');
  console.log('|---|---|---|---|---|---|---|');
  for (const net of REFERENCE_NETWORKS) {
    for (const batch of [1, 8]) {
      const t0 = performance.now();
      const model = buildZooModel(net.name);
      const graph = await calibrateBatchNorm(model.graph, { gains: model.bnGains });
      const t1 = performance.now();
      const h = await activationHealth(graph, { batch });
      const t2 = performance.now();
      console.log(
        `| ${net.name} | ${batch} | ${((t1 - t0) / 1000).toFixed(1)} | ${((t2 - t1) / 1000).toFixed(1)} | ${isHealthy(h) ? 'yes' : 'NO'} | ` +
          `${h.minStd.toPrecision(2)}…${h.maxStd.toPrecision(2)} | ${(100 * h.maxSubnormalFraction).toFixed(3)}% |`,
      );
    }
  }
}

async function benchProtocol(): Promise<void> {
  console.log('\n## Measurement protocol: harness overhead and repeatability (ort, mobilenet_v2, batch 1)');
  const zoo = buildZooModel('mobilenet_v2');
  const graph = await calibrateBatchNorm(zoo.graph, { gains: zoo.bnGains });
  const onnx = toOnnxBytes(graph);
  const { engine, options } = parseEngineChoice('ort');
  const session = await engine.load({ spec: zoo.spec, graph, onnx }, options);
  const dims = [1, 3, 224, 224];
  const input = seededNormal(1, 'input', 3 * 224 * 224, 1);
  const run = () => session.run(input, dims);
  for (let i = 0; i < 20; i++) await run();
  // Alternate rounds of a bare loop and the harness (fixed run count), so drift hits both alike.
  const N = 50;
  const bare: number[] = [];
  const harness: number[] = [];
  for (let round = 0; round < 7; round++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await run();
    bare.push((performance.now() - t0) / N);
    const t1 = performance.now();
    await timeRuns(run, { ...DEFAULT_BUDGET, warmupBudgetMs: 0, minRuns: N, maxRuns: N, targetCiRelative: 0 });
    harness.push((performance.now() - t1) / N);
  }
  await session.dispose();
  const overheadUs = (median(harness) - median(bare)) * 1000;
  console.log(`- bare loop: ${summary(bare, 3)} ms per run; harness (timeRuns, every sample kept): ${summary(harness, 3)} ms per run`);
  console.log(`- harness overhead: ${overheadUs.toFixed(1)} µs per run = ${((100 * overheadUs) / 1000 / median(bare)).toFixed(2)}% of the median (7 alternating rounds of ${N} runs)`);

  const twice = [parseEngineChoice('ort'), parseEngineChoice('ort')];
  const medians: number[] = [];
  for (const choice of twice) {
    const r = await runBench({ specs: ['mobilenet_v2'], engines: [choice], batches: [1], baseline: choice, reference: defaultReference(), budget: DEFAULT_BUDGET, inputSeed: 1 });
    medians.push(r.trials[0]!.summary!.medianMs);
  }
  console.log(`- repeatability: the same trial twice, each in its own worker: medians ${medians.map((m) => m.toFixed(3)).join(' and ')} ms, differing by ${((100 * Math.abs(medians[0]! - medians[1]!)) / Math.min(...medians)).toFixed(2)}%`);
}

async function benchHeadline(): Promise<void> {
  const labels = ['ort', 'ort:opt=disabled', 'torch', 'tfjs-wasm'];
  const engines = labels.map(parseEngineChoice);
  const budget = { ...DEFAULT_BUDGET, timedBudgetMs: Number(process.env.FORMBENCH_BENCH_BUDGET_MS ?? 3000) };
  console.log(`\n## Headline: ort vs the native frameworks, per pattern (width 64, batch 1, ${budget.timedBudgetMs / 1000} s per trial, medians in ms)`);
  console.log('| model | ort | ort:opt=disabled | torch | tfjs-wasm | ort vs torch | ort vs tfjs-wasm | graph optimisation (disabled→all) | its share of the gain over torch |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const pattern of PATTERNS) {
    for (const depth of [10, 30, 50]) {
      const spec = `${pattern}/d${depth}/w64`;
      const r = await runBench({ specs: [spec], engines, batches: [1], baseline: engines[0]!, reference: defaultReference(), budget, inputSeed: 1 });
      const ms = (label: string) => r.trials.find((t) => t.engine === label)?.summary?.medianMs;
      const cell = (label: string) => {
        const t = r.trials.find((x) => x.engine === label)!;
        return t.summary ? `${t.summary.medianMs.toFixed(2)}${t.status === 'mismatch' ? ' (MISMATCH)' : ''}` : `failed: ${t.reason}`;
      };
      const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : '-');
      const [all, disabled, torch] = [ms('ort'), ms('ort:opt=disabled'), ms('torch')];
      const share = all && disabled && torch && torch > all ? `${((100 * Math.log(disabled / all)) / Math.log(torch / all)).toFixed(0)}%` : '-';
      console.log(`| ${spec} | ${cell('ort')} | ${cell('ort:opt=disabled')} | ${cell('torch')} | ${cell('tfjs-wasm')} | ${ratio(torch, all)} | ${ratio(ms('tfjs-wasm'), all)} | ${ratio(disabled, all)} | ${share} |`);
    }
  }
  console.log('(share: log(disabled/all) / log(torch/all), the fraction of the speed-up over torch, on a log scale, that graph optimisation accounts for)');
}

async function benchAllEngines(): Promise<void> {
  const labels = ['ort', 'ort-wasm', 'torch', 'tfjs-wasm', 'tfjs-cpu'];
  const engines = labels.map(parseEngineChoice);
  // tfjs-cpu takes seconds per inference: three timed runs are enough to show it runs and agrees.
  const budget = { ...DEFAULT_BUDGET, timedBudgetMs: 2000, warmupBudgetMs: 1000, minRuns: 3 };
  console.log('\n## Every engine on every pattern (depth 10, width 64, batch 1): median ms, and agreement with ort:opt=disabled');
  console.log(`| model | ${labels.join(' | ')} |`);
  console.log(`|---|${labels.map(() => '---').join('|')}|`);
  for (const pattern of PATTERNS) {
    const spec = `${pattern}/d10/w64`;
    const r = await runBench({ specs: [spec], engines, batches: [1], baseline: engines[0]!, reference: defaultReference(), budget, inputSeed: 1 });
    const cells = labels.map((label) => {
      const t = r.trials.find((x) => x.engine === label)!;
      if (!t.summary) return `failed: ${t.reason}`;
      return `${t.summary.medianMs.toFixed(1)} (${t.outputs?.matches ? `match, rel. err ${t.outputs.relativeError.toExponential(0)}` : 'MISMATCH'})`;
    });
    console.log(`| ${spec} | ${cells.join(' | ')} |`);
  }
}

async function benchStore(): Promise<void> {
  const rows = 300;
  console.log(`\n## Results store: committing one trial row with 1,000 samples to DuckDB (${rows} rows)`);
  const dir = mkdtempSync(join(tmpdir(), 'formbench-bench-store-'));
  try {
    const store = await ResultStore.open(join(dir, 'results.duckdb'));
    const samples = Array.from({ length: 1000 }, (_, i) => 10 + (i % 17) / 7);
    const insertMs: number[] = [];
    for (let i = 0; i < rows; i++) {
      const row = { ...fakeRow({ model: `standard/d${10 + (i % 5) * 10}/w64`, pattern: 'standard', depth: 10, width: 64, batch: 1, engine: 'ort', macs: 1e9 }), samplesMs: samples };
      const t0 = performance.now();
      await store.insert(row);
      insertMs.push(performance.now() - t0);
    }
    const readStart = performance.now();
    const back = await store.rows();
    const readMs = performance.now() - readStart;
    store.close();
    const bytes = statSync(join(dir, 'results.duckdb')).size;
    console.log(`insert + commit per trial: ${summary(insertMs, 2)} ms`);
    console.log(`reading all ${back.length} rows back: ${readMs.toFixed(0)} ms; file ${(bytes / 2 ** 20).toFixed(1)} MiB (${(bytes / rows / 1024).toFixed(1)} KiB per trial)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The torch engine's BLAS and threading environment (torchThreadingEnv) against plain PyTorch under
 * Debian's defaults and the alternatives a careful user would try, each a fresh process running
 * the same plain-PyTorch networks (bench/torch_config.py), the configurations taking turns round
 * by round so that the machine's drift falls on all of them alike.
 */
async function benchTorchConfig(): Promise<void> {
  const python = process.env['FORMBENCH_PYTHON'] ?? '/usr/bin/python3';
  const script = `${ROOT}bench/torch_config.py`;
  const threads = String(os.availableParallelism());
  const openmpDir = '/usr/lib/x86_64-linux-gnu/openblas-openmp';
  const formbench = torchThreadingEnv(Number(threads));
  const configs: [string, Record<string, string>][] = [
    ['formbench (OMP_NUM_THREADS=N, OPENBLAS_NUM_THREADS=1)', formbench],
    ["Debian's defaults, torch.set_num_threads(N) only", {}],
    ['OpenBLAS threads = N as well', { ...formbench, OPENBLAS_NUM_THREADS: threads }],
    ['OMP_WAIT_POLICY=passive', { ...formbench, OMP_WAIT_POLICY: 'passive' }],
    ...(existsSync(openmpDir) ? [['libopenblas0-openmp (BLAS in the OpenMP pool)', { OMP_NUM_THREADS: threads, LD_LIBRARY_PATH: openmpDir }] as [string, Record<string, string>]] : []),
  ];
  const rounds = Number(process.env['FORMBENCH_BENCH_ROUNDS'] ?? 3);
  const medians = configs.map(() => new Map<string, number[]>());
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OMP_|OPENBLAS_|MKL_|GOMP_)/.test(k) && k !== 'LD_LIBRARY_PATH'));
  for (let round = 0; round < rounds; round++) {
    for (const [i, [, env]] of configs.entries()) {
      const r = spawnSync(python, [script, threads], { encoding: 'utf8', env: { ...clean, ...env } });
      if (r.status !== 0) {
        console.log(`torch-config: ${python} failed: ${(r.stderr ?? '').trim().split('\n').at(-1)}`);
        return;
      }
      for (const [net, ms] of Object.entries(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>)) medians[i]!.set(net, [...(medians[i]!.get(net) ?? []), ms]);
    }
  }
  const nets = [...medians[0]!.keys()];
  console.log(`\n## torch's BLAS and threading (plain PyTorch, ${threads} threads, batch 1 unless said; median of 15 runs per process, ${rounds} rounds; each cell: the median over rounds, then each round's median)`);
  console.log(`| configuration | ${nets.join(' | ')} |`);
  console.log(`|---|${nets.map(() => '---').join('|')}|`);
  for (const [i, [name]] of configs.entries()) {
    const cells = nets.map((n) => {
      const v = medians[i]!.get(n)!;
      const ratio = median(v) / median(medians[0]!.get(n)!);
      return `${median(v).toFixed(1)} ms${i > 0 ? ` (${ratio.toFixed(2)}×)` : ''} [${v.map((x) => x.toFixed(0)).join(', ')}]`;
    });
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
}

const SECTIONS: Record<string, () => void | Promise<void>> = {
  'torch-config': benchTorchConfig,
  build: benchBuildExport,
  large: benchLargeFiles,
  reference: benchReferenceCrossCheck,
  health: benchReferenceHealth,
  protocol: benchProtocol,
  headline: benchHeadline,
  engines: benchAllEngines,
  store: benchStore,
};
const chosen = process.argv.slice(2);
for (const name of chosen) if (!SECTIONS[name]) throw new Error(`unknown section '${name}'; sections: ${Object.keys(SECTIONS).join(', ')}`);
console.log(`formbench benchmarks — ${new Date().toISOString()}, node ${process.version}`);
for (const [name, run] of Object.entries(SECTIONS)) if (chosen.length === 0 || chosen.includes(name)) await run();
