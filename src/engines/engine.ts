import type { Graph } from '../ir/index.js';

/** The contract every engine implements; see registry.ts for discovery and option parsing. */

/** What an engine's `availability()` answers: usable, with its version, or not, with why. */
export type Availability =
  | { available: true; version: string; details?: Record<string, string>; gpu?: GpuAdapter }
  | { available: false; reason: string };

/**
 * The WebGPU adapter a GPU engine's sessions run on (webgpu-adapter.ts): stored with every trial,
 * so that a figure always says which device made it and whether that device was a GPU at all.
 */
export interface GpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  /** The adapter's own description, which names the driver ('SwiftShader driver 5.0.0'). */
  driver: string;
  /** The native API under WebGPU: 'vulkan', 'metal' or 'd3d12'. */
  backend: string;
  /**
   * A software implementation (SwiftShader, lavapipe, llvmpipe, WARP) running on the CPU: its
   * trials check correctness and are labelled "software GPU"; they never count as GPU acceleration.
   */
  software: boolean;
  /** The adapter features formbench reads: 'shader-f16' (FP16 compute), 'timestamp-query' (on-device time). */
  features: string[];
  /** How it was found, one line: the probe, and the Vulkan driver file where one was chosen. */
  source: string;
}

/** One execution provider's part of an inference (ort's CPU fallback for operators its GPU EP lacks). */
export interface ProviderShare {
  /** 'webgpu' or 'cpu'. */
  provider: string;
  /** Kernels (nodes of the optimised graph, or dispatched programs) it ran per inference. */
  kernels: number;
  /** Host-side time of its kernels per inference, ms. */
  ms: number;
  /** Share of all kernel time. */
  share: number;
  /** Kernels per operator, e.g. { Conv: 11 }. */
  ops: Record<string, number>;
}

/** Where a GPU session's work really ran, and how long the device itself took (`EngineSession.placement`). */
export interface WorkPlacement {
  /** Inferences the figures are averaged over. */
  runs: number;
  /** Largest share first. */
  providers: ProviderShare[];
  /** Convolution and matrix-product kernels per provider: a "GPU" trial whose convolutions ran on the CPU shows here. */
  macKernels: Record<string, number>;
  /** Time on the device per inference, ms, from the API's timestamp queries; absent where the adapter has none. */
  deviceMs?: number;
  /** How the figures were taken, one sentence. */
  method: string;
}

/**
 * One option an engine accepts (`ort:opt=disabled`): its meaning, allowed values, default and
 * parser. Values stay strings (as the user wrote them, canonicalised): they are part of a
 * trial's stored identity. Build them with `options.ts`.
 */
export interface EngineOption {
  description: string;
  /** Allowed values; absent for free-form values checked by `parse`. */
  values?: readonly string[];
  /** The default, as the user would write it (e.g. the core count for threads). */
  defaultValue: () => string;
  /**
   * Checks a value the user wrote and returns its canonical spelling; throws an Error whose
   * message says what is allowed ('must be a positive integer'). Called when the choice is
   * parsed, before any trial runs.
   */
  parse?: (value: string) => string;
}

/** What a session computes in, and how far its output may be from the FP32 reference's. */
export interface Numerics {
  /** 'fp32', 'fp16', 'bf16', 'int8', …: stored with every trial. */
  precision: string;
  /** Largest output error relative to the reference's largest magnitude that still matches. */
  tolerance: number;
}

/** Rough speed of an engine, for plans and ETAs only (they correct themselves as trials finish). */
export interface PlanningRate {
  /** Multiply-accumulates per second on pattern networks, billions. */
  gmacsPerS: number;
  /** Worker start-up and model load, seconds. */
  startupS: number;
}

/**
 * What a worker running this engine holds at its peak, for the estimate that refuses a trial the
 * machine cannot hold before it starts (measure/memory-estimate.ts). Figures are measured, not
 * guessed: each engine's file says how.
 */
export interface MemoryFootprint {
  /** Resident memory of a worker with the engine loaded and a tiny model run, bytes. */
  baseBytes: number;
  /** Copies of the weights the worker tree holds at once; the ONNX bytes the worker read are one. */
  weightCopies: number;
  /** Live activations as a multiple of the liveness walk's peak (analysis/memory.ts). */
  activationFactor: number;
}

/** A model as engines receive it: the IR (op-by-op engines) and its ONNX bytes (ONNX runtimes). */
export interface EngineModel {
  spec: string;
  graph: Graph;
  onnx: Uint8Array;
}

export interface EngineSession {
  /** Runs one inference on an N×C×H×W float32 input and returns the first output's values. */
  run(input: Float32Array, dims: number[]): Promise<Float32Array>;
  /**
   * For engines across a process boundary (the PyTorch worker): one inference timed where it runs,
   * around the computation only, so that moving tensors through a pipe is not counted as
   * inference time. The protocol uses this clock when an engine has it; `ms` is that duration.
   */
  timedRun?(input: Float32Array, dims: number[]): Promise<{ ms: number }>;
  /**
   * Optional capability: per-layer times of `runs` inferences with the engine's own profiler
   * (after one unrecorded run), averaged per timed unit. Engines without it leave it undefined.
   */
  profile?(input: Float32Array, dims: number[], runs: number): Promise<EngineProfile>;
  /**
   * Optional capability, for lower-precision sessions whose engine's profiler says what its
   * kernels computed in: a requested precision can fall back to float kernels.
   */
  kernelPrecision?(input: Float32Array, dims: number[]): Promise<KernelPrecisionSummary>;
  /**
   * Optional capability, for the fidelity check (`formbench fidelity`): the same network, with
   * the same weights, run the way the framework's own users run it (torchvision's classes or an
   * nn.Sequential for PyTorch, a tfjs-converter GraphModel for TF.js, a bare InferenceSession for
   * onnxruntime), in the same process, so that it can be timed interleaved with this session.
   * Rejects with the reason where the network has no idiomatic form the engine can build.
   */
  idiomatic?(): Promise<IdiomaticRun>;
  /**
   * Optional capability, for GPU sessions: which provider ran each kernel, and the on-device time
   * from timestamp queries, over a few inferences of a profiled session apart from the timed one.
   */
  placement?(input: Float32Array, dims: number[]): Promise<WorkPlacement>;
  /**
   * For engines that keep their own time (a simulator, or the deterministic fake engine the tests
   * use): the clock, ms, that the protocol reads instead of the host's for budgets and run times.
   */
  clockMs?: () => number;
  dispose(): Promise<void>;
}

/** The framework's idiomatic execution of a session's network (see `EngineSession.idiomatic`). */
export interface IdiomaticRun {
  /** What runs, one line: e.g. 'torchvision.models.resnet50', 'nn.Sequential of nn.Conv2d, nn.BatchNorm2d, nn.ReLU(inplace=True)'. */
  description: string;
  run(input: Float32Array, dims: number[]): Promise<Float32Array>;
  /** As `EngineSession.timedRun`: timed where it runs, for engines across a process boundary. */
  timedRun?(input: Float32Array, dims: number[]): Promise<{ ms: number }>;
  dispose(): Promise<void>;
}

/**
 * One unit the engine timed: an IR node (op-by-op engines) or a kernel of an optimised graph
 * (ORT at opt=all runs fused NCHWc kernels and inserts layout conversions of its own).
 */
export interface LayerTiming {
  /** The engine's name for the unit: the IR node's name, or the kernel's as the engine reports it. */
  name: string;
  /** The engine's operator type (ORT: 'FusedConv', 'ReorderInput', …). */
  op: string;
  /**
   * 'layout' for conversions between memory layouts that the engine inserted (ORT's Reorder* and
   * Transposes of its own), 'other' for engine kernels that stand for no IR node.
   */
  kind: 'compute' | 'layout' | 'other';
  /** The IR nodes whose work this unit did (several when fused); the first is the main one. */
  nodes: string[];
  /** Time per inference, ms: the mean over the typical recorded runs (see profile-times.ts). */
  ms: number;
}

export interface EngineProfile {
  layers: LayerTiming[];
  /** Wall time of every recorded inference with the profiler on, ms. */
  profiledRunMs: number[];
  /** How the times were taken and what they include, one sentence for reports. */
  method: string;
}

export interface Engine {
  name: string;
  /** One line: what it is and what it stands for in the study. */
  description: string;
  /**
   * The seed paper's roles: the native framework, hardware-specific acceleration on the CPU
   * ('accelerated') or on the GPU ('gpu-accelerated'), or portable acceleration.
   */
  role: 'native' | 'accelerated' | 'gpu-accelerated' | 'portable';
  options: Record<string, EngineOption>;
  /** Whether its sessions implement `profile` (per-layer times), so callers can say so before loading. */
  profiles?: boolean;
  /** Absent: FP32 within `FP32_TOLERANCE` (see precision.ts) whatever the options. */
  numerics?(options: Record<string, string>): Numerics;
  /** Absent: a generic rate (see study/plan.ts). */
  planningRate?: PlanningRate;
  /** Absent: a generic footprint (see measure/memory-estimate.ts). */
  memoryFootprint?(options: Record<string, string>): MemoryFootprint;
  /**
   * Why the engine cannot run under valgrind's cache simulator (`formbench counters --simulate`),
   * where it cannot; the counter run then fails at once with this reason and hint.
   */
  notSimulated?: { reason: string; hint: string };
  availability(): Promise<Availability>;
  /** Loads (and compiles) a model with fully resolved options (parsed by the registry). */
  load(model: EngineModel, options: Record<string, string>): Promise<EngineSession>;
}

/** The precision a kernel computed in, as an engine's profiler reports it. */
export type KernelPrecision = 'integer' | 'float16' | 'bfloat16' | 'float32' | 'conversion' | 'other';

export interface PrecisionClass {
  precision: KernelPrecision;
  /** Distinct kernels (nodes of the optimised graph) in this class. */
  kernels: number;
  /** Mean time per inference, ms. */
  ms: number;
  /** Share of all kernel time. */
  share: number;
  /** Kernels per operator, e.g. { QLinearConv: 52 }. */
  ops: Record<string, number>;
}

/** What a lower-precision session's kernels computed in (see `EngineSession.kernelPrecision`). */
export interface KernelPrecisionSummary {
  /** Inferences the times are averaged over. */
  runs: number;
  /** Largest share first. */
  classes: PrecisionClass[];
  /** Kernels doing convolutions and matrix products, per precision. */
  macKernels: Partial<Record<KernelPrecision, number>>;
}
