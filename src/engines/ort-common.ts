import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { EngineOption, EngineSession } from './engine.js';
import { choiceOption } from './options.js';

/** onnxruntime's graph optimisation levels, shared by the native and the WebAssembly runtimes. */
export const OPT_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type OptLevel = (typeof OPT_LEVELS)[number];

export const OPT_OPTION: EngineOption = choiceOption('graph optimisation level', OPT_LEVELS, 'all');

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
