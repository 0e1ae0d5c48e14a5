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
  /**
   * Rounded to whole GiB so that the kernel's reserved memory does not change the fingerprint;
   * null where a device does not say (a browser without navigator.deviceMemory).
   */
  memoryGiB: number | null;
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
  return { fingerprint: process.env[TEST_FINGERPRINT_ENV] || fingerprintOf(fields), ...fields };
}

/**
 * Test-only: a fingerprint that replaces this machine's, so that one test box can play several
 * machines (the fleet tests run three workers, each as a machine of its own). Never set it for
 * real measurements: rows would be filed under a machine that does not exist.
 */
export const TEST_FINGERPRINT_ENV = 'FORMBENCH_TEST_FINGERPRINT';

export function fingerprintOf(fields: Omit<Environment, 'fingerprint'>): string {
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 16);
}
