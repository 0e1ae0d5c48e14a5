/**
 * Child process of the benchmark: reads and analyses one ONNX file, then reports its own wall
 * time and peak resident memory, so the parent measures a fresh process each time.
 */
import { performance } from 'node:perf_hooks';
import { analyzeGraph } from '../src/analysis/index.js';
import { readOnnxFile, torchModuleOf } from '../src/onnx/index.js';

const file = process.argv[2]!;
const start = performance.now();
const graph = readOnnxFile(file);
const read = performance.now();
const cost = analyzeGraph(graph, { batch: 1 });
const end = performance.now();
process.stdout.write(
  JSON.stringify({
    readMs: read - start,
    analyzeMs: end - read,
    totalMs: end - start,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    macs: cost.macs,
    params: cost.params,
    uniqueParams: cost.uniqueParams,
    layers: cost.layers
      .filter((l) => l.op === 'Conv' || l.op === 'Gemm' || l.op === 'MatMul')
      .map((l) => ({ module: torchModuleOf(l.name), macs: l.macs, params: l.params, outputShape: l.outputShape })),
  }),
);
