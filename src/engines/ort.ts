import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import type { Engine, EngineModel, EngineProfile, EngineSession } from './engine.js';
import { OPT_OPTION, threadCount, threadsOption, wrapOrtSession, type OptLevel } from './ort-common.js';
import { ortLayerTimings, parseOrtTrace } from './ort-trace.js';
import { UNIT_TIMES_SUMMARY } from './profile-times.js';

function sessionOptions(options: Record<string, string>): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: options['opt'] as OptLevel,
    intraOpNumThreads: threadCount('ort', options),
    interOpNumThreads: 1,
    executionMode: options['execution'] as 'sequential' | 'parallel',
    logSeverityLevel: 3,
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
    execution: { description: 'operator scheduling', values: ['sequential', 'parallel'], defaultValue: () => 'sequential' },
  },
  async availability() {
    return { available: true, version: ort.env.versions.node ?? ort.env.versions.common, details: { provider: 'cpu' } };
  },
  async load(model, options): Promise<EngineSession> {
    const session = await ort.InferenceSession.create(model.onnx, sessionOptions(options));
    return { ...wrapOrtSession(session, ort.Tensor), profile: (input, dims, runs) => profileOrt(model, options, input, dims, runs) };
  },
};

/**
 * ORT's profiler is a session option, so profiling loads a second session with it on (the
 * timed session stays unprofiled). The trace is written under a temporary prefix when the
 * profiler ends, then read back and mapped onto the IR's nodes.
 */
async function profileOrt(model: EngineModel, options: Record<string, string>, input: Float32Array, dims: number[], runs: number): Promise<EngineProfile> {
  const dir = mkdtempSync(join(tmpdir(), 'formbench-ort-profile-'));
  try {
    const session = await ort.InferenceSession.create(model.onnx, { ...sessionOptions(options), enableProfiling: true, profileFilePrefix: join(dir, 'trace') });
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, dims) };
    const profiledRunMs: number[] = [];
    try {
      for (let i = 0; i <= runs; i++) {
        const t0 = performance.now();
        await session.run(feeds);
        if (i > 0) profiledRunMs.push(performance.now() - t0);
      }
      session.endProfiling();
    } finally {
      await session.release();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('ort: the profiler wrote no trace file');
    const trace = parseOrtTrace(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    const layers = ortLayerTimings(trace, model.graph, 1);
    const mode = options['execution'] === 'parallel' ? '; parallel execution: kernels may overlap, so their sum can exceed the wall time' : '';
    return {
      layers,
      profiledRunMs,
      method: `onnxruntime profiler (enableProfiling): kernel durations from its trace, ${UNIT_TIMES_SUMMARY} of ${runs} after 1 unrecorded, fused/NCHWc kernels mapped back to IR nodes${mode}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
