/**
 * How a report shows GPU trials. A trial on a software adapter (SwiftShader, lavapipe: a Vulkan
 * implementation running on the CPU) checks that the GPU code paths compute the right outputs,
 * but its times are the CPU's: it is labelled "software GPU" wherever it is shown and never counts
 * as GPU acceleration. Trials on a hardware adapter are the seed paper's third line,
 * GPU-specific acceleration.
 */
import type { GpuAdapter, WorkPlacement } from '../engines/engine.js';
import { describeAdapter } from '../engines/webgpu-adapter.js';
import type { StoredTrial } from '../store/index.js';
import type { Table } from './types.js';

export const SOFTWARE_GPU = 'software GPU';

/** Why software-GPU trials are left out of every speed-up, finding and the paper comparison. */
export const SOFTWARE_GPU_WHY = "a Vulkan implementation running on the CPU, so their times are the CPU's: they check correctness only";

export const onSoftwareGpu = (r: { gpuAdapter: GpuAdapter | null }): boolean => r.gpuAdapter?.software === true;
export const onHardwareGpu = (r: { gpuAdapter: GpuAdapter | null }): boolean => r.gpuAdapter?.software === false;

/** The engine as a report shows it: `ort-webgpu (software GPU)` on a software adapter. */
export const engineLabel = (r: { engine: string; gpuAdapter: GpuAdapter | null }): string => (onSoftwareGpu(r) ? `${r.engine} (${SOFTWARE_GPU})` : r.engine);

/** Conv/Gemm/MatMul kernels that ran on the CPU provider of a GPU session. */
export const cpuMacKernels = (p: WorkPlacement): number => p.macKernels['cpu'] ?? 0;
export const allMacKernels = (p: WorkPlacement): number => Object.values(p.macKernels).reduce((a, n) => a + n, 0);
export const cpuShare = (p: WorkPlacement): number => p.providers.filter((s) => s.provider === 'cpu').reduce((a, s) => a + s.share, 0);

/** Distinct adapters, each described once (driver, vendor and architecture, backend, software or hardware). */
export const describeAdapters = (adapters: (GpuAdapter | null | undefined)[]): string[] => [...new Set(adapters.flatMap((a) => (a ? [describeAdapter(a)] : [])))];

/** The sentence a report gives where software-GPU trials were left out; undefined where there were none. */
export function softwareGpuNotice(rows: StoredTrial[]): string | undefined {
  const soft = rows.filter(onSoftwareGpu);
  if (soft.length === 0) return undefined;
  return `${soft.length} trial${soft.length === 1 ? '' : 's'} ran on a software GPU (${describeAdapters(soft.map((r) => r.gpuAdapter)).join('; ')}): ${SOFTWARE_GPU_WHY}. They are labelled "${SOFTWARE_GPU}" and left out of every speed-up, finding about acceleration and the paper comparison.`;
}

const fmt = (v: number | null | undefined, digits = 3): number | null => (v === null || v === undefined ? null : Number(v.toPrecision(digits + 1)));

/**
 * Every GPU trial (failed ones too, with the adapter they failed on): the adapter, the median
 * beside the first inference (where shader compilation happens), the on-device time where the
 * adapter has timestamp queries, and where the convolutions ran.
 */
export function gpuTrialsTable(rows: StoredTrial[]): Table {
  return {
    columns: ['model', 'batch', 'engine', 'status', 'adapter', 'median ms', 'first-run ms', 'on-device ms', 'CPU share of kernel time', 'Conv/Gemm/MatMul kernels on CPU', 'Conv/Gemm/MatMul kernels'],
    rows: rows
      .filter((r) => r.gpuAdapter)
      .map((r) => [
        r.model,
        r.batch,
        engineLabel(r),
        r.status,
        describeAdapter(r.gpuAdapter!),
        fmt(r.medianMs),
        fmt(r.firstRunMs),
        fmt(r.placement?.deviceMs),
        r.placement ? fmt(cpuShare(r.placement), 2) : null,
        r.placement ? cpuMacKernels(r.placement) : null,
        r.placement ? allMacKernels(r.placement) : null,
      ]),
  };
}
