import { engineCalibration } from '../quantize/inputs.js';
import type { Range } from '../quantize/ranges.js';
import { int8TfliteModel, int8TfliteRanges } from '../quantize/tflite-int8.js';
import { toTfliteBytes, toTfliteModel, writeTflite } from '../tflite/index.js';
import type { Engine, EngineModel, EngineSession } from './engine.js';
import { LITERT_BUILD, litertMissing, litertPackage, loadLiteRt, type LiteRt } from './litert-runtime.js';
import { choiceOption, threadCount, threadsOption } from './options.js';
import { numericsOfPrecisionOption } from './precision.js';
import { webgpuAdapter } from './webgpu-adapter.js';

type CompiledModel = Awaited<ReturnType<LiteRt['loadAndCompile']>>;

/**
 * LiteRT.js (formerly TensorFlow Lite for the web): the model as a `.tflite` file (tflite/export.ts,
 * BatchNorm folded and activations fused as LiteRT's converter does), compiled by LiteRT's
 * CompiledModel API for XNNPACK in WebAssembly (threaded build) or WebGPU. The edge ecosystem's
 * accelerated runtime. `.tflite` shapes are static: a file is written and compiled per batch,
 * batch 1 at load and any other on its first inference (which the protocol keeps apart).
 * `precision=int8` writes the file fully integer-quantised (quantize/tflite-int8.ts), as LiteRT's
 * converter does for full-integer post-training quantisation.
 */
export const litertEngine: Engine = {
  name: 'litert',
  description: 'LiteRT.js (TFLite) in Node: the model as .tflite, XNNPACK in threaded WebAssembly or WebGPU: the edge ecosystem\'s accelerated runtime',
  role: 'accelerated',
  options: {
    accelerator: choiceOption(
      "LiteRT.js's accelerator: 'wasm' (XNNPACK, relaxed SIMD, pthreads) or 'webgpu' (Dawn's adapter; the whole model must delegate; on SwiftShader the worker dies in LiteRT's WebGPU compile)",
      ['wasm', 'webgpu'],
      'wasm',
    ),
    threads: threadsOption('XNNPACK threads (cpuOptions.numThreads; the pthread pool is sized to fit)'),
    precision: choiceOption(
      'fp32; int8: the .tflite fully integer-quantised at load (int8 activations per tensor, int8 weights per output channel, int32 biases; min/max over 16 seeded inputs, as ort:precision=int8 calibrates)',
      ['fp32', 'int8'],
      'fp32',
    ),
  },
  numerics: numericsOfPrecisionOption,
  planningRate: { gmacsPerS: 15, startupS: 1 },
  // From the peak RSS of bench trials on this project's 2-core machine (under load): 152-173 MiB
  // on standard/d2/w16/r32, 211 MiB on standard/d10/w64, 277 MiB on mobilenet_v2 (14 MB of
  // weights): the 9 MB threaded wasm module compiled, its heap (which never shrinks), and the
  // weights several times (the IR's, the .tflite bytes, the copy into the wasm heap, XNNPACK's
  // packed copy). A first estimate, not a fit: the watchdog still holds the cap.
  memoryFootprint: () => ({ baseBytes: 210 * 2 ** 20, weightCopies: 4, activationFactor: 1.5 }),
  notSimulated: {
    reason: 'LiteRT.js runs its inferences on a pool of wasm pthreads (worker threads) that the simulated counting of one inference does not follow; it has not been tried under valgrind',
    hint: 'simulate ort or tfjs-wasm instead',
  },
  async availability() {
    const missing = litertMissing();
    if (missing) return { available: false, reason: missing };
    const nodeMajor = Number(process.versions.node.split('.')[0]);
    if (nodeMajor < 20) return { available: false, reason: `LiteRT.js's threaded build needs Node 20 or later (this is ${process.version})` };
    return {
      available: true,
      version: litertPackage().version,
      details: {
        build: `${LITERT_BUILD} (relaxed SIMD via --experimental-wasm-relaxed-simd, pthreads as worker threads)`,
        jspi: 'not in Node 20 (no WebAssembly.Suspending): no WebNN, no WebGPU/wasm partitioning',
      },
    };
  },
  async load(model, options) {
    const threads = threadCount(options);
    const litert = await loadLiteRt(threads);
    const webgpu = options['accelerator'] === 'webgpu';
    if (webgpu) await useDawnDevice(litert);
    const fileFor = tfliteFor(model, options['precision'] ?? 'fp32');
    const compileFor = async (batch: number): Promise<CompiledModel> => {
      const bytes = await fileFor(batch);
      const compiled = await litert.loadAndCompile(bytes, webgpu ? { accelerator: 'webgpu', gpuOptions: { precision: 'fp32' } } : { accelerator: 'wasm', cpuOptions: { numThreads: threads } });
      if (webgpu && !compiled.isFullyAccelerated) {
        compiled.delete();
        throw new Error('LiteRT.js could not delegate every operator to WebGPU, and without JSPI (absent in Node 20) it cannot split the model between WebGPU and wasm');
      }
      return compiled;
    };
    return session(litert, compileFor, await compileFor(1));
  },
};

/**
 * The session's .tflite for a batch. INT8 is calibrated once (on the same seeded inputs for every
 * trial, so every trial of a model runs the same file) and the ranges serve every batch.
 */
function tfliteFor(model: EngineModel, precision: string): (batch: number) => Promise<Uint8Array> {
  const description = `formbench ${model.spec}`;
  if (precision === 'fp32') return async (batch) => toTfliteBytes(model.graph, { batch, description });
  if (precision !== 'int8') throw new Error(`litert: unknown precision '${precision}'`);
  let ranges: Promise<Map<string, Range>> | undefined;
  return async (batch) => {
    const float = toTfliteModel(model.graph, { batch, description: `${description} int8` });
    ranges ??= int8TfliteRanges(model.graph, float, { calibration: engineCalibration(model.graph), method: 'minmax' });
    return writeTflite(int8TfliteModel(float, await ranges).model);
  };
}

function session(litert: LiteRt, compileFor: (batch: number) => Promise<CompiledModel>, first: CompiledModel): EngineSession {
  const compiled = new Map<number, CompiledModel>([[1, first]]);
  // The input tensor of the last run, kept while the caller passes the same array: LiteRT.js
  // copies an input into the wasm heap when its Tensor is made, and a Tensor made per run grew
  // the heap by the input's size each run (33 MiB over 2680 runs of a 12 KiB input) although
  // each was deleted.
  let last: { data: Float32Array; dims: string; tensor: InstanceType<LiteRt['Tensor']> } | undefined;
  const inputTensor = (input: Float32Array, dims: number[]) => {
    const key = dims.join('x');
    if (last && last.data === input && last.dims === key) return last.tensor;
    last?.tensor.delete();
    last = { data: input, dims: key, tensor: new litert.Tensor(input, dims) };
    return last.tensor;
  };
  return {
    async run(input, dims) {
      const batch = dims[0]!;
      let cm = compiled.get(batch);
      if (!cm) {
        cm = await compileFor(batch);
        compiled.set(batch, cm);
      }
      const outputs = await cm.run(inputTensor(input, dims));
      try {
        // A copy: the output's memory belongs to the wasm heap and goes with the tensor.
        return Float32Array.from(outputs[0]!.toTypedArray() as Float32Array);
      } finally {
        for (const o of outputs) o.delete();
      }
    },
    async dispose() {
      last?.tensor.delete();
      last = undefined;
      for (const cm of compiled.values()) cm.delete();
      compiled.clear();
    },
  };
}

/**
 * LiteRT.js asks `navigator.gpu` for a device, which Node does not have: the device of Dawn's
 * adapter (the `webgpu` package, on the driver webgpu-adapter.ts chose) is handed to it instead.
 */
async function useDawnDevice(litert: LiteRt): Promise<void> {
  const found = await webgpuAdapter();
  if (!found.ok) throw new Error(`LiteRT.js WebGPU: ${found.reason}`);
  const { create, globals } = await import('webgpu');
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
  const gpu = create([]) as unknown as { requestAdapter(o?: object): Promise<{ limits: Record<string, number>; features: Set<string>; requestDevice(d?: object): Promise<unknown> } | null> };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('LiteRT.js WebGPU: Dawn found no adapter');
  const device = await adapter.requestDevice({
    requiredFeatures: ['shader-f16', 'subgroups'].filter((f) => adapter.features.has(f)),
    requiredLimits: {
      maxBufferSize: adapter.limits['maxBufferSize'],
      maxStorageBufferBindingSize: adapter.limits['maxStorageBufferBindingSize'],
      maxStorageBuffersPerShaderStage: adapter.limits['maxStorageBuffersPerShaderStage'],
    },
  });
  litert.setWebGpuDevice(device as Parameters<LiteRt['setWebGpuDevice']>[0]);
}
