/**
 * Which WebGPU adapter the GPU engines run on, found once per command and handed to its workers.
 *
 * On Linux WebGPU (Dawn, in both the `webgpu` package and onnxruntime-node) runs on Vulkan: it
 * needs the Vulkan loader (libvulkan.so.1) and a driver (an ICD). The loader's own search finds
 * the GPU vendors' drivers; where none gives an adapter, Chromium's SwiftShader driver (a Vulkan
 * implementation on the CPU, shipped with Debian's chromium) is tried, so that the GPU code paths
 * run anywhere. Such an adapter is marked `software`: its trials check correctness and are never
 * GPU acceleration. A driver the user chose (VK_ICD_FILENAMES) is taken as it is.
 *
 * Each candidate is asked in a child process (webgpu-probe.ts): Dawn reports a failing driver
 * only on stderr, and the Vulkan environment must be set before a process first touches Vulkan.
 * The answer, and the driver chosen, go into this process's environment, which every worker
 * inherits, so that onnxruntime's Dawn sees the same driver and no worker probes again.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GpuAdapter } from './engine.js';
import type { ProbeAnswer } from './webgpu-probe.js';

export type AdapterAnswer = { ok: true; adapter: GpuAdapter } | { ok: false; reason: string };

/** The answer, as JSON, for the workers of the process that found it. */
export const ADAPTER_ENV = 'FORMBENCH_WEBGPU_ADAPTER';

/** Where Debian's and Google's Chromium packages put SwiftShader's Vulkan driver. */
const SWIFTSHADER_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/opt/google/chrome/vk_swiftshader_icd.json'];

/** The Vulkan loader's system driver folders (Linux). */
const ICD_FOLDERS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** The Vulkan loader's library, where a Linux system keeps it. */
const LOADER_PATHS = ['/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];

const PROBE = fileURLToPath(new URL('./webgpu-probe.js', import.meta.url));
const PROBE_TIMEOUT_MS = 30_000;

let answer: Promise<AdapterAnswer> | undefined;

/** The adapter this command's GPU engines use, or why there is none; asked once per process tree. */
export function webgpuAdapter(): Promise<AdapterAnswer> {
  return (answer ??= findAdapter().then((a) => {
    process.env[ADAPTER_ENV] = JSON.stringify(a);
    return a;
  }));
}

async function findAdapter(): Promise<AdapterAnswer> {
  const inherited = process.env[ADAPTER_ENV];
  if (inherited) return JSON.parse(inherited) as AdapterAnswer;
  const version = dawnVersion();
  if (process.platform !== 'linux') {
    const probed = await probeWith({});
    return probed.adapter ? { ok: true, adapter: adapterOf(probed.adapter, `Dawn (webgpu ${version})`) } : { ok: false, reason: `Dawn (webgpu ${version}) found no WebGPU adapter${probed.why ? `: ${probed.why}` : ''}` };
  }
  // Mesa's device-select layer (an implicit Vulkan layer that only reorders devices) prints an
  // error on every Vulkan start where XDG_RUNTIME_DIR is unset, as on servers and in CI; this
  // environment turns the layer off for this process and every worker after it.
  process.env['NODEVICE_SELECT'] ??= '1';
  if (!LOADER_PATHS.some((p) => existsSync(p)) && !process.env['LD_LIBRARY_PATH']) {
    return { ok: false, reason: `no Vulkan loader (libvulkan.so.1), which WebGPU needs on Linux${nvidiaHint()} (hint: apt-get install libvulkan1, and a Vulkan driver: the GPU vendor's, or chromium's SwiftShader for a software adapter)` };
  }
  const chosen = process.env['VK_ICD_FILENAMES'] ?? process.env['VK_DRIVER_FILES'];
  const first = await probeWith({});
  if (first.adapter && (chosen || !isSoftware(first.adapter))) {
    return { ok: true, adapter: adapterOf(first.adapter, `Dawn (webgpu ${version}), Vulkan ${chosen ? `driver ${chosen} (VK_ICD_FILENAMES)` : "drivers from the loader's search"}`) };
  }
  const tried = chosen ? [chosen] : systemIcds();
  const firstWhy = first.why ? `: ${first.why}` : '';
  const swiftshader = chosen ? undefined : SWIFTSHADER_ICDS.find((p) => existsSync(p));
  if (swiftshader) {
    const soft = await probeWith({ VK_ICD_FILENAMES: swiftshader });
    if (soft.adapter) {
      // Every later process of this command (onnxruntime's Dawn, the workers) uses this driver.
      process.env['VK_ICD_FILENAMES'] = swiftshader;
      const before = tried.length ? `no hardware adapter from ${tried.map(icdName).join(', ')}${firstWhy}; ` : 'no hardware Vulkan driver; ';
      return { ok: true, adapter: adapterOf(soft.adapter, `Dawn (webgpu ${version}), ${before}Vulkan driver ${swiftshader}`) };
    }
  }
  if (first.adapter) return { ok: true, adapter: adapterOf(first.adapter, `Dawn (webgpu ${version}), Vulkan drivers from the loader's search`) };
  if (chosen) {
    return { ok: false, reason: `no WebGPU adapter from the Vulkan driver VK_ICD_FILENAMES names (${chosen})${firstWhy} (hint: point VK_ICD_FILENAMES at a working driver, or unset it: formbench then tries the system's drivers, then chromium's SwiftShader)` };
  }
  const drivers = tried.length ? `the Vulkan driver${tried.length > 1 ? 's' : ''} ${tried.map(icdName).join(', ')} gave none` : 'no Vulkan driver (ICD) is installed';
  return { ok: false, reason: `no WebGPU adapter: ${drivers}${firstWhy}${nvidiaHint()} (hint: install the GPU's Vulkan driver; for a software adapter, which checks correctness only, install chromium, whose SwiftShader formbench then uses)` };
}

interface Probed {
  adapter?: NonNullable<ProbeAnswer['adapter']>;
  /** The first line Dawn or the loader printed that says why there is no adapter. */
  why?: string;
}

function probeWith(env: Record<string, string>): Promise<Probed> {
  return new Promise((resolve) => {
    execFile(process.execPath, [PROBE], { env: { ...process.env, ...env }, timeout: PROBE_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      const why = explanation(stderr) ?? (error ? error.message.split('\n')[0] : undefined);
      try {
        const parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '') as ProbeAnswer;
        resolve({ ...(parsed.adapter ? { adapter: parsed.adapter } : {}), ...(why ? { why } : {}) });
      } catch {
        resolve(why ? { why } : {});
      }
    });
  });
}

/** Dawn's warnings, without the loader's XDG_RUNTIME_DIR noise: the line that names what is missing. */
function explanation(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('error: XDG_RUNTIME_DIR') && !l.startsWith('- While') && !l.startsWith('at '));
  return lines[0]?.replace(/^Warning:\s*/, '');
}

function adapterOf(a: NonNullable<ProbeAnswer['adapter']>, source: string): GpuAdapter {
  return {
    vendor: a.vendor,
    architecture: a.architecture,
    device: a.device,
    driver: a.description,
    backend: { linux: 'vulkan', darwin: 'metal', win32: 'd3d12' }[process.platform as string] ?? process.platform,
    software: isSoftware(a),
    features: a.features.filter((f) => f === 'shader-f16' || f === 'timestamp-query'),
    source,
  };
}

/** CPU implementations of a GPU API, by the names their drivers give themselves. */
const SOFTWARE_NAMES = /swiftshader|lavapipe|llvmpipe|softpipe|\bwarp\b|microsoft basic render/i;

export function isSoftware(a: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean }): boolean {
  return a.isFallbackAdapter || SOFTWARE_NAMES.test([a.vendor, a.architecture, a.device, a.description].join(' '));
}

/** Why the GPU engines are not run under valgrind's cache simulator (`counters --simulate`). */
export const GPU_NOT_SIMULATED = {
  reason: "a GPU engine's work runs on the GPU, outside the CPU cache valgrind simulates (on a software adapter, inside SwiftShader's JIT-compiled shaders, which valgrind slows by orders of magnitude)",
  hint: 'simulate the CPU engines (ort, tfjs-wasm); for the GPU, profile with formbench profile --engine ort-webgpu, which times each layer on the device',
};

/** One line naming an adapter: 'SwiftShader driver 5.0.0 (google swiftshader, vulkan; software GPU)'. */
export function describeAdapter(a: GpuAdapter): string {
  const name = a.driver || a.device || `${a.vendor} ${a.architecture}`.trim();
  const what = [a.vendor, a.architecture].filter(Boolean).join(' ');
  return `${name} (${[what, a.backend, a.software ? 'software GPU' : 'hardware GPU'].filter(Boolean).join(', ')})`;
}

function systemIcds(): string[] {
  return ICD_FOLDERS.flatMap((folder) => (existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.json')).map((f) => join(folder, f)) : []));
}

function icdName(path: string): string {
  return path.split('/').pop()!.replace(/\.json$/, '');
}

/** The case the issue warns of: the NVIDIA kernel driver works, but no Vulkan driver is installed for it. */
function nvidiaHint(): string {
  if (!existsSync('/proc/driver/nvidia/version')) return '';
  const nvidiaIcd = systemIcds().some((p) => /nvidia/i.test(p));
  return nvidiaIcd ? '' : '; the NVIDIA kernel driver is loaded, but there is no NVIDIA Vulkan driver (nvidia_icd.json in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d): install the driver\'s Vulkan part (e.g. libnvidia-gl)';
}

function dawnVersion(): string {
  try {
    return (createRequire(import.meta.url)('webgpu/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
