import os from 'node:os';
import ort from 'onnxruntime-node';
import { UserError } from '../errors.js';
import type { Engine, EngineSession } from './engine.js';

const OPT_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;

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
    opt: { description: 'graph optimisation level', values: [...OPT_LEVELS], defaultValue: () => 'all' },
    threads: { description: 'intra-op threads', defaultValue: () => String(os.availableParallelism()) },
    execution: { description: 'operator scheduling', values: ['sequential', 'parallel'], defaultValue: () => 'sequential' },
  },
  async availability() {
    return { available: true, version: ort.env.versions.node ?? ort.env.versions.common, details: { provider: 'cpu' } };
  },
  async load(model, options): Promise<EngineSession> {
    const threads = Number(options['threads']);
    if (!Number.isInteger(threads) || threads < 1) throw new UserError(`ort: threads must be a positive integer, got '${options['threads']}'`);
    const session = await ort.InferenceSession.create(model.onnx, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: options['opt'] as (typeof OPT_LEVELS)[number],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: options['execution'] as 'sequential' | 'parallel',
      logSeverityLevel: 3,
    });
    const inputName = session.inputNames[0]!;
    const outputName = session.outputNames[0]!;
    return {
      async run(input, dims) {
        const result = await session.run({ [inputName]: new ort.Tensor('float32', input, dims) });
        return result[outputName]!.data as Float32Array;
      },
      dispose: () => session.release(),
    };
  },
};
