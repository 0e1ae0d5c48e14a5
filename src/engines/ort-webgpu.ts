import ort from 'onnxruntime-node';
import type { Engine, EngineModel, EngineProfile, EngineSession, ProviderShare, WorkPlacement } from './engine.js';
import { OPT_OPTION, wrapOrtSession, type OptLevel } from './ort-common.js';
import { MAC_OPS } from './ort-kernel-precision.js';
import { inPrecision } from './ort.js';
import { choiceOption } from './options.js';
import { numericsOfPrecisionOption } from './precision.js';
import { createSession, profiledRuns, type SessionOptions } from './ort-runtime.js';
import { ortLayerTimings, parseOrtTrace, type ParsedTrace, type TraceKernel } from './ort-trace.js';
import { UNIT_TIMES_SUMMARY } from './profile-times.js';
import { describeAdapter, GPU_NOT_SIMULATED, webgpuAdapter } from './webgpu-adapter.js';

/** Profiled inferences (after one unrecorded) behind a trial's placement and on-device time. */
const PLACEMENT_RUNS = 3;

function sessionOptions(options: Record<string, string>): SessionOptions {
  // The CPU provider stays behind WebGPU, as onnxruntime always adds it: an operator the WebGPU EP
  // lacks runs there, and the trial's placement (below) shows it.
  return { executionProviders: ['webgpu'], graphOptimizationLevel: options['opt'] as OptLevel };
}

/**
 * onnxruntime-node's WebGPU execution provider (its bundled Dawn, on Vulkan, Metal or D3D12): the
 * seed paper's GPU-specific acceleration. A run is timed until its output is back in host memory
 * (onnxruntime-node returns CPU tensors), so the asynchronous GPU work is inside the time. FP16
 * converts the weights and compute to float16 at load, with float32 input and output as on the CPU,
 * and needs the adapter's shader-f16.
 */
export const ortWebgpuEngine: Engine = {
  name: 'ort-webgpu',
  description: "onnxruntime-node, WebGPU execution provider (Dawn on the system's GPU driver): GPU-specific acceleration",
  role: 'gpu-accelerated',
  profiles: true,
  options: {
    opt: OPT_OPTION,
    precision: choiceOption("fp32; fp16: float16 weights and compute on the GPU (needs the adapter's shader-f16), float32 input and output", ['fp32', 'fp16'], 'fp32'),
  },
  numerics: numericsOfPrecisionOption,
  // A placeholder pace for plans: a GPU's is far above any CPU engine's, a software adapter's far
  // below (SwiftShader ran standard/d10/w64/r64 at about 0.35 GMAC/s here). ETAs correct themselves.
  planningRate: { gmacsPerS: 50, startupS: 2 },
  // Measured as ort.ts's, on SwiftShader (whose GPU buffers are host memory, so a hardware GPU's
  // worker holds less): 372 MiB on standard/d1/w8/r32 (Dawn and its Vulkan driver loaded); 949
  // MiB on standard/d10/w512/r32, 6.3 copies of its 92 MiB of weights (ort's, the upload, the
  // GPU's); depthwise-bottleneck/d20/w64/r64 362 MiB.
  memoryFootprint: () => ({ baseBytes: 380 * 2 ** 20, weightCopies: 7, activationFactor: 3 }),
  notSimulated: GPU_NOT_SIMULATED,
  async availability() {
    const found = await webgpuAdapter();
    if (!found.ok) return { available: false, reason: found.reason };
    if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu' && b.bundled)) {
      return { available: false, reason: `onnxruntime-node ${ort.env.versions.node} on ${process.platform}-${process.arch} ships no WebGPU execution provider` };
    }
    return { available: true, version: ort.env.versions.node ?? ort.env.versions.common, details: { provider: 'webgpu', adapter: describeAdapter(found.adapter) }, gpu: found.adapter };
  },
  async load(fp32Model, options): Promise<EngineSession> {
    const found = await webgpuAdapter();
    if (!found.ok) throw new Error(`ort-webgpu: ${found.reason}`);
    const precision = options['precision'] ?? 'fp32';
    if (precision === 'fp16' && !found.adapter.features.includes('shader-f16')) {
      // onnxruntime would fail at the first run ("requires f16 but the device does not support it").
      throw new Error(`ort-webgpu: precision=fp16 needs the adapter's shader-f16 feature, which ${describeAdapter(found.adapter)} lacks`);
    }
    const model: EngineModel = { ...fp32Model, onnx: await inPrecision(fp32Model, precision) };
    const session = await createSession(model.onnx, sessionOptions(options));
    return {
      ...wrapOrtSession(session, ort.Tensor),
      placement: (data, dims) => ortPlacement(model.onnx, sessionOptions(options), data, dims),
      profile: (data, dims, runs) => profileOnDevice(model, sessionOptions(options), data, dims, runs),
    };
  },
};

/**
 * Where the kernels of a profiled session ran, from onnxruntime's trace: each kernel event names
 * its execution provider; the WebGPU EP adds one 'Api' event per GPU program, timed with
 * timestamp queries, which are the on-device time.
 */
export async function ortPlacement(onnx: Uint8Array, options: SessionOptions, data: Float32Array, dims: number[]): Promise<WorkPlacement> {
  const { trace } = await profiledRuns(onnx, options, [{ data, dims }], PLACEMENT_RUNS);
  return placementFromTrace(trace, 1);
}

interface ApiEvent {
  cat?: string;
  name?: string;
  ph?: string;
  ts?: number;
  dur?: number;
}

/**
 * Per-layer times on the GPU: the WebGPU EP's timestamp-query events ('Api', one per program,
 * named '<node>_token_<n>&<op>&<program>') mapped back to the IR nodes as the CPU kernels are.
 * Kernels the CPU provider ran keep their host-side time. Without timestamp queries (no 'Api'
 * events) the host-side kernel times are all there is, and the method says so: for GPU kernels
 * they are dispatch times.
 */
async function profileOnDevice(model: EngineModel, options: SessionOptions, data: Float32Array, dims: number[], runs: number): Promise<EngineProfile> {
  const { trace, wallMs: profiledRunMs } = await profiledRuns(model.onnx, options, [{ data, dims }], runs);
  const host = parseOrtTrace(trace);
  const device = deviceKernels(trace as ApiEvent[]);
  const onDevice = device.runs.some((r) => r.length > 0);
  const merged: ParsedTrace = onDevice ? { runMs: host.runMs, runs: host.runs.map((run, i) => [...device.runs[i]!, ...run.filter((k) => !/^WebGpu/i.test(k.provider))]) } : host;
  return {
    layers: ortLayerTimings(merged, model.graph, 1),
    profiledRunMs,
    method: onDevice
      ? `onnxruntime profiler, WebGPU EP: each GPU program timed on the device (timestamp queries), CPU-provider kernels by their host-side time, mapped back to IR nodes; ${UNIT_TIMES_SUMMARY} of ${runs} after 1 unrecorded`
      : `onnxruntime profiler, WebGPU EP without timestamp queries: host-side kernel times, which for GPU kernels are only their dispatch; ${UNIT_TIMES_SUMMARY} of ${runs} after 1 unrecorded`,
  };
}

/** The GPU programs of each inference as trace kernels, named after the node they belong to. */
function deviceKernels(events: ApiEvent[]): ParsedTrace {
  const windows = events.filter((e) => e.cat === 'Session' && e.name === 'model_run' && typeof e.ts === 'number').sort((a, b) => a.ts! - b.ts!);
  const runs: TraceKernel[][] = windows.map(() => []);
  for (const e of events) {
    if (e.cat !== 'Api' || e.ph !== 'X' || typeof e.ts !== 'number' || typeof e.dur !== 'number') continue;
    const at = windows.findIndex((w) => e.ts! >= w.ts! && e.ts! <= w.ts! + w.dur!);
    if (at < 0) continue;
    const [node = '', op = 'unknown'] = (e.name ?? '').split('&');
    runs[at]!.push({ name: node.replace(/_token_\d+$/, ''), op, provider: 'WebGpuExecutionProvider', durUs: e.dur, inputShapes: [] });
  }
  return { runs, runMs: windows.map((w) => w.dur! / 1000) };
}

/** The placement of the inferences after the first `skipRuns` of a WebGPU session's trace. */
export function placementFromTrace(trace: unknown, skipRuns: number): WorkPlacement {
  const parsed = parseOrtTrace(trace);
  const runs = parsed.runs.slice(skipRuns);
  if (runs.length === 0) throw new Error(`onnxruntime trace: ${parsed.runs.length} run(s), none left after skipping ${skipRuns}`);
  const byProvider = new Map<string, { kernels: number; us: number; ops: Record<string, number> }>();
  const macKernels: Record<string, number> = {};
  for (const [i, run] of runs.entries()) {
    for (const k of run) {
      const provider = providerName(k.provider);
      const p = byProvider.get(provider) ?? { kernels: 0, us: 0, ops: {} };
      p.us += k.durUs;
      // Kernel counts and operators from one inference: every run executes the same kernels.
      if (i === 0) {
        p.kernels++;
        p.ops[k.op] = (p.ops[k.op] ?? 0) + 1;
        if (MAC_OPS.test(k.op)) macKernels[provider] = (macKernels[provider] ?? 0) + 1;
      }
      byProvider.set(provider, p);
    }
  }
  const totalUs = [...byProvider.values()].reduce((a, p) => a + p.us, 0);
  const providers: ProviderShare[] = [...byProvider]
    .map(([provider, p]) => ({ provider, kernels: p.kernels, ms: p.us / 1000 / runs.length, share: totalUs > 0 ? p.us / totalUs : 0, ops: p.ops }))
    .sort((a, b) => b.share - a.share);
  const deviceMs = deviceTimeMs(trace as ApiEvent[], skipRuns);
  return {
    runs: runs.length,
    providers,
    macKernels,
    ...(deviceMs !== undefined ? { deviceMs } : {}),
    method: `onnxruntime profiler over ${runs.length} inferences after ${skipRuns} unrecorded: each kernel's execution provider and host-side time${deviceMs !== undefined ? "; on-device time: the WebGPU EP's timestamp queries around each GPU program ('Api' events), summed per inference" : '; no on-device time (the adapter has no timestamp queries)'}`,
  };
}

/** 'WebGpuExecutionProvider' → 'webgpu', 'CPUExecutionProvider' → 'cpu'. */
function providerName(provider: string): string {
  return provider.replace(/ExecutionProvider$/, '').toLowerCase();
}

/** Mean on-device time per inference after the first `skipRuns`, ms, from the GPU programs' timestamp-query events. */
function deviceTimeMs(events: ApiEvent[], skipRuns: number): number | undefined {
  const kept = deviceKernels(events).runs.slice(skipRuns).map((run) => run.reduce((us, k) => us + k.durUs, 0));
  if (kept.length === 0 || kept.every((us) => us === 0)) return undefined;
  return kept.reduce((a, b) => a + b, 0) / kept.length / 1000;
}
