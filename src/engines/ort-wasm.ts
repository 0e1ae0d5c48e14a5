import type { Engine, EngineSession } from './engine.js';
import { OPT_OPTION, wrapOrtSession, type OptLevel } from './ort-common.js';
import { threadCount, threadsOption } from './options.js';
import { createWebSession, loadOrtWeb } from './ort-runtime.js';

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
    opt: OPT_OPTION,
    threads: threadsOption('wasm threads (onnxruntime-web defaults to 1 on 2 cores; formbench sets all cores)'),
  },
  planningRate: { gmacsPerS: 15, startupS: 0.8 },
  // Measured as ort.ts's: 186 MiB on standard/d1/w8/r32 and 247 MiB on standard/d10/w64 (the wasm
  // heap grows and never shrinks); 632 MiB on standard/d10/w512/r32: 4.8 copies of its 92 MiB of
  // weights (the file, the copy into the wasm heap, the session's own).
  memoryFootprint: () => ({ baseBytes: 250 * 2 ** 20, weightCopies: 5, activationFactor: 1.5 }),
  async availability() {
    const ort = await loadOrtWeb();
    return { available: true, version: ort.env.versions.web ?? ort.env.versions.common, details: { backend: 'wasm', simd: 'yes (only SIMD builds ship)' } };
  },
  async load(model, options): Promise<EngineSession> {
    const threads = threadCount(options);
    const ort = await loadOrtWeb();
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = 'error';
    const session = await createWebSession(model.onnx, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: options['opt'] as OptLevel,
    });
    return wrapOrtSession(session, ort.Tensor);
  },
};
