import { createHash } from 'node:crypto';
import os from 'node:os';
import { cpuInfo } from '../engines/cpu.js';

/** The machine a result was measured on; results are only comparable within one fingerprint. */
export interface Environment {
  /** Short hash of every field below: equal fingerprints mean the same machine and software stack. */
  fingerprint: string;
  cpuModel: string;
  isa: string[];
  logicalCores: number;
  /** Rounded to whole GiB so that the kernel's reserved memory does not change the fingerprint. */
  memoryGiB: number;
  os: string;
  nodeVersion: string;
  /** What else identifies a device that is not this CLI's machine (a browser's user agent and adapter), JSON; absent for the CLI's own. */
  device?: string;
}

export function currentEnvironment(): Environment {
  const cpu = cpuInfo();
  const fields = {
    cpuModel: cpu.model,
    isa: cpu.isa,
    logicalCores: cpu.logicalCores,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
    nodeVersion: process.version,
  };
  return { fingerprint: fingerprintOf(fields), ...fields };
}

export function fingerprintOf(fields: Omit<Environment, 'fingerprint'>): string {
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 16);
}
