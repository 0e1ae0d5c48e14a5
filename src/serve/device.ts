/**
 * A browser tab's device as the store keeps it: a fingerprint of everything the page could tell
 * (so one tab's rows are never mixed with another browser's or machine's), a readable label
 * (`Chromium 156 on Linux x86_64 (browser)`), and the whole description as JSON.
 */
import { createHash } from 'node:crypto';
import type { DeviceRecord } from '../store/index.js';
import type { DeviceInfo } from './api.js';

/** The browser's name and major version: its User-Agent Client Hints brand, else the UA string's product token. */
export function browserOf(d: DeviceInfo): string {
  // "Not A(Brand" and the plain "Chromium" alias are padding in Client Hints; a named browser wins.
  const brands = (d.brands ?? []).filter((b) => !/not.?a.?brand/i.test(b.brand));
  const brand = brands.find((b) => b.brand !== 'Chromium') ?? brands[0];
  if (brand) return `${brand.brand} ${brand.version}`;
  const m = d.userAgent.match(/(Firefox|Edg|OPR|HeadlessChrome|Chrome|Version)\/(\d+)/);
  if (!m) return 'a browser';
  const name = { Edg: 'Edge', OPR: 'Opera', Version: /Mobile/.test(d.userAgent) ? 'Mobile Safari' : 'Safari' }[m[1]!] ?? m[1]!;
  return `${name} ${m[2]}`;
}

/** The OS and architecture: from the Client Hints where given, else from the UA string. */
export function platformOf(d: DeviceInfo): string {
  if (d.platform) {
    const arch = d.architecture ? ` ${d.architecture === 'x86' && d.bitness === '64' ? 'x86_64' : d.architecture === 'arm' && d.bitness === '64' ? 'arm64' : d.architecture}` : '';
    const model = d.deviceModel ? ` (${d.deviceModel})` : '';
    return `${d.platform}${arch}${model}`;
  }
  const m = d.userAgent.match(/\(([^)]*)\)/);
  return m ? m[1]!.split(';').map((s) => s.trim()).filter((s) => s !== 'X11' && s !== 'U').slice(0, 2).join(' ') : 'unknown OS';
}

/**
 * Equal fingerprints: the same browser build on the same device, isolated (threads) or not alike.
 * The timer's resolution is measured, and may step differently on a reload, and the wasm threads
 * are the trials' engine option (in their options column): both stay out, so that reopening the
 * page resumes and one device is one machine whatever its thread count.
 */
export function deviceFingerprint(d: DeviceInfo): string {
  const { timerResolutionMs: _measured, wasmThreads: _chosen, ...stable } = d;
  return createHash('sha256').update(JSON.stringify({ browser: stable })).digest('hex').slice(0, 16);
}

/** The environments row of a device: the report labels a machine by cpu_model, cores and memory, and this JSON. */
export function deviceRecord(d: DeviceInfo): DeviceRecord {
  const browser = browserOf(d);
  return {
    fingerprint: deviceFingerprint(d),
    cpuModel: `${browser} on ${platformOf(d)} (browser)`,
    logicalCores: d.hardwareConcurrency,
    // An integer column: Chromium's deviceMemory is a power of two from 0.25 to 8; below 1 GiB it stays in the JSON only.
    memoryGiB: d.deviceMemoryGiB !== null && d.deviceMemoryGiB >= 1 ? Math.round(d.deviceMemoryGiB) : null,
    os: platformOf(d),
    runtime: browser,
    device: JSON.stringify(d),
  };
}
