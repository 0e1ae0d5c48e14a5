import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as TF from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { Graph } from '../ir/index.js';
import type { Availability, Engine, EngineProfile, EngineSession, GpuAdapter, IdiomaticRun } from './engine.js';
import { choiceOption } from './options.js';
import { UNIT_TIMES_SUMMARY, UnitTimes } from './profile-times.js';
import { buildGraphModel } from './tfjs-graph-model.js';
import { compileGraph, type Program, type ProgramStep, type Tf } from './tfjs-ops.js';
import { placementOfTfjsWebgpu } from './tfjs-webgpu-placement.js';
import { describeAdapter, GPU_NOT_SIMULATED, webgpuAdapter } from './webgpu-adapter.js';

/**
 * TensorFlow.js executing the IR op by op, in NHWC, with BatchNormalization folded into the
 * convolution before it and bias + ReLU/ReLU6 fused into the call, as tfjs-converter's output
 * runs (tfjs-fold.ts): the JavaScript ecosystem's native framework.
 * `tfjs-cpu` is the pure-JavaScript backend; `tfjs-wasm` the WebAssembly one (XNNPACK, SIMD; in
 * Node single-threaded); `tfjs-webgpu` the WebGPU one, on Dawn (the `webgpu` package) in Node. TF.js
 * is loaded only when one of them is used. The backends share one tfjs-core per process; a session
 * makes its own backend current before it runs.
 */
type Backend = 'cpu' | 'wasm' | 'webgpu';

let core: Promise<Tf> | undefined;
const tfCore = (): Promise<Tf> => (core ??= import('@tensorflow/tfjs-core'));

let wasmPathsSet = false;
async function registerBackend(backend: Backend): Promise<void> {
  if (backend === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    return;
  }
  if (backend === 'webgpu') {
    await provideNavigatorGpu();
    // It registers itself on import, and only where navigator.gpu exists.
    await import('@tensorflow/tfjs-backend-webgpu');
    return;
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    // In Node the .wasm files are read from the package's dist/ folder (a path prefix).
    const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.dirname(main) + path.sep);
    wasmPathsSet = true;
  }
}

/**
 * TF.js's WebGPU backend asks `navigator.gpu` for its adapter, which Node does not have: Dawn's
 * (the `webgpu` package) is put there, after the adapter search has chosen the Vulkan driver
 * (webgpu-adapter.ts sets it in the environment before Dawn first starts in this process).
 */
let navigatorGpu: Promise<void> | undefined;
function provideNavigatorGpu(): Promise<void> {
  return (navigatorGpu ??= (async () => {
    const found = await webgpuAdapter();
    if (!found.ok) throw new UserError(`TF.js backend 'webgpu': ${found.reason}`);
    const { create, globals } = await import('webgpu');
    // The WebGPU constants (GPUBufferUsage, …) the backend refers to as globals.
    for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
    const gpu = create([]);
    const nav = (globalThis as { navigator?: object }).navigator;
    if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: `Node.js ${process.version}` }, configurable: true, writable: true });
  })());
}

/**
 * Makes `backend` the current TF.js backend, initialising it on first use. `tf.setBackend`
 * answers false (and only logs why) when initialisation fails: the log is caught for the reason.
 */
function useBackend(backend: Backend): Promise<Tf> {
  // One switch at a time: TF.js has one global backend, and two probes switching at once (the
  // engines command asks every engine concurrently) left the wasm probe reading 'cpu' and
  // reporting wasm as unavailable.
  const switched = backendSwitch.then(() => switchBackend(backend));
  backendSwitch = switched.catch(() => undefined);
  return switched;
}
let backendSwitch: Promise<unknown> = Promise.resolve();

async function switchBackend(backend: Backend): Promise<Tf> {
  const tf = await tfCore();
  await registerBackend(backend);
  if (tf.getBackend() === backend) return tf;
  const warnings: string[] = [];
  const warn = console.warn;
  const prod = tf.env().getBool('PROD');
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
  let ok: boolean;
  try {
    tf.env().set('PROD', false); // PROD silences the failure log we want to read.
    ok = await tf.setBackend(backend);
    if (ok) await tf.ready();
  } catch (e) {
    warnings.push((e as Error).message);
    ok = false;
  } finally {
    console.warn = warn;
    tf.env().set('PROD', prod);
  }
  if (!ok || tf.getBackend() !== backend) {
    const why = warnings.map((w) => w.split('\n')[0]).filter(Boolean).join('; ');
    throw new UserError(`TF.js backend '${backend}' did not initialise (tf.setBackend returned false)${why ? `: ${why}` : ''}`);
  }
  // Production mode: no per-op debug checks, and no "install tfjs-node" banner from the cpu backend.
  tf.enableProdMode();
  return tf;
}

async function availability(backend: Backend): Promise<Availability> {
  let tf: Tf;
  let gpu: GpuAdapter | undefined;
  if (backend === 'webgpu') {
    const found = await webgpuAdapter();
    if (!found.ok) return { available: false, reason: found.reason };
    gpu = found.adapter;
  }
  try {
    tf = await useBackend(backend);
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
  const details: Record<string, string> = { backend, layout: 'NHWC', precision: 'fp32' };
  if (backend === 'cpu') {
    details['kernels'] = 'pure JavaScript';
  } else if (backend === 'webgpu') {
    details['kernels'] = 'WebGPU compute shaders (WGSL, f32)';
    details['adapter'] = describeAdapter(gpu!);
    details['cpu forwarding'] = `ops whose inputs are all on the CPU and under ${tf.env().getNumber('WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD')} elements run there (WEBGPU_CPU_FORWARD, its default)`;
    return { available: true, version: tf.version_core, details, gpu: gpu! };
  } else {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    details['kernels'] = 'WebAssembly (XNNPACK)';
    details['simd'] = simd ? 'yes' : 'no';
    details['threads'] = threads ? 'multithreaded build available' : '1 (no multithreading in Node)';
  }
  return { available: true, version: tf.version_core, details };
}

async function load(backend: Backend, name: string, model: Parameters<Engine['load']>[0]): Promise<EngineSession> {
  const tf = await useBackend(backend);
  const program = compileGraph(tf, model.graph, name, { batchNormAsScaleShift: backend === 'wasm' });
  let disposed = false;
  return {
    async run(input, dims) {
      if (disposed) throw new Error(`${name}: the session was disposed`);
      if (tf.getBackend() !== backend) await useBackend(backend);
      if (dims.length !== program.inputRank) throw new UserError(`${name}: input has rank ${dims.length}, the model expects ${program.inputRank}`);
      // One timed call (the idiomatic run's, below, is made of the same steps): the input tensor
      // made and transposed to NHWC, the interpreter, the output read back.
      return timedCall(tf, input, dims, (x) => program.run(x));
    },
    async profile(input, dims, runs) {
      if (disposed) throw new Error(`${name}: the session was disposed`);
      if (tf.getBackend() !== backend) await useBackend(backend);
      // cpu and wasm compute inside the op call, so the clock needs no read-back (which here
      // doubled the profiled inference of depthwise-separable/d10/w64: every activation copied).
      // WebGPU computes later, on the device: each step is timed there (timestamp queries).
      if (backend === 'webgpu') return profileOnDevice(tf, program, input, dims, runs);
      return profileProgram(tf, program, input, dims, runs, !SYNCHRONOUS_BACKENDS.has(backend));
    },
    ...(backend === 'webgpu'
      ? {
          async placement(input: Float32Array, dims: number[]) {
            if (disposed) throw new Error(`${name}: the session was disposed`);
            if (tf.getBackend() !== backend) await useBackend(backend);
            return placementOfTfjsWebgpu(tf, (x) => program.run(x), () => physicalInput(tf, input, dims));
          },
        }
      : {}),
    async idiomatic() {
      if (disposed) throw new Error(`${name}: the session was disposed`);
      if (tf.getBackend() !== backend) await useBackend(backend);
      return idiomaticGraphModel(tf, backend, name, model.graph);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      program.dispose();
    },
  };
}

/**
 * One inference as both the engine and its idiomatic reference time it: the input tensor made
 * and transposed to NHWC, the forward pass, the output read back (data() waits for the backend
 * to finish, so the inference completes inside the call), every tensor disposed.
 */
async function timedCall(tf: Tf, input: Float32Array, dims: number[], forward: (x: TF.Tensor) => TF.Tensor): Promise<Float32Array> {
  const x = physicalInput(tf, input, dims);
  let y: TF.Tensor;
  try {
    y = forward(x);
  } finally {
    x.dispose();
  }
  try {
    return (await y.data()) as Float32Array;
  } finally {
    y.dispose();
  }
}

/** The NCHW input as a tensor in the layout TF.js computes in (NHWC when 4-D). */
function physicalInput(tf: Tf, input: Float32Array, dims: number[]): TF.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(input, dims, 'float32');
    return dims.length === 4 ? tf.transpose(t, [0, 2, 3, 1]) : t;
  });
}

type Tfc = typeof import('@tensorflow/tfjs-converter');
let converterApi: Promise<Tfc> | undefined;

/**
 * The session's network as a tfjs-converter GraphModel (tfjs-graph-model.ts: BN folded, bias and
 * ReLU fused as the converter emits them) loaded from memory on the same backend. Its timed call
 * matches the session's `run`: the input tensor made and transposed to NHWC (the same code),
 * `model.execute()`, the output read back with `data()`.
 */
async function idiomaticGraphModel(tf: Tf, backend: Backend, name: string, graph: Graph): Promise<IdiomaticRun> {
  const tfc = await (converterApi ??= import('@tensorflow/tfjs-converter'));
  const { artifacts, outputName, outputNhwc, ops } = buildGraphModel(graph, name);
  const model = await tfc.loadGraphModel(tf.io.fromMemory(artifacts));
  let disposed = false;
  return {
    description: `tfjs-converter GraphModel (tfjs-converter ${tfc.version_converter}; BN folded, bias+ReLU fused as the converter emits them: ${ops.join(', ')}) execute() on the ${backend} backend`,
    async run(input, dims) {
      if (disposed) throw new Error(`${name}: the idiomatic model was disposed`);
      if (tf.getBackend() !== backend) await useBackend(backend);
      if (dims.length !== 4) throw new UserError(`${name}: the idiomatic model takes an N×C×H×W input, got rank ${dims.length}`);
      return timedCall(tf, input, dims, (x) =>
        tf.tidy(() => {
          const out = model.execute(x, outputName) as TF.Tensor;
          return outputNhwc ? tf.transpose(out, [0, 3, 1, 2]) : out;
        }),
      );
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}

/** Backends whose kernels have finished when the op call returns. */
const SYNCHRONOUS_BACKENDS = new Set<Backend>(['cpu', 'wasm']);

/** The unit name of the NCHW → NHWC input conversion, which no IR node stands for. */
const INPUT_LAYOUT_STEP = 'input NCHW→NHWC';

/** A program step as a profile's compute unit: the node it is named after and the nodes it covers. */
const unitOf = (step: ProgramStep) => ({ name: step.node.name, op: step.op, kind: 'compute' as const, nodes: step.nodes.map((n) => n.name) });

/**
 * `runs` profiled inferences after one unrecorded (the first compiles and allocates), each from
 * the input tensor made to its output read back; `infer` runs the program on the physical input,
 * timing what it times. Returns each recorded inference's wall time, ms.
 */
async function profiledInferences(tf: Tf, input: Float32Array, dims: number[], runs: number, infer: (x: TF.Tensor, run: number, record: boolean, startMs: number) => TF.Tensor | Promise<TF.Tensor>): Promise<number[]> {
  const profiledRunMs: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const record = run > 0;
    const t0 = performance.now();
    const x = physicalInput(tf, input, dims);
    let y: TF.Tensor;
    try {
      y = await infer(x, run, record, t0);
    } finally {
      x.dispose();
    }
    try {
      await y.data();
    } finally {
      y.dispose();
    }
    if (record) profiledRunMs.push(performance.now() - t0);
  }
  return profiledRunMs;
}

/**
 * Each node timed in the interpreter over `runs` inferences after one unrecorded; with
 * `readBack`, each step's outputs are read before the clock (see Program.runProfiled).
 */
async function profileProgram(tf: Tf, program: Program, input: Float32Array, dims: number[], runs: number, readBack: boolean): Promise<EngineProfile> {
  const times = new UnitTimes();
  const profiledRunMs = await profiledInferences(tf, input, dims, runs, (x, run, record, t0) => {
    if (readBack) x.dataSync();
    if (record && dims.length === 4) times.add(run, { name: INPUT_LAYOUT_STEP, op: 'Transpose', kind: 'layout', nodes: [] }, performance.now() - t0);
    return program.runProfiled(x, (step, ms) => record && times.add(run, unitOf(step), ms), readBack);
  });
  return {
    layers: times.timings(),
    profiledRunMs,
    method:
      `TF.js interpreter: each IR node (or fused Conv+BN+activation unit) timed with performance.now() around its kernel` +
      (readBack ? ' and a dataSync() of its outputs (the read-back is included)' : ` (the ${tf.getBackend()} backend computes inside the op call: no read-back needed)`) +
      `; ${UNIT_TIMES_SUMMARY} of ${runs} after 1 unrecorded`,
  };
}

/**
 * Each node's time on the GPU: `tf.time` around each step sums the timestamp queries of the
 * programs it dispatched (where the adapter has none, its wall time, which waits for the step's
 * outputs). Timing a step waits for it, so the GPU runs one step at a time, as in every op-by-op
 * profile; the sum can exceed an unprofiled inference.
 */
async function profileOnDevice(tf: Tf, program: Program, input: Float32Array, dims: number[], runs: number): Promise<EngineProfile> {
  const times = new UnitTimes();
  let onDevice = true;
  const profiledRunMs = await profiledInferences(tf, input, dims, runs, (x, run, record) =>
    program.runMeasured(x, async (step, compute) => {
      let ys: (TF.Tensor | undefined)[] = [];
      const timing = await tf.time(() => {
        ys = compute();
      });
      const kernelMs = (timing as { kernelMs: number | { error: string } }).kernelMs;
      if (typeof kernelMs !== 'number') onDevice = false;
      if (record) times.add(run, unitOf(step), typeof kernelMs === 'number' ? kernelMs : timing.wallMs);
      return ys;
    }),
  );
  return {
    layers: times.timings(),
    profiledRunMs,
    method: `TF.js interpreter on WebGPU: each IR node (or fused Conv+BN+activation unit) timed ${onDevice ? "on the device with tf.time() (the backend's timestamp queries around the programs it dispatched)" : 'with tf.time() wall time (the adapter has no timestamp queries)'}, one step at a time; ${UNIT_TIMES_SUMMARY} of ${runs} after 1 unrecorded`,
  };
}

/** Both backends prepare the same graph (see tfjsWasmEngine for the measured figures). */
const TFJS_FOOTPRINT = { baseBytes: 120 * 2 ** 20, weightCopies: 5, activationFactor: 1.5 };

export const tfjsCpuEngine: Engine = {
  name: 'tfjs-cpu',
  description: 'TensorFlow.js, cpu backend (pure JavaScript kernels), op by op in NHWC (BN folded and bias+ReLU fused into convolutions, as a converted GraphModel runs), FP32 only: the JavaScript native framework',
  role: 'native',
  profiles: true,
  options: {},
  planningRate: { gmacsPerS: 0.15, startupS: 0.8 },
  // Measured: 95 MiB on standard/d1/w8/r32; weights and activations taken as tfjs-wasm's (same
  // graph preparation; too slow to measure on a large model here).
  memoryFootprint: () => TFJS_FOOTPRINT,
  availability: () => availability('cpu'),
  load: (model) => load('cpu', 'tfjs-cpu', model),
};

export const tfjsWasmEngine: Engine = {
  name: 'tfjs-wasm',
  description: 'TensorFlow.js, wasm backend (XNNPACK, SIMD, one thread in Node), op by op in NHWC (BN folded and bias+ReLU fused into convolutions, as a converted GraphModel runs), FP32 only',
  role: 'native',
  profiles: true,
  options: {
    threads: choiceOption('wasm threads: TF.js multithreading is not available in Node, so only 1', ['1'], '1'),
  },
  planningRate: { gmacsPerS: 4, startupS: 0.8 },
  // Measured as ort.ts's: 101 MiB on standard/d1/w8/r32; 543 MiB on standard/d10/w512/r32: 4.8
  // copies of its 92 MiB of weights (the file, the IR's float copies, the folded weights, the
  // backend's tensors); standard/d10/w64 batch 1 → 8 added 38 MiB for 43 MiB of liveness peak.
  memoryFootprint: () => TFJS_FOOTPRINT,
  availability: () => availability('wasm'),
  load: (model) => load('wasm', 'tfjs-wasm', model),
};

export const tfjsWebgpuEngine: Engine = {
  name: 'tfjs-webgpu',
  description: 'TensorFlow.js, WebGPU backend (WGSL compute shaders on Dawn in Node), op by op in NHWC as tfjs-wasm: GPU acceleration of the JavaScript framework',
  role: 'gpu-accelerated',
  profiles: true,
  options: {
    precision: {
      description: "fp32 only: TF.js 4.22's WebGPU backend has no float16 kernels (tfjs-core has no float16 dtype and its shaders are generated in f32); ort-webgpu:precision=fp16 runs FP16 on the GPU",
      values: ['fp32', 'fp16'],
      defaultValue: () => 'fp32',
      parse: (value) => {
        if (value === 'fp16') throw new Error("TF.js 4.22's WebGPU backend has no float16 kernels (tfjs-core has no float16 dtype; its shaders are f32); ort-webgpu:precision=fp16 runs FP16 on the GPU");
        return value;
      },
    },
  },
  planningRate: { gmacsPerS: 20, startupS: 2 },
  // Measured as tfjs-wasm's, on SwiftShader (GPU buffers in host memory): 209 MiB on
  // standard/d1/w8/r32; 660 MiB on standard/d10/w512/r32, 4.9 copies of its 92 MiB of weights;
  // depthwise-bottleneck/d20/w64/r64 355 MiB against an estimate of 245: deep networks add memory
  // per layer that no term here models (SwiftShader's compiled shaders, the backend's buffer pool);
  // the watchdog still holds the cap.
  memoryFootprint: () => ({ ...TFJS_FOOTPRINT, baseBytes: 220 * 2 ** 20, activationFactor: 3 }),
  notSimulated: GPU_NOT_SIMULATED,
  availability: () => availability('webgpu'),
  load: (model) => load('webgpu', 'tfjs-webgpu', model),
};
