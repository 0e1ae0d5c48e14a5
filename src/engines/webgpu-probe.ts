/**
 * Asks Dawn (the `webgpu` package) for a WebGPU adapter and prints what it found as one JSON line
 * on stdout. Run as a child process by webgpu-adapter.ts: each Vulkan driver is tried with an
 * environment of its own, and what Dawn and the Vulkan loader print on stderr while failing is
 * the reason the parent reports.
 */
import { create } from 'webgpu';

export interface ProbeAnswer {
  adapter?: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    isFallbackAdapter: boolean;
    features: string[];
  };
}

async function probe(): Promise<ProbeAnswer> {
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return {};
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: info.isFallbackAdapter === true,
      features: [...adapter.features].map(String).sort(),
    },
  };
}

probe()
  .then((answer) => process.stdout.write(JSON.stringify(answer) + '\n', () => process.exit(0)))
  .catch((e: unknown) => {
    process.stderr.write(`${(e as Error).message}\n`, () => process.exit(1));
  });
