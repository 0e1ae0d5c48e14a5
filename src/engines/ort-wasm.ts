import os from 'node:os';
import { UserError } from '../errors.js';
import type { Engine, EngineSession } from './engine.js';

type OrtWeb = typeof import('onnxruntime-web');

/** onnxruntime-web is loaded only when this engine is used: its wasm runtime starts on import. */
let loaded: Promise<OrtWeb> | undefined;
const ortWeb = (): Promise<OrtWeb> => (loaded ??= import('onnxruntime-web'));

const OPT_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;

/**
 * onnxruntime-web's WebAssembly backend running in Node (SIMD, threads through workers): the
 * portable acceleration a browser or an edge runtime gets. Its thread count is fixed when the
 * wasm runtime starts (once per process), which a trial worker's single session respects.
 */
export const ortWasmEngine: Engine = {
  name: 'ort-wasm',
  description: 'onnxruntime-web, WebAssembly (SIMD, threads) in Node: portable acceleration',
  role: 'portable',
  options: {
    opt: { description: 'graph optimisation level', values: [...OPT_LEVELS], defaultValue: () => 'all' },
    threads: { description: 'wasm threads (onnxruntime-web defaults to 1 on 2 cores; formbench sets all cores)', defaultValue: () => String(os.availableParallelism()) },
  },
  async availability() {
    const ort = await ortWeb();
    return { available: true, version: ort.env.versions.web ?? ort.env.versions.common, details: { backend: 'wasm', simd: 'yes (only SIMD builds ship)' } };
  },
  async load(model, options): Promise<EngineSession> {
    const threads = Number(options['threads']);
    if (!Number.isInteger(threads) || threads < 1) throw new UserError(`ort-wasm: threads must be a positive integer, got '${options['threads']}'`);
    const ort = await ortWeb();
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    const session = await ort.InferenceSession.create(model.onnx, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: options['opt'] as (typeof OPT_LEVELS)[number],
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
