import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The CPU as the OS reports it: model, cores and the ISA extensions acceleration depends on. */
export interface CpuInfo {
  model: string;
  logicalCores: number;
  /** Extensions present, by the names below. */
  isa: string[];
  /** Where the flags came from ('/proc/cpuinfo'), or why they are unknown. */
  source: string;
}

/** /proc/cpuinfo flag → the name formbench reports (AVX2, AVX-512 and its FP16/BF16/VNNI parts, AMX). */
const ISA_FLAGS: [flag: string, name: string][] = [
  ['fma', 'FMA'],
  ['f16c', 'F16C'],
  ['avx2', 'AVX2'],
  ['avx_vnni', 'AVX-VNNI'],
  ['avx512f', 'AVX-512F'],
  ['avx512bw', 'AVX-512BW'],
  ['avx512_vnni', 'AVX-512 VNNI'],
  ['avx512_bf16', 'AVX-512 BF16'],
  ['avx512_fp16', 'AVX-512 FP16'],
  ['amx_tile', 'AMX'],
  ['amx_bf16', 'AMX-BF16'],
  ['amx_int8', 'AMX-INT8'],
];

export function parseCpuFlags(cpuinfo: string): string[] {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  if (!line) return [];
  const flags = new Set(line.split(':')[1]!.trim().split(/\s+/));
  return ISA_FLAGS.filter(([flag]) => flags.has(flag)).map(([, name]) => name);
}

export function cpuInfo(): CpuInfo {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown';
  const logicalCores = os.availableParallelism();
  try {
    return { model, logicalCores, isa: parseCpuFlags(readFileSync('/proc/cpuinfo', 'utf8')), source: '/proc/cpuinfo' };
  } catch {
    return { model, logicalCores, isa: [], source: `ISA flags unknown: no /proc/cpuinfo on ${os.platform()}` };
  }
}
