/**
 * What a trial costs besides its latency, read around its timed runs in the worker: the resident
 * memory of the worker tree at their start and end (a leak grows it), the CPU time the tree spent
 * against the wall time (spinning threads), the CPU frequency (throttling) and the package energy
 * (Linux powercap/RAPL). Only what the OS offers is reported: a figure it does not give is absent,
 * with the reason, never 0. Every path is read under an injectable root, so that the arithmetic
 * is tested on fixture files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processTree, treeRssBytes } from './process-tree.js';

/** Where the OS's files are: '/' on the machine, a fixture folder in tests. */
export interface SysRoot {
  root: string;
}

const HOST: SysRoot = { root: '/' };

export type CpuMhzSource = 'cpufreq' | 'cpuinfo';

/** The frequency the OS reports now, MHz, and which file said it. */
export interface CpuMhzReading {
  mhz: number;
  source: CpuMhzSource;
}

/** One reading of the RAPL package domains: their energy counters, µJ, and where each wraps. */
export interface EnergyReading {
  domains: { name: string; energyUj: number; maxEnergyRangeUj: number }[];
}

/** What the worker measured over a trial's timed runs. */
export interface TrialLifecycle {
  /** Wall time of the timed runs, ms (the warm-up excluded). */
  timedWallMs: number;
  /** User + system CPU time of the worker and its children over the timed runs, ms. */
  cpuMs: number;
  /** cpuMs ÷ timedWallMs: about the number of busy threads (1.97 on 2 spinning threads); absent for a window shorter than cpuPerWallMinWallMs. */
  cpuPerWall?: number;
  /** Resident memory of the worker tree at the start of the timed runs, bytes (where /proc tells). */
  rssStartBytes?: number;
  /** RSS at their end minus at their start, bytes (negative where memory was returned). */
  rssGrowthBytes?: number;
  /** The CPU frequency before and after the timed runs, MHz, where the OS reports it. */
  cpuMhzBefore?: number;
  cpuMhzAfter?: number;
  cpuMhzSource?: CpuMhzSource;
  /** Package energy over the timed runs per inference (one run of the batch), J; or why not measured. */
  energy: { joulesPerInference: number; joules: number } | { unsupported: string };
}

/**
 * The leak rule: RSS grew over the timed runs by more than 10% of what the tree held at their
 * start and by more than 32 MiB. The timed runs follow the warm-up, so a session's buffers are
 * allocated by then and steady-state runs should allocate nothing new; but allocators still grow
 * in chunks (glibc's arenas are 64 MiB per thread at most, onnxruntime's arena extends by
 * doubling its last chunk), so an absolute floor of 32 MiB ignores one such extension, and the
 * relative floor keeps a multi-GiB trial's normal arena churn from reading as a leak.
 */
export const LEAK_RELATIVE = 0.1;
export const LEAK_MIN_BYTES = 32 * 2 ** 20;

export function leakSuspected(rssStartBytes: number | null | undefined, rssGrowthBytes: number | null | undefined): boolean {
  if (rssStartBytes == null || rssGrowthBytes == null) return false;
  return rssGrowthBytes > LEAK_MIN_BYTES && rssGrowthBytes > LEAK_RELATIVE * rssStartBytes;
}

/**
 * The throttling rule: the frequency after the timed runs more than 10% below the one before.
 * Under load a core moves between turbo bins of 100 MHz (3–4% at 3 GHz) as other cores wake and
 * sleep; a thermal or power limit cuts several bins at once, so 10% is past ordinary turbo jitter.
 */
export const THROTTLE_DROP = 0.1;

export function frequencyDrop(beforeMhz: number | null | undefined, afterMhz: number | null | undefined): number | undefined {
  if (beforeMhz == null || afterMhz == null || beforeMhz <= 0) return undefined;
  return (beforeMhz - afterMhz) / beforeMhz;
}

export function throttled(beforeMhz: number | null | undefined, afterMhz: number | null | undefined): boolean {
  const drop = frequencyDrop(beforeMhz, afterMhz);
  return drop !== undefined && drop > THROTTLE_DROP;
}

/** CPU time over wall time; undefined for no wall time (nothing was timed). */
export function cpuPerWall(cpuMs: number, wallMs: number): number | undefined {
  return wallMs > 0 ? cpuMs / wallMs : undefined;
}

/**
 * Energy between two readings, J. A RAPL counter wraps to 0 past max_energy_range_uj (about
 * 262 kJ on Intel parts: some 40 minutes at 100 W), so a counter that went down wrapped once; a
 * trial's timed runs last seconds, far too short to wrap twice. Domains missing from either reading
 * are left out.
 */
export function energyJoules(before: EnergyReading, after: EnergyReading): number {
  let uj = 0;
  for (const b of before.domains) {
    const a = after.domains.find((d) => d.name === b.name);
    if (!a) continue;
    uj += a.energyUj >= b.energyUj ? a.energyUj - b.energyUj : a.energyUj + b.maxEnergyRangeUj - b.energyUj;
  }
  return uj / 1e6;
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The RAPL package domains (intel-rapl:0, intel-rapl:1, …; their subzones core, uncore and dram
 * are parts of the package and would count twice), or why they cannot be read: no powercap
 * driver (most VMs), or energy_uj readable by root only (Linux ≥ 5.10, after the PLATYPUS attack).
 */
export function readEnergy(sys: SysRoot = HOST): EnergyReading | { unsupported: string } {
  const dir = join(sys.root, 'sys/class/powercap');
  let zones: string[];
  try {
    zones = readdirSync(dir).filter((z) => /^intel-rapl:\d+$/.test(z));
  } catch {
    return { unsupported: 'no powercap/RAPL here: /sys/class/powercap is absent' };
  }
  if (zones.length === 0) return { unsupported: 'no RAPL package domain in /sys/class/powercap' };
  const domains: EnergyReading['domains'] = [];
  for (const zone of zones.sort()) {
    let energy: string;
    try {
      energy = readFileSync(join(dir, zone, 'energy_uj'), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { unsupported: code === 'EACCES' ? `${zone}/energy_uj is readable by root only` : `${zone}/energy_uj cannot be read (${code ?? 'error'})` };
    }
    const range = Number(readText(join(dir, zone, 'max_energy_range_uj')));
    const name = readText(join(dir, zone, 'name'))?.trim() ?? zone;
    if (!Number.isFinite(Number(energy)) || !Number.isFinite(range)) return { unsupported: `${zone} gives no number` };
    domains.push({ name: `${zone}:${name}`, energyUj: Number(energy), maxEnergyRangeUj: range });
  }
  return { domains };
}

/**
 * The CPU frequency now, MHz: the highest over the CPUs (the busy cores running the trial run
 * fastest; idle ones drop to their lowest), from cpufreq's scaling_cur_freq (kHz) where the
 * kernel has a cpufreq driver, else from /proc/cpuinfo's "cpu MHz" (on a VM usually the host's
 * nominal clock, fixed). Undefined where neither says.
 */
export function readCpuMhz(sys: SysRoot = HOST): CpuMhzReading | undefined {
  const cpuDir = join(sys.root, 'sys/devices/system/cpu');
  let cpus: string[] = [];
  try {
    cpus = readdirSync(cpuDir).filter((c) => /^cpu\d+$/.test(c));
  } catch {
    // No sysfs: fall back to /proc.
  }
  const khz = cpus.map((c) => Number(readText(join(cpuDir, c, 'cpufreq/scaling_cur_freq')))).filter((v) => Number.isFinite(v) && v > 0);
  if (khz.length > 0) return { mhz: Math.max(...khz) / 1000, source: 'cpufreq' };
  const info = readText(join(sys.root, 'proc/cpuinfo'));
  const mhz = [...(info ?? '').matchAll(/^cpu MHz\s*:\s*([\d.]+)/gm)].map((m) => Number(m[1])).filter((v) => v > 0);
  return mhz.length > 0 ? { mhz: Math.max(...mhz), source: 'cpuinfo' } : undefined;
}

/**
 * Linux counts a process's CPU time in clock ticks of USER_HZ, which is 100 on every architecture
 * Linux runs on (sysconf(_SC_CLK_TCK); Node cannot ask for it).
 */
const USER_HZ = 100;

/**
 * User + system CPU time of a process, ms, from /proc/<pid>/stat (fields 14 and 15, counted after
 * the command name, which may hold spaces and parentheses: from its last ')').
 */
export function processCpuMs(pid: number, sys: SysRoot = HOST): number | undefined {
  const stat = readText(join(sys.root, `proc/${pid}/stat`));
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / USER_HZ : undefined;
}

/** One reading of the worker tree at a mark: its CPU time by process, its RSS, the frequency, the energy counters. */
interface Mark {
  wallNs: bigint;
  selfCpuMs: number;
  childCpuMs: Map<number, number>;
  rssBytes: number | undefined;
  mhz: CpuMhzReading | undefined;
  energy: EnergyReading | { unsupported: string };
}

/** The two clocks, read back to back so that neither counts time the other does not. */
function clocks(): { wallNs: bigint; selfCpuMs: number } {
  const cpu = process.cpuUsage();
  return { wallNs: process.hrtime.bigint(), selfCpuMs: (cpu.user + cpu.system) / 1000 };
}

function childCpu(pids: readonly number[]): Map<number, number> {
  const childCpuMs = new Map<number, number>();
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms !== undefined) childCpuMs.set(pid, ms);
  }
  return childCpuMs;
}

/**
 * Below these timed wall times, ms, CPU ÷ wall is not given: the window is too short for the
 * clocks it divides. The kernel brings a thread's CPU time up to date at each scheduler tick (4 ms
 * at HZ 250) while it runs on another core, so a 3 ms window on 2 cores once read 2.8 busy
 * threads; 100 ms keeps that to a few percent per thread. A child's CPU time comes from /proc in
 * ticks of 10 ms, and 20 of them keep its rounding under 5%.
 */
export const CPU_PER_WALL_MIN_WALL_MS = 100;
export const CHILD_CPU_MIN_WALL_MS = 20 * (1000 / 100);

/** The shortest timed window whose CPU ÷ wall is given, ms: longer where a child's ticks count. */
export function cpuPerWallMinWallMs(withChildren: boolean): number {
  return withChildren ? CHILD_CPU_MIN_WALL_MS : CPU_PER_WALL_MIN_WALL_MS;
}

/**
 * Watches the timed runs: `start()` just before the first, `stop(runs)` just after the last.
 * Each reads a handful of /proc and /sys files, and walking the process tree scans /proc, which
 * costs milliseconds of CPU; so the clocks are read last at the start and first at the end, and
 * none of that reading falls inside the window they measure (a 3 ms window once read 3 busy
 * threads on 2 cores when it did).
 */
export function lifecycleProbe(): { start(): void; stop(runs: number): TrialLifecycle } {
  let begin: Mark | undefined;
  return {
    start() {
      const tree = processTree(process.pid);
      // The tree's: the torch engine's memory is its Python child's.
      const rssBytes = treeRssBytes(tree) ?? process.memoryUsage().rss;
      const mhz = readCpuMhz();
      const energy = readEnergy();
      const childCpuMs = childCpu(tree.slice(1));
      begin = { ...clocks(), childCpuMs, rssBytes, mhz, energy };
    },
    stop(runs) {
      const c = clocks();
      const energyEnd = readEnergy();
      const b = begin ?? { ...c, childCpuMs: new Map<number, number>(), rssBytes: undefined, mhz: undefined, energy: energyEnd };
      const known = childCpu([...b.childCpuMs.keys()]);
      const tree = processTree(process.pid);
      // A child born during the runs counts from 0 (read a little late); one that ended before this mark is lost.
      for (const [pid, ms] of childCpu(tree.slice(1).filter((pid) => !known.has(pid)))) known.set(pid, ms);
      const rssEnd = treeRssBytes(tree) ?? process.memoryUsage().rss;
      const mhzEnd = readCpuMhz();
      const timedWallMs = Number(c.wallNs - b.wallNs) / 1e6;
      let childMs = 0;
      for (const [pid, ms] of known) childMs += ms - (b.childCpuMs.get(pid) ?? 0);
      const cpuMs = c.selfCpuMs - b.selfCpuMs + childMs;
      const energy = energyOver(b.energy, energyEnd, runs);
      const ratio = timedWallMs < cpuPerWallMinWallMs(known.size > 0) ? undefined : cpuPerWall(cpuMs, timedWallMs);
      return {
        timedWallMs,
        cpuMs,
        ...(ratio !== undefined ? { cpuPerWall: ratio } : {}),
        ...(b.rssBytes !== undefined ? { rssStartBytes: b.rssBytes, rssGrowthBytes: rssEnd - b.rssBytes } : {}),
        ...(b.mhz && mhzEnd ? { cpuMhzBefore: b.mhz.mhz, cpuMhzAfter: mhzEnd.mhz, cpuMhzSource: mhzEnd.source } : {}),
        energy,
      };
    },
  };
}

/** Joules per inference from two readings, or why there is no figure. */
export function energyOver(before: EnergyReading | { unsupported: string }, after: EnergyReading | { unsupported: string }, runs: number): TrialLifecycle['energy'] {
  if ('unsupported' in before) return before;
  if ('unsupported' in after) return after;
  if (runs <= 0) return { unsupported: 'no timed runs' };
  const joules = energyJoules(before, after);
  // A counter that did not move in a whole trial is not updated here (some VMs expose a frozen one).
  if (joules <= 0) return { unsupported: 'the RAPL counters did not advance' };
  return { joules, joulesPerInference: joules / runs };
}
