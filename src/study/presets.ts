import { UserError } from '../errors.js';
import { PATTERNS } from '../zoo/index.js';
import { PAPER_SCALED_RESOLUTION } from '../measure/index.js';
import { SESSION_WARMUP_MS } from '../measure/scenarios/index.js';
import { DEFAULT_COUNTED_INFERENCES, STUDY_BUDGET, STUDY_SCENARIO_DURATION_MS, type CounterPlan, type ScenarioPlan, type Study, type Sweep } from './definition.js';
import { presetGpu, type GpuAvailability } from './gpu.js';

/**
 * The built-in studies: the seed paper's experiments sized for a 2-core machine. Engines are
 * chosen from what runs here: the native framework is PyTorch where it is installed (the paper's
 * native framework), otherwise TensorFlow.js on WebAssembly; acceleration is onnxruntime, and
 * where a hardware GPU runs it, onnxruntime's WebGPU provider is the paper's third line.
 */
export interface PresetEngines {
  native: string;
  accelerated: string;
  /** "GPU-specific acceleration": present only where a hardware adapter runs it (gpu.ts). */
  gpu?: string;
  /** Why an engine the paper would use is not in the study (e.g. torch missing). */
  notes: string[];
  /** Why the GPU line is not in the study, for the presets that would have it. */
  gpuNote?: string;
}

export const PRESET_NAMES = ['quick', 'depth', 'width', 'networks', 'paper', 'cache', 'precision', 'throughput'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PRESET_DESCRIPTIONS: Record<PresetName, string> = {
  depth: "latency vs depth: 6 patterns × depth 10–50 × batch 1/8/16/32 at width 64 (the seed paper's Figure 1)",
  width: "latency vs width: 6 patterns × width 32–512 at depth 10, 112×112 input, batch 1 (Figure 2)",
  networks: 'reference networks at batch 1, DARTS also on PyTorch\'s oneDNN path (Figure 5)',
  quick: 'a representative subset of depth, width and networks, and the fidelity of the native engine on each model (its 115 trials took 17 minutes on a 2-core VM)',
  paper: 'depth, width and networks together',
  precision: 'FP32 vs FP16, BF16 and INT8: 6 patterns × depth 10/30/50 at width 64, and MobileNetV2 and ResNet-50, batch 1, one thread (speed-up over FP32, error vs speed-up)',
  throughput: 'offline throughput (images/s) vs batch 1–32: 6 patterns at depth 30 and width 64 on the native and accelerated engines, one session using every core (the paper\'s batch finding as throughput)',
  cache: `simulated last-level cache misses and latency vs depth (10–50) and width (32–256), 56×56 input, under the paper's 4 MB cache scaled to 256 KiB (Figures 3 and 4; hours on 2 cores)`,
};

/**
 * The presets that reproduce the paper's latency figures, whose third line is GPU acceleration.
 * The cache study runs under a CPU cache simulator and the precision study compares CPU kernels:
 * neither has a GPU line.
 */
const GPU_PRESETS: readonly PresetName[] = ['quick', 'depth', 'width', 'networks', 'paper', 'throughput'];

/** The notes a preset's plan prints: the engines left out, the GPU line included where it would be. */
export function presetNotes(name: PresetName, e: PresetEngines): string[] {
  return [...e.notes, ...(e.gpuNote && GPU_PRESETS.includes(name) ? [e.gpuNote] : [])];
}

export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}

const DEPTHS = [10, 20, 30, 40, 50];
const WIDTHS = [32, 64, 128, 256, 512];
/**
 * The width series runs at depth 10 and 112×112 input: width 512 costs 4× width 256 in MACs, so at
 * 224×224 and depth 10 a standard w512 network is 74 GMACs (seconds per run on 2 cores); at 112×112
 * it is 18.5 GMACs and the whole series stays within minutes while keeping the 28×28 body maps
 * that make wide layers compute-bound.
 */
const WIDTH_SERIES_DEPTH = 10;
const WIDTH_SERIES_RESOLUTION = 112;
const NETWORKS = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'resnext50_32x4d', 'resnext101_32x8d', 'mobilenet_v2', 'inception_v3', 'darts', 'nasnet-a-large'];
const QUICK_NETWORKS = ['resnet50', 'mobilenet_v2', 'darts'];
/** The seed paper's "Optimized DARTS": DARTS on the native framework's oneDNN path. */
const OPTIMIZED_NATIVE = 'torch:mode=jit-frozen';

const patternModels = (depths: number[], widths: number[], resolution?: number): string[] =>
  PATTERNS.flatMap((p) => depths.flatMap((d) => widths.map((w) => `${p}/d${d}/w${w}${resolution ? `/r${resolution}` : ''}`)));

function sweep(name: string, models: string[], engines: string[], batches: number[], budget = STUDY_BUDGET): Sweep {
  return { name, models, engines, batches, repetitions: 1, inputSeed: 1, budget };
}

/** The paper's lines: native framework, CPU acceleration, and GPU acceleration where there is a GPU. */
const lines = (e: PresetEngines): string[] => [e.native, e.accelerated, ...(e.gpu ? [e.gpu] : [])];

function depthSweep(e: PresetEngines, depths: number[], batches: number[]): Sweep {
  return sweep('depth', patternModels(depths, [64]), lines(e), batches);
}

function widthSweep(e: PresetEngines, widths: number[]): Sweep {
  return sweep('width', patternModels([WIDTH_SERIES_DEPTH], widths, WIDTH_SERIES_RESOLUTION), lines(e), [1]);
}

function networkSweeps(e: PresetEngines, networks: string[]): Sweep[] {
  const sweeps = [sweep('networks', networks, lines(e), [1])];
  if (e.native === 'torch' && networks.includes('darts')) sweeps.push(sweep('networks', ['darts'], [OPTIMIZED_NATIVE], [1]));
  return sweeps;
}

/**
 * The cache study runs every trial under valgrind's cache simulator as well, about a thousand
 * times slower than native, so its inputs are 56×56 with the paper's cache scaled to match
 * (geometry `paper-r56`), and its width series stops at 256: a standard w512 network at depth 10
 * would take most of an hour to simulate. Its native framework is TensorFlow.js on WebAssembly
 * even where PyTorch is installed: importing PyTorch under valgrind takes minutes per trial.
 */
const CACHE_WIDTHS = [32, 64, 128, 256];
const CACHE_NATIVE = 'tfjs-wasm';
const CACHE_COUNTERS: CounterPlan = { mode: 'simulate', geometry: 'paper-r56', inferences: DEFAULT_COUNTED_INFERENCES, timeoutMs: 30 * 60_000 };

function cacheSweeps(e: PresetEngines): Sweep[] {
  const engines = [CACHE_NATIVE, e.accelerated];
  return [
    { ...sweep('depth', patternModels(DEPTHS, [64], PAPER_SCALED_RESOLUTION), engines, [1]), counters: CACHE_COUNTERS },
    { ...sweep('width', patternModels([WIDTH_SERIES_DEPTH], CACHE_WIDTHS, PAPER_SCALED_RESOLUTION), engines, [1]), counters: CACHE_COUNTERS },
  ];
}

/**
 * The precision study compares each lower precision with FP32 on the same engine. One thread
 * each: the ratio is then the kernels' own, not how well each precision's kernels scale across
 * cores. ort runs INT8 (QDQ, calibrated at load) and FP16; PyTorch runs BF16; TF.js has no lower
 * precision on the CPU.
 */
const PRECISION_DEPTHS = [10, 30, 50];
const PRECISION_NETWORKS = ['mobilenet_v2', 'resnet50'];
const PRECISION_ENGINES = { ort: ['ort:threads=1', 'ort:precision=fp16,threads=1', 'ort:precision=int8,threads=1'], torch: ['torch:threads=1', 'torch:precision=bf16,threads=1'] };

function precisionSweeps(e: PresetEngines): Sweep[] {
  const engines = [...PRECISION_ENGINES.ort, ...(e.native === 'torch' ? PRECISION_ENGINES.torch : [])];
  return [sweep('precision', patternModels(PRECISION_DEPTHS, [64]), engines, [1]), sweep('precision-networks', PRECISION_NETWORKS, engines, [1])];
}

/** The native framework at FP32 as the precision study runs it; lower precisions are compared with their own engine's FP32 besides. */
const precisionBaseline = (e: PresetEngines): string => (e.native === 'torch' ? PRECISION_ENGINES.torch[0]! : PRECISION_ENGINES.ort[0]!);

/**
 * The throughput study: offline runs (measure/scenarios/) of the six patterns at depth 30 and
 * width 64 over batch 1–32, one session with the engine's default threads (every core), 3 s per
 * point after the session's warm-up. Offline throughput is what batching is for; the paper saw
 * the native framework's per-image time grow with batch while the accelerated one's stayed flat.
 */
const THROUGHPUT_DEPTH = 30;
const THROUGHPUT_BATCHES = [1, 2, 4, 8, 16, 32];
const THROUGHPUT_SCENARIO: ScenarioPlan = { name: 'offline', streams: [1], durationMs: STUDY_SCENARIO_DURATION_MS, warmupMs: SESSION_WARMUP_MS };

function throughputSweep(e: PresetEngines): Sweep {
  return { ...sweep('throughput', patternModels([THROUGHPUT_DEPTH], [64]), lines(e), THROUGHPUT_BATCHES), scenario: THROUGHPUT_SCENARIO };
}

export function presetStudy(name: PresetName, engines: PresetEngines): Study {
  const sweeps: Record<PresetName, () => Sweep[]> = {
    depth: () => [depthSweep(engines, DEPTHS, [1, 8, 16, 32])],
    width: () => [widthSweep(engines, WIDTHS)],
    networks: () => networkSweeps(engines, NETWORKS),
    quick: () => [
      depthSweep(engines, [10, 30, 50], [1, 8]),
      widthSweep(engines, [32, 128, 512]),
      ...networkSweeps(engines, QUICK_NETWORKS),
    ],
    paper: () => [depthSweep(engines, DEPTHS, [1, 8, 16, 32]), widthSweep(engines, WIDTHS), ...networkSweeps(engines, NETWORKS)],
    cache: () => cacheSweeps(engines),
    precision: () => precisionSweeps(engines),
    throughput: () => [throughputSweep(engines)],
  };
  return {
    name,
    description: PRESET_DESCRIPTIONS[name],
    sweeps: sweeps[name](),
    baseline: name === 'cache' ? CACHE_NATIVE : name === 'precision' ? precisionBaseline(engines) : engines.native,
    reference: 'ort:opt=disabled',
  };
}

/** The native framework, the accelerated engine and the GPU engine (if any) a preset uses, from the engines available here. */
export function presetEngines(available: ReadonlyMap<string, GpuAvailability>): PresetEngines {
  const notes: string[] = [];
  const usable = (name: string) => available.get(name)?.available === true;
  if (!usable('ort')) throw new UserError(`onnxruntime (ort) is not available: ${available.get('ort')?.reason ?? 'unknown'}`, "run 'formbench engines' to see why; the presets need it as the accelerated engine");
  let native = 'torch';
  if (!usable('torch')) {
    notes.push(`torch is not available (${available.get('torch')?.reason ?? 'unknown'}): TensorFlow.js on WebAssembly stands in as the native framework, and DARTS is not run on oneDNN`);
    native = 'tfjs-wasm';
    if (!usable('tfjs-wasm')) throw new UserError('no native framework is available (neither torch nor tfjs-wasm)', "run 'formbench engines' to see why");
  }
  const { gpu, note } = presetGpu(available);
  return { native, accelerated: 'ort', ...(gpu ? { gpu } : {}), notes, ...(note ? { gpuNote: note } : {}) };
}
