/**
 * onnxruntime-web in the page: the one place the page creates sessions (as engines/ort-runtime.ts
 * is in Node). It loads from the server that served the page (assets.ts serves the wasm build at
 * /ort/), with every logical core as a wasm thread where the page is cross-origin isolated, as
 * formbench's ort-wasm engine sets in Node.
 */
import type * as Ort from 'onnxruntime-web';

export type OrtWeb = typeof Ort;

export interface PageSession {
  /** One inference: the first input in, the first output out. */
  run(input: Float32Array, dims: number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

const ORT_PATH = '/ort/';

export async function loadOrtWeb(threads: number): Promise<OrtWeb> {
  // A variable, not a literal: the bundle leaves this import to the browser, which fetches it from this server.
  const url: string = `${ORT_PATH}ort.wasm.min.mjs`;
  const ort = (await import(url)) as OrtWeb;
  ort.env.wasm.wasmPaths = ORT_PATH;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  return ort;
}

export async function createPageSession(ort: OrtWeb, onnx: Uint8Array, options: Record<string, string>): Promise<PageSession> {
  const session = await ort.InferenceSession.create(onnx, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: (options['opt'] ?? 'all') as 'disabled' | 'basic' | 'extended' | 'all',
  });
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  return {
    async run(input, dims) {
      const result = await session.run({ [inputName]: new ort.Tensor('float32', input, dims) });
      return result[outputName]!.data as Float32Array;
    },
    release: () => session.release(),
  };
}
