import os from 'node:os';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { UserError } from '../errors.js';
import type { EngineOption, EngineSession } from './engine.js';

/** onnxruntime's graph optimisation levels, shared by the native and the WebAssembly runtimes. */
export const OPT_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type OptLevel = (typeof OPT_LEVELS)[number];

export const OPT_OPTION: EngineOption = { description: 'graph optimisation level', values: [...OPT_LEVELS], defaultValue: () => 'all' };

export function threadsOption(description: string): EngineOption {
  return { description, defaultValue: () => String(os.availableParallelism()) };
}

export function threadCount(engine: string, options: Record<string, string>): number {
  const threads = Number(options['threads']);
  if (!Number.isInteger(threads) || threads < 1) throw new UserError(`${engine}: threads must be a positive integer, got '${options['threads']}'`);
  return threads;
}

/** An onnxruntime session (either package) behind the engine contract: first input in, first output out. */
export function wrapOrtSession(session: InferenceSession, TensorCtor: typeof Tensor): EngineSession {
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  return {
    async run(input, dims) {
      const result = await session.run({ [inputName]: new TensorCtor('float32', input, dims) });
      return result[outputName]!.data as Float32Array;
    },
    dispose: () => session.release(),
  };
}
