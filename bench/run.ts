/**
 * `npm run bench`: the foundation's speed and memory goals, measured on this machine.
 *  1. Building, calibrating and exporting a 50-block network of each pattern (goal: build +
 *     export under 1 s at width 64).
 *  2. `analyze` of large ONNX files exported by PyTorch from torchvision (goal: a 240 MB
 *     ResNet-152 under 5 s and 1.5 GB peak RSS), cross-checked against PyTorch's own counts.
 * Large files are made by bench/torchvision/export_torchvision.py with Debian's python3-torch;
 * without it that part says so and is skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { toOnnxBytes } from '../src/onnx/index.js';
import { calibrateBatchNorm } from '../src/weights/index.js';
import { buildZooModel, PATTERNS } from '../src/zoo/index.js';
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
  for (const name of ['resnet152', 'resnet50', 'mobilenet_v2', 'inception_v3']) {
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

console.log(`formbench foundation benchmarks — ${new Date().toISOString()}, node ${process.version}`);
await benchBuildExport();
benchLargeFiles();
