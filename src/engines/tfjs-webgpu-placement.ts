/**
 * Where TF.js's WebGPU backend really ran a network's kernels. By default (WEBGPU_CPU_FORWARD) it
 * runs a kernel on the CPU when all its inputs are still in host memory and small, and some
 * kernels dispatch no GPU program at all (a reshape only relabels). This counts, per kernel call,
 * the GPU programs it dispatched and whether it was forwarded to the CPU, by wrapping the
 * engine's kernel entry and the backend's two decision points for the duration of the profile.
 */
import { performance } from 'node:perf_hooks';
import type * as TF from '@tensorflow/tfjs-core';
import type { ProviderShare, WorkPlacement } from './engine.js';
import { MAC_OPS } from './ort-kernel-precision.js';
import type { Tf } from './tfjs-ops.js';

/** Profiled inferences (after one unrecorded) behind a trial's placement. */
const PLACEMENT_RUNS = 3;

interface KernelCall {
  name: string;
  programs: number;
  forwarded: boolean;
}

interface WebGpuBackendLike {
  runWebGPUProgram: (...args: unknown[]) => unknown;
  shouldExecuteOnCPU: (...args: unknown[]) => boolean;
  supportTimestampQuery?: boolean;
}

interface EngineLike {
  runKernelFunc: (params: { kernelName?: string }) => unknown;
}

export async function placementOfTfjsWebgpu(tf: Tf, forward: (x: TF.Tensor) => TF.Tensor, input: () => TF.Tensor): Promise<WorkPlacement> {
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const engine = tf.engine() as unknown as EngineLike;
  const open: KernelCall[] = [];
  let calls: { call: KernelCall; ms: number }[] = [];
  const { runWebGPUProgram, shouldExecuteOnCPU } = backend;
  const { runKernelFunc } = engine;
  engine.runKernelFunc = function (this: unknown, params) {
    const call: KernelCall = { name: params.kernelName ?? 'unknown', programs: 0, forwarded: false };
    open.push(call);
    const t0 = performance.now();
    try {
      return runKernelFunc.call(this, params);
    } finally {
      open.pop();
      calls.push({ call, ms: performance.now() - t0 });
    }
  };
  backend.runWebGPUProgram = function (this: unknown, ...args) {
    if (open.length) open[open.length - 1]!.programs++;
    return runWebGPUProgram.apply(this, args);
  };
  backend.shouldExecuteOnCPU = function (this: unknown, ...args) {
    const onCpu = shouldExecuteOnCPU.apply(this, args);
    if (onCpu && open.length) open[open.length - 1]!.forwarded = true;
    return onCpu;
  };
  const deviceMs: number[] = [];
  let recorded: { call: KernelCall; ms: number }[][] = [];
  try {
    for (let run = 0; run <= PLACEMENT_RUNS; run++) {
      calls = [];
      const x = input();
      let y: TF.Tensor | undefined;
      try {
        // tf.time sums the backend's timestamp queries around every program the function dispatched.
        const timing = await tf.time(() => {
          y = forward(x);
        });
        await y!.data();
        const kernelMs = (timing as { kernelMs: number | { error: string } }).kernelMs;
        if (run > 0 && typeof kernelMs === 'number' && backend.supportTimestampQuery) deviceMs.push(kernelMs);
      } finally {
        x.dispose();
        y?.dispose();
      }
      if (run > 0) recorded.push(calls);
    }
  } finally {
    engine.runKernelFunc = runKernelFunc;
    backend.runWebGPUProgram = runWebGPUProgram;
    backend.shouldExecuteOnCPU = shouldExecuteOnCPU;
  }
  return summarise(recorded, deviceMs);
}

function summarise(runs: { call: KernelCall; ms: number }[][], deviceMs: number[]): WorkPlacement {
  const byProvider = new Map<string, { kernels: number; ms: number; ops: Record<string, number> }>();
  const macKernels: Record<string, number> = {};
  for (const [i, run] of runs.entries()) {
    for (const { call, ms } of run) {
      // A kernel that neither dispatched a program nor ran on the CPU moved no data (reshape).
      const provider = call.forwarded ? 'cpu' : call.programs > 0 ? 'webgpu' : undefined;
      if (!provider) continue;
      const p = byProvider.get(provider) ?? { kernels: 0, ms: 0, ops: {} };
      p.ms += ms;
      if (i === 0) {
        p.kernels++;
        p.ops[call.name] = (p.ops[call.name] ?? 0) + 1;
        if (MAC_OPS.test(call.name) || /MatMul|Conv2D|Depthwise/i.test(call.name)) macKernels[provider] = (macKernels[provider] ?? 0) + 1;
      }
      byProvider.set(provider, p);
    }
  }
  const total = [...byProvider.values()].reduce((a, p) => a + p.ms, 0);
  const providers: ProviderShare[] = [...byProvider]
    .map(([provider, p]) => ({ provider, kernels: p.kernels, ms: p.ms / runs.length, share: total > 0 ? p.ms / total : 0, ops: p.ops }))
    .sort((a, b) => b.share - a.share);
  const device = deviceMs.length ? deviceMs.reduce((a, b) => a + b, 0) / deviceMs.length : undefined;
  return {
    runs: runs.length,
    providers,
    macKernels,
    ...(device !== undefined ? { deviceMs: device } : {}),
    method: `TF.js WebGPU backend over ${runs.length} inferences after 1 unrecorded: each kernel call counted as GPU when it dispatched a program, CPU when the backend forwarded it (WEBGPU_CPU_FORWARD), with its host-side time${device !== undefined ? '; on-device time: tf.time() kernelMs (timestamp queries around every program)' : '; no on-device time (the adapter has no timestamp queries)'}`,
  };
}
