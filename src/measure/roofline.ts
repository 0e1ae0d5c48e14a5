/**
 * The roofline of this machine, measured rather than looked up: peak FP32 compute from matrix
 * products and memory bandwidth from streaming Adds, all in onnxruntime (the best engine here,
 * all cores), timed by ORT's own profiler so that copying outputs to JavaScript is not counted.
 * At batch 1 most layers' data fit in a cache, where a DRAM roof is far too low (a depthwise
 * Conv "reached" 3× of it), so each cache level the OS reports gets a bandwidth of its own and
 * a layer is held to the roof of the smallest level its working set fits in.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { profiledRuns } from '../engines/ort-runtime.js';
import { parseOrtTrace } from '../engines/ort-trace.js';
import { ConstTensor, type Graph } from '../ir/index.js';
import { toOnnxBytes } from '../onnx/index.js';

/** A cache level's streaming bandwidth and the data it holds for the threads used. */
export interface CacheRoof {
  /** 'L2', 'L3', … */
  level: string;
  /** Capacity available to the measuring threads, bytes (a private cache counts once per thread). */
  capacityBytes: number;
  bandwidthGBs: number;
}

export interface MachinePeaks {
  /** FP32 GFLOP/s of the best MatMul run over the sizes tried. */
  peakGflops: number;
  /** DRAM GB/s (10⁹ bytes) of the best streaming run, bytes counted as read once + written once. */
  bandwidthGBs: number;
  /** What was measured and how, one line for reports. */
  method: string;
  /** Best GFLOP/s per MatMul size n (n×n·n×n): the cache-resident and the out-of-cache rate. */
  matmulGflopsBySize?: Record<number, number>;
  /** Bandwidth of the cache levels from L2 up, smallest first; absent where the OS does not say. */
  caches?: CacheRoof[];
}

/**
 * MatMul sizes and recorded runs. 512² (three 1 MiB matrices, intensity n/6 ≈ 85 FLOP/byte)
 * stays in L2 and gives the compute roof; 2048² (48 MiB) is the large-product rate (on the quiet
 * 2-core VM this was written on ≈255 against ≈310 GFLOP/s). On a busy machine the long 2048²
 * runs were preempted and fell 2–5× short, which put ordinary Conv layers at twice their
 * "peak"; many short runs (~1 ms each) make it likely that the best of them ran undisturbed.
 */
const MATMUL_RUNS: [n: number, runs: number][] = [
  [512, 200],
  [2048, 3],
];
/** 64 Mi floats = 256 MiB per tensor: a stream beyond the per-core caches. */
const DRAM_STREAM_ELEMENTS = 64 * 2 ** 20;
const DRAM_STREAM_RUNS = 5;
/** A cache level is streamed with in + out = half its capacity, so both stay resident. */
const CACHE_STREAM_FILL = 0.5;
/** Cache streams: as many runs as move about this many bytes, 5 to 200 (small ones are quick but noisy). */
const CACHE_STREAM_BYTES = 2 ** 30;

/** Measures peak FP32 GFLOP/s and memory bandwidth in a few seconds. */
export async function measureMachinePeaks(threads = os.availableParallelism()): Promise<MachinePeaks> {
  const matmulGflopsBySize: Record<number, number> = {};
  for (const [n, runs] of MATMUL_RUNS) {
    const us = await kernelTimesUs(matmulGraph(n), 'MatMul', () => ({ A: randomMatrix(n), B: randomMatrix(n) }), [n, n], threads, runs);
    matmulGflopsBySize[n] = (2 * n ** 3) / (Math.min(...us) * 1e3);
  }
  const peakGflops = Math.max(...Object.values(matmulGflopsBySize));
  const bandwidthGBs = await streamGBs(DRAM_STREAM_ELEMENTS, threads, DRAM_STREAM_RUNS);
  const caches: CacheRoof[] = [];
  for (const c of cacheLevels(threads)) {
    const elements = Math.max(4096, Math.floor((c.capacityBytes * CACHE_STREAM_FILL) / 8));
    if (elements >= DRAM_STREAM_ELEMENTS / 2) continue;
    const runs = Math.min(200, Math.max(5, Math.round(CACHE_STREAM_BYTES / (8 * elements))));
    caches.push({ ...c, bandwidthGBs: await streamGBs(elements, threads, runs) });
  }
  const sizes = MATMUL_RUNS.map(([n, runs]) => `${n}³ ${matmulGflopsBySize[n]!.toFixed(1)} (best of ${runs})`).join(', ');
  const cacheText = caches.map((c) => `${c.level} (${(c.capacityBytes / 2 ** 20).toFixed(0)} MiB) ${c.bandwidthGBs.toFixed(1)} GB/s`).join(', ');
  return {
    peakGflops,
    bandwidthGBs,
    method:
      `onnxruntime-node CPU EP, ${threads} threads, kernel time from its profiler: ` +
      `peak = best FP32 MatMul GFLOP/s (2·n³ FLOP) over n = ${sizes}; ` +
      `bandwidth = best of ${DRAM_STREAM_RUNS} Adds of a scalar to ${(DRAM_STREAM_ELEMENTS * 4) / 2 ** 20} MiB (bytes read + written, write-allocate not counted)` +
      (caches.length ? `; caches streamed at half their capacity: ${cacheText}` : ''),
    matmulGflopsBySize,
    ...(caches.length ? { caches } : {}),
  };
}

/** Best bandwidth of a scalar Add over `elements` floats, GB/s (read + write counted). */
async function streamGBs(elements: number, threads: number, runs: number): Promise<number> {
  const us = await kernelTimesUs(streamGraph(elements), 'Add', () => ({ X: new Float32Array(elements).fill(1) }), [elements], threads, runs);
  return (2 * elements * 4) / (Math.min(...us) * 1e3);
}

/**
 * Data caches from L2 up, as Linux reports them for CPU 0, with the capacity the `threads`
 * measuring threads share: a private cache counts once per thread, a shared one once.
 */
export function cacheLevels(threads: number, root = '/sys/devices/system/cpu/cpu0/cache'): Omit<CacheRoof, 'bandwidthGBs'>[] {
  if (!existsSync(root)) return [];
  const levels: Omit<CacheRoof, 'bandwidthGBs'>[] = [];
  for (const index of readdirSync(root).filter((d) => /^index\d+$/.test(d))) {
    const read = (f: string) => readFileSync(join(root, index, f), 'utf8').trim();
    try {
      const level = Number(read('level'));
      if (level < 2 || read('type') === 'Instruction') continue;
      const size = parseCacheSize(read('size'));
      const sharers = cpuListSize(read('shared_cpu_list'));
      levels.push({ level: `L${level}`, capacityBytes: sharers > 1 ? size : size * threads });
    } catch {
      continue; // an unreadable entry: that level gets no roof of its own
    }
  }
  return levels.sort((a, b) => a.capacityBytes - b.capacityBytes);
}

function parseCacheSize(text: string): number {
  const m = /^(\d+)([KMG]?)/.exec(text);
  if (!m) throw new Error(`unreadable cache size '${text}'`);
  return Number(m[1]) * { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[m[2] as '' | 'K' | 'M' | 'G'];
}

/** Number of CPUs in a Linux CPU list such as '0-3,8'. */
function cpuListSize(text: string): number {
  return text.split(',').reduce((n, part) => {
    const [a, b] = part.split('-').map(Number);
    return n + (b === undefined ? 1 : b - a! + 1);
  }, 0);
}

/**
 * The roof a layer is held to: peak compute, or its intensity times the bandwidth of the
 * smallest level its working set (bytes it moves) fits in — DRAM when none, or when no
 * working set is given.
 */
export function layerRoof(arithmeticIntensity: number, workingSetBytes: number | undefined, peaks: MachinePeaks): { gflops: number; level: string } {
  const cache = workingSetBytes === undefined ? undefined : peaks.caches?.find((c) => workingSetBytes <= c.capacityBytes);
  const bandwidth = cache?.bandwidthGBs ?? peaks.bandwidthGBs;
  const gflops = Math.min(peaks.peakGflops, arithmeticIntensity * bandwidth);
  return { gflops, level: gflops === peaks.peakGflops ? 'compute' : (cache?.level ?? 'DRAM') };
}

/** The DRAM roof at an arithmetic intensity (FLOP/byte), GFLOP/s. */
export function rooflineBoundGflops(arithmeticIntensity: number, peaks: Pick<MachinePeaks, 'peakGflops' | 'bandwidthGBs'>): number {
  return Math.min(peaks.peakGflops, arithmeticIntensity * peaks.bandwidthGBs);
}

function randomMatrix(n: number): Float32Array {
  const a = new Float32Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return a;
}

function matmulGraph(n: number): Graph {
  const t = { dtype: 'float32' as const, shape: [n, n] };
  return {
    name: 'roofline-matmul',
    inputs: [{ name: 'A', type: t }, { name: 'B', type: t }],
    outputs: [{ name: 'C', type: t }],
    initializers: new Map(),
    nodes: [{ name: 'matmul', op: 'MatMul', inputs: ['A', 'B'], outputs: ['C'], attrs: {} }],
    metadata: {},
  };
}

function streamGraph(elements: number): Graph {
  const t = { dtype: 'float32' as const, shape: [elements] };
  return {
    name: 'roofline-stream',
    inputs: [{ name: 'X', type: t }],
    outputs: [{ name: 'Y', type: t }],
    initializers: new Map([['one', ConstTensor.fromFloat32([1], Float32Array.of(1))]]),
    nodes: [{ name: 'stream', op: 'Add', inputs: ['X', 'one'], outputs: ['Y'], attrs: {} }],
    metadata: {},
  };
}

/** Durations of the `op` kernel in each recorded run (after one unrecorded that allocates), µs. */
async function kernelTimesUs(graph: Graph, op: string, feeds: () => Record<string, Float32Array>, dims: number[], threads: number, runs: number): Promise<number[]> {
  const inputs = Object.entries(feeds()).map(([name, data]) => ({ name, data, dims }));
  const { trace } = await profiledRuns(toOnnxBytes(graph), { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1 }, inputs, runs);
  const recorded = parseOrtTrace(trace).runs.slice(1);
  const us = recorded.map((run) => run.filter((k) => k.op === op).reduce((a, k) => a + k.durUs, 0)).filter((d) => d > 0);
  if (us.length === 0) throw new Error(`roofline: no ${op} kernel in onnxruntime's profile`);
  return us;
}
