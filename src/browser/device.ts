/**
 * What the page can tell about the device it runs on: the browser (User-Agent Client Hints where
 * the browser has them), cores, memory, the WebGPU adapter, cross-origin isolation, and the
 * resolution of performance.now(), which browsers coarsen (5 µs isolated, 100 µs not, in Chromium).
 */
import type { DeviceInfo } from '../serve/api.js';

interface UaData {
  brands?: { brand: string; version: string }[];
  platform?: string;
  mobile?: boolean;
  getHighEntropyValues?(hints: string[]): Promise<Record<string, string | undefined>>;
}
interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface NavigatorExtras {
  userAgentData?: UaData;
  deviceMemory?: number;
  gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> };
}

export async function describeDevice(wasmThreads: number): Promise<DeviceInfo> {
  const nav = navigator as Navigator & NavigatorExtras;
  const ua = nav.userAgentData;
  const high = ua?.getHighEntropyValues ? await ua.getHighEntropyValues(['architecture', 'bitness', 'model', 'platformVersion']).catch(() => ({}) as Record<string, string | undefined>) : {};
  const hints: Partial<DeviceInfo> = {
    ...(ua?.brands ? { brands: ua.brands.map((b) => ({ brand: b.brand, version: b.version })) } : {}),
    ...(ua?.platform ? { platform: ua.platform } : {}),
    ...(ua?.mobile !== undefined ? { mobile: ua.mobile } : {}),
    ...(high['architecture'] ? { architecture: high['architecture'] } : {}),
    ...(high['bitness'] ? { bitness: high['bitness'] } : {}),
    ...(high['model'] ? { deviceModel: high['model'] } : {}),
    ...(high['platformVersion'] ? { platformVersion: high['platformVersion'] } : {}),
  };
  return {
    userAgent: navigator.userAgent,
    ...hints,
    hardwareConcurrency: navigator.hardwareConcurrency || 1,
    deviceMemoryGiB: typeof nav.deviceMemory === 'number' && nav.deviceMemory > 0 ? nav.deviceMemory : null,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    timerResolutionMs: timerResolutionMs(),
    wasmThreads,
    webgpu: await webgpuAdapter(nav),
  };
}

/** The smallest step performance.now() takes, over 50 steps (Chromium adds jitter; the minimum is the grain). */
export function timerResolutionMs(): number {
  let smallest = Infinity;
  for (let i = 0; i < 50; i++) {
    const a = performance.now();
    let b = performance.now();
    while (b === a) b = performance.now();
    smallest = Math.min(smallest, b - a);
  }
  return smallest;
}

/** The adapter navigator.gpu offers, if any; a fallback (software) adapter says so and is never taken for a GPU. */
async function webgpuAdapter(nav: NavigatorExtras): Promise<DeviceInfo['webgpu']> {
  if (!nav.gpu) return null;
  try {
    const adapter = await nav.gpu.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info ?? {};
    const clip = (s: string | undefined, n: number) => (s ?? '').slice(0, n);
    return { vendor: clip(info.vendor, 128), architecture: clip(info.architecture, 128), device: clip(info.device, 128), description: clip(info.description, 256), isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false };
  } catch {
    return null;
  }
}
