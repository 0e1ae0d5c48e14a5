import { existsSync, readdirSync } from 'node:fs';
import ort from 'onnxruntime-node';
import type { Engine, EngineModel, EngineProfile, EngineSession, IdiomaticRun } from './engine.js';
import { convertToFp16, engineCalibration, quantizeOnnx } from '../quantize/index.js';
import { OPT_OPTION, wrapOrtSession, type OptLevel } from './ort-common.js';
import { choiceOption, threadCount, threadsOption } from './options.js';
import { numericsOfPrecisionOption } from './precision.js';
import { describeKernelPrecision, kernelPrecisionSummary, profileKernelPrecision } from './ort-kernel-precision.js';
import { createDefaultSession, createSession, DEFAULT_SESSION_CALL, profiledRuns, type SessionOptions } from './ort-runtime.js';
import { ortLayerTimings, parseOrtTrace } from './ort-trace.js';
import { UNIT_TIMES_SUMMARY } from './profile-times.js';

/** Profiled inferences (after one unrecorded) behind a trial's kernel-precision summary. */
const KERNEL_PRECISION_RUNS = 3;

function sessionOptions(options: Record<string, string>): SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: options['opt'] as OptLevel,
    intraOpNumThreads: threadCount(options),
    interOpNumThreads: 1,
    executionMode: options['execution'] as 'sequential' | 'parallel',
  };
}

/**
 * onnxruntime-node on the CPU execution provider (MLAS kernels). The optimisation level is how
 * the study decomposes acceleration: `basic` folds constants and removes redundancy, `extended`
 * fuses operators (Conv+activation, …), `all` adds the NCHWc blocked layout.
 */
export const ortEngine: Engine = {
  name: 'ort',
  description: 'onnxruntime-node, CPU execution provider (MLAS; opt levels decompose graph optimisation)',
  role: 'accelerated',
  profiles: true,
  options: {
    opt: OPT_OPTION,
    threads: threadsOption('intra-op threads'),
    execution: choiceOption('operator scheduling', ['sequential', 'parallel'], 'sequential'),
    precision: choiceOption(
      'fp32; int8: QDQ-quantised at load (uint8 activations, int8 per-channel weights, min/max over 16 seeded inputs); fp16: float16 weights and compute, float32 input and output',
      ['fp32', 'fp16', 'int8'],
      'fp32',
    ),
  },
  numerics: numericsOfPrecisionOption,
  planningRate: { gmacsPerS: 55, startupS: 0.8 },
  // Measured with formbench bench --budget-s 1 (the worker's peak RSS, as the parent sees it) on a
  // 2-core, 24 GiB VM: 96 MiB on standard/d1/w8/r32 (weights and activations negligible); 534 MiB
  // on standard/d10/w512/r32 (92 MiB of weights): 4.7 copies (the file read, the parsed model, the
  // session's initializers and, at opt=all, prepacked convolution weights); activations: 337 MiB on
  // depthwise-bottleneck/d50/w64 batch 8 (80 MiB of liveness peak: 2.3×, the arena rounds its
  // blocks up), 158 MiB on standard/d10/w64 batch 8 (49 MiB: 1.2×); 2 sits between.
  memoryFootprint: () => ({ baseBytes: 100 * 2 ** 20, weightCopies: 5, activationFactor: 2 }),
  async availability() {
    return { available: true, version: ort.env.versions.node ?? ort.env.versions.common, details: { provider: 'cpu' } };
  },
  async load(fp32Model, options): Promise<EngineSession> {
    const precision = options['precision'] ?? 'fp32';
    const model = { ...fp32Model, onnx: await inPrecision(fp32Model, precision) };
    const session = await createSession(model.onnx, sessionOptions(options));
    return {
      ...wrapOrtSession(session, ort.Tensor),
      profile: (input, dims, runs) => profileOrt(model, options, input, dims, runs),
      idiomatic: () => idiomaticOrt(model.onnx),
      // A second, profiled session: the timed one stays unprofiled. FP32 has nothing to check.
      ...(precision !== 'fp32' ? { kernelPrecision: (data: Float32Array, dims: number[]) => profileKernelPrecision(model.onnx, { data, dims }, KERNEL_PRECISION_RUNS, sessionOptions(options)) } : {}),
    };
  },
};

/**
 * onnxruntime as its users call it: a session made from the bytes with no options at all (its
 * defaults: CPU provider, graph optimisation 'all', intra-op threads of its own choosing), on the
 * session's own bytes (so in the session's precision). The timed call is the session's (both go
 * through wrapOrtSession): the input ort.Tensor made, session.run(), the output's data.
 */
async function idiomaticOrt(onnx: Uint8Array): Promise<IdiomaticRun> {
  const before = osThreadCount();
  const session = await createDefaultSession(onnx);
  const started = before === undefined ? undefined : osThreadCount()! - before;
  // The intra-op pool starts threads − 1 workers (the caller is the last), which shows how many
  // threads onnxruntime chose; onnxruntime-node reports no thread count itself.
  const threads = started !== undefined && started >= 0 ? `, which chose ${started + 1} intra-op thread${started ? 's' : ''}` : '';
  const { run, dispose } = wrapOrtSession(session, ort.Tensor);
  return { description: `${DEFAULT_SESSION_CALL} with onnxruntime defaults (no session options${threads})`, run, dispose };
}

/** Threads of this process (Linux: /proc/self/task), or undefined where that cannot be read. */
function osThreadCount(): number | undefined {
  const tasks = '/proc/self/task';
  return existsSync(tasks) ? readdirSync(tasks).length : undefined;
}

/**
 * The model's ONNX in the requested precision, made at load (so its cost is load time, never
 * inference time). INT8 always calibrates on the same seeded inputs, so every trial of a model
 * runs the same quantised file.
 */
export async function inPrecision(model: EngineModel, precision: string): Promise<Uint8Array> {
  switch (precision) {
    case 'fp32':
      return model.onnx;
    case 'fp16':
      return (await convertToFp16(model.onnx)).onnx;
    case 'int8':
      return (await quantizeOnnx(model.onnx, { calibration: engineCalibration(model.graph), method: 'minmax' })).onnx;
    default:
      throw new Error(`ort: unknown precision '${precision}'`);
  }
}

/**
 * ORT's profiler is a session option, so profiling loads a second session with it on (the
 * timed session stays unprofiled). Its trace is mapped onto the IR's nodes.
 */
async function profileOrt(model: EngineModel, options: Record<string, string>, input: Float32Array, dims: number[], runs: number): Promise<EngineProfile> {
  const { trace: events, wallMs: profiledRunMs } = await profiledRuns(model.onnx, sessionOptions(options), [{ data: input, dims }], runs);
  const layers = ortLayerTimings(parseOrtTrace(events), model.graph, 1);
  // Which precision the kernels computed in: an INT8 or FP16 request can fall back to float kernels.
  const precision = describeKernelPrecision(kernelPrecisionSummary(events, 1));
  const mode = options['execution'] === 'parallel' ? '; parallel execution: kernels may overlap, so their sum can exceed the wall time' : '';
  return {
    layers,
    profiledRunMs,
    method: `onnxruntime profiler (enableProfiling): kernel durations from its trace, ${UNIT_TIMES_SUMMARY} of ${runs} after 1 unrecorded, fused/NCHWc kernels mapped back to IR nodes${mode}. ${precision[0]!.toUpperCase()}${precision.slice(1)}`,
  };
}
