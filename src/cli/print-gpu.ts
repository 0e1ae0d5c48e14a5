import { describeAdapter } from '../engines/index.js';
import type { TrialRecord } from '../measure/index.js';

/**
 * How `bench` shows GPU trials. A software adapter (SwiftShader) is named on every row it made,
 * and its rows carry no speed-up: its times are the CPU's, never GPU acceleration.
 */

/** The engine cell: 'ort-webgpu (software GPU)' for a trial on a software adapter. */
export function engineCell(t: TrialRecord): string {
  return t.gpu?.software ? `${t.engine} (software GPU)` : t.engine;
}

/** The speed-up cell of a row with no speed-up because a software GPU is on one side, if it is. */
export function softwareGpuSpeedupCell(t: TrialRecord, base: TrialRecord | undefined): string | undefined {
  if (t.gpu?.software) return '— (software GPU)';
  if (base?.gpu?.software) return '— (baseline is a software GPU)';
  return undefined;
}

/**
 * Lines after the tables: each adapter once with the engines that ran on it, then per GPU trial
 * its first inference (allocation and shader compilation, kept out of the median) and its time on
 * the device, and a warning where its convolutions or matrix products ran on the CPU.
 */
export function gpuLines(trials: TrialRecord[]): string[] {
  const onGpu = trials.filter((t) => t.gpu);
  if (onGpu.length === 0) return [];
  const adapters = new Map<string, Set<string>>();
  for (const t of onGpu) {
    const name = describeAdapter(t.gpu!);
    adapters.set(name, (adapters.get(name) ?? new Set()).add(t.engine.split(':')[0]!));
  }
  const lines = [...adapters].map(([name, engines]) => `GPU adapter: ${name}, for ${[...engines].join(', ')}${name.includes('software GPU') ? ': a CPU implementation of the GPU API, so its times check correctness and are no GPU acceleration' : ''}`);
  for (const t of onGpu) {
    const parts = [
      t.firstRunMs !== undefined ? `first inference ${t.firstRunMs.toFixed(1)} ms (allocation and shader compilation)` : undefined,
      t.placement?.deviceMs !== undefined ? `on the device ${t.placement.deviceMs.toFixed(3)} ms per inference` : undefined,
      t.placement ? `kernels: ${t.placement.providers.map((p) => `${p.provider} ${(100 * p.share).toFixed(0)}%`).join(', ')}` : undefined,
    ].filter((p): p is string => p !== undefined);
    if (parts.length) lines.push(`  ${t.model} ${engineCell(t)} batch ${t.batch}: ${parts.join('; ')}`);
  }
  for (const t of onGpu) {
    const cpuMacKernels = t.placement?.macKernels['cpu'] ?? 0;
    if (cpuMacKernels > 0) {
      lines.push(`Warning: ${t.model} ${t.engine} batch ${t.batch}: ${cpuMacKernels} convolution or matrix-product kernel${cpuMacKernels > 1 ? 's' : ''} ran on the CPU, not the GPU: this trial's time is partly the CPU's (see its placement in --json)`);
    }
  }
  return lines;
}
