/**
 * The GPU in a study. A software adapter (SwiftShader: Vulkan on the CPU) runs the GPU engines'
 * code paths, so their outputs can be checked anywhere, but its times are the CPU's: a study
 * that took it for "the GPU" would report GPU acceleration that no GPU made. So a study refuses
 * it unless asked (--allow-software-gpu), and the presets add the GPU line only on hardware.
 */
import { availabilityOf, describeAdapter, type EngineChoice, type GpuAdapter } from '../engines/index.js';
import { UserError } from '../errors.js';

/** The study command's flag that lets GPU engines run on a software adapter. */
export const ALLOW_SOFTWARE_GPU_FLAG = '--allow-software-gpu';

/** A GPU engine of a study that would run on a software adapter, and that adapter. */
export interface SoftwareGpuUse {
  engine: string;
  adapter: GpuAdapter;
}

/**
 * The study's GPU engines whose adapter here is a software one. Only engines whose role is
 * 'gpu-accelerated' are asked: their availability probes the adapter (once per command), and a
 * dry run of a CPU-only study should not wait for that.
 */
export async function softwareGpuUses(choices: EngineChoice[]): Promise<SoftwareGpuUse[]> {
  const engines = [...new Map(choices.filter((c) => c.engine.role === 'gpu-accelerated').map((c) => [c.engine.name, c.engine])).values()];
  const uses: SoftwareGpuUse[] = [];
  for (const engine of engines) {
    const a = await availabilityOf(engine);
    if (a.available && a.gpu?.software) uses.push({ engine: engine.name, adapter: a.gpu });
  }
  return uses;
}

/**
 * Refuses a study whose GPU engines would run on a software adapter, unless `allowSoftware`; an
 * unavailable GPU engine is not refused here (its trials fail with the reason, as any engine's).
 * Returns what runs on a software adapter, for the plan to say.
 */
export async function checkSoftwareGpu(choices: EngineChoice[], allowSoftware: boolean): Promise<SoftwareGpuUse[]> {
  const uses = await softwareGpuUses(choices);
  if (uses.length === 0 || allowSoftware) return uses;
  const engines = uses.map((u) => u.engine).join(' and ');
  throw new UserError(
    `the study runs ${engines} on a software GPU, ${describeAdapter(uses[0]!.adapter)}: its times are the CPU's, not a GPU's, so they would be no GPU acceleration`,
    `pass ${ALLOW_SOFTWARE_GPU_FLAG} to run it anyway (for correctness; its trials are labelled software GPU), or run on a machine with a hardware GPU and its Vulkan driver`,
  );
}

/** What a preset needs to know of a GPU engine here: whether it runs, and on what adapter. */
export interface GpuAvailability {
  available: boolean;
  reason?: string;
  gpu?: Pick<GpuAdapter, 'software'> & Partial<GpuAdapter>;
}

/** The paper's third line, "GPU-specific acceleration": onnxruntime's WebGPU execution provider. */
export const PRESET_GPU_ENGINE = 'ort-webgpu';

/**
 * The GPU engine the presets add, where a hardware adapter runs it; otherwise none, and the one
 * line the plan prints to say why.
 */
export function presetGpu(available: ReadonlyMap<string, GpuAvailability>): { gpu?: string; note?: string } {
  const a = available.get(PRESET_GPU_ENGINE);
  if (a?.available && a.gpu && !a.gpu.software) return { gpu: PRESET_GPU_ENGINE };
  const why = !a
    ? `${PRESET_GPU_ENGINE} is not installed`
    : !a.available
      ? `${PRESET_GPU_ENGINE} cannot run (${a.reason ?? 'unknown'})`
      : a.gpu
        ? `${PRESET_GPU_ENGINE} has only a software adapter here${a.gpu.driver ? ` (${a.gpu.driver})` : ''}`
        : `${PRESET_GPU_ENGINE} names no adapter`;
  return { note: `no hardware GPU: ${why}, so the presets leave out the GPU line ("GPU-specific acceleration")` };
}
