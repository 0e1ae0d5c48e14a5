import ort from 'onnxruntime-node';
import type { Engine, EngineSession } from './engine.js';
import { OPT_OPTION, threadCount, threadsOption, wrapOrtSession, type OptLevel } from './ort-common.js';

/**
 * onnxruntime-node on the CPU execution provider (MLAS kernels). The optimisation level is how
 * the study decomposes acceleration: `basic` folds constants and removes redundancy, `extended`
 * fuses operators (Conv+activation, …), `all` adds the NCHWc blocked layout.
 */
export const ortEngine: Engine = {
  name: 'ort',
  description: 'onnxruntime-node, CPU execution provider (MLAS; opt levels decompose graph optimisation)',
  role: 'accelerated',
  options: {
    opt: OPT_OPTION,
    threads: threadsOption('intra-op threads'),
    execution: { description: 'operator scheduling', values: ['sequential', 'parallel'], defaultValue: () => 'sequential' },
  },
  async availability() {
    return { available: true, version: ort.env.versions.node ?? ort.env.versions.common, details: { provider: 'cpu' } };
  },
  async load(model, options): Promise<EngineSession> {
    const session = await ort.InferenceSession.create(model.onnx, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: options['opt'] as OptLevel,
      intraOpNumThreads: threadCount('ort', options),
      interOpNumThreads: 1,
      executionMode: options['execution'] as 'sequential' | 'parallel',
      logSeverityLevel: 3,
    });
    return wrapOrtSession(session, ort.Tensor);
  },
};
