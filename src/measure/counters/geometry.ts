/**
 * Cache geometries for valgrind's cache simulation: parsing `--simulate=<geometry>`, the named
 * presets, and valgrind's constraints, checked here so that an impossible geometry is a clear
 * user error instead of valgrind's "Bad option".
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors.js';

/** One simulated cache level, in valgrind's `--LL=<size>,<assoc>,<line>` terms. */
export interface CacheLevel {
  sizeBytes: number;
  associativity: number;
  lineBytes: number;
}

export interface CacheGeometry {
  /** The preset's name, or 'custom' for a geometry written out. */
  name: string;
  /** Where the figures come from, for the report (a paper's machine, this host's sysfs, the user). */
  origin: string;
  i1: CacheLevel;
  d1: CacheLevel;
  /** The last-level cache: the one whose misses the study correlates with latency. */
  ll: CacheLevel;
}

/** Typical L1s (32 KiB, 8-way, 64 B lines) so that simulated figures do not depend on the host. */
const TYPICAL_L1: CacheLevel = { sizeBytes: 32 * 1024, associativity: 8, lineBytes: 64 };

/**
 * The seed paper (Abbasi et al., TinyML 2021) counted L3 misses on a machine with a 4 MB
 * last-level cache; it gives neither associativity nor line size, so 16-way with 64 B lines
 * (what Intel client parts of that size have) is our assumption.
 */
const PAPER: CacheGeometry = {
  name: 'paper',
  origin: "the seed paper's 4 MB last-level cache (associativity 16 and 64 B lines assumed)",
  i1: TYPICAL_L1,
  d1: TYPICAL_L1,
  ll: { sizeBytes: 4 * 2 ** 20, associativity: 16, lineBytes: 64 },
};

/**
 * The paper's cache scaled to the reduced inputs a simulated study can afford: at 56×56 instead of
 * 224×224 every activation is 16× smaller, so a 4 MB cache 16× smaller (256 KiB) holds the same
 * share of each layer's data. Without scaling, a 56-pixel network fits the paper's cache whole
 * and no pattern misses at any depth, which says nothing about 224-pixel inputs.
 */
export const PAPER_SCALED_RESOLUTION = 56;
const PAPER_R56: CacheGeometry = {
  name: 'paper-r56',
  origin: `the seed paper's 4 MB last-level cache scaled by (${PAPER_SCALED_RESOLUTION}/224)² to 256 KiB for ${PAPER_SCALED_RESOLUTION}×${PAPER_SCALED_RESOLUTION} inputs (associativity 16 and 64 B lines assumed)`,
  i1: TYPICAL_L1,
  d1: TYPICAL_L1,
  ll: { sizeBytes: 256 * 2 ** 10, associativity: 16, lineBytes: 64 },
};

export const PRESET_NAMES = ['paper', 'paper-r56', 'host'] as const;
export const DEFAULT_PRESET = 'paper';

const GEOMETRY_HINT = "write --simulate=<size>,<assoc>,<line> (e.g. 4MiB,16,64; sizes in B, KiB or MiB) or a preset: paper, paper-r56, host";

/** Parses a preset name or `<size>,<assoc>,<line>` for the last-level cache (L1s stay typical). */
export function parseGeometry(text: string | undefined, cacheSysfs = '/sys/devices/system/cpu/cpu0/cache'): CacheGeometry {
  const t = (text ?? DEFAULT_PRESET).trim();
  if (t === 'paper') return PAPER;
  if (t === 'paper-r56') return PAPER_R56;
  if (t === 'host') return hostGeometry(cacheSysfs);
  const parts = t.split(',').map((p) => p.trim());
  if (parts.length !== 3) throw new UserError(`cannot read cache geometry '${t}'`, GEOMETRY_HINT);
  const ll = { sizeBytes: parseBytes(parts[0]!, t), associativity: parsePositive(parts[1]!, 'associativity', t), lineBytes: parseBytes(parts[2]!, t) };
  checkLevel('last-level cache', ll);
  return { name: 'custom', origin: 'given on the command line', i1: TYPICAL_L1, d1: TYPICAL_L1, ll };
}

/** `4MiB`, `512KiB`, `64`, `4M`: binary units, as cache sizes are written by CPU vendors. */
function parseBytes(text: string, whole: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(text);
  if (!m) throw new UserError(`cannot read size '${text}' in cache geometry '${whole}'`, GEOMETRY_HINT);
  const unit = (m[2] ?? 'b').toLowerCase();
  const bytes = Number(m[1]) * (unit.startsWith('m') ? 2 ** 20 : unit.startsWith('k') ? 2 ** 10 : 1);
  if (!Number.isInteger(bytes) || bytes < 1) throw new UserError(`size '${text}' in cache geometry '${whole}' is not a whole number of bytes`, GEOMETRY_HINT);
  return bytes;
}

function parsePositive(text: string, what: string, whole: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${what} '${text}' in cache geometry '${whole}' is not a positive integer`, GEOMETRY_HINT);
  return n;
}

const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;

/** Cachegrind's own checks (cg_arch.c), so its refusal reads as a formbench error with a fix. */
export function checkLevel(what: string, c: CacheLevel): void {
  const name = `${what} ${formatLevel(c)}`;
  if (!isPowerOfTwo(c.lineBytes)) throw new UserError(`${name}: the line size must be a power of two`, 'cache lines are 64 B on x86 and most Arm cores');
  if (c.lineBytes < 16) throw new UserError(`${name}: valgrind needs lines of at least 16 B`, 'cache lines are 64 B on x86 and most Arm cores');
  if (c.sizeBytes <= c.lineBytes) throw new UserError(`${name}: the cache must be larger than one line`, GEOMETRY_HINT);
  if (c.associativity > c.sizeBytes / c.lineBytes) throw new UserError(`${name}: more ways than lines`, GEOMETRY_HINT);
  const sets = c.sizeBytes / (c.associativity * c.lineBytes);
  if (!isPowerOfTwo(sets)) {
    throw new UserError(`${name} has ${Number.isInteger(sets) ? sets : sets.toFixed(2)} sets: valgrind can only simulate a power-of-two number of sets`, `try ${suggestions(c).join(' or ')}`);
  }
}

/** Nearby geometries valgrind accepts: the same size with another associativity, or a power-of-two size. */
function suggestions(c: CacheLevel): string[] {
  const lines = c.sizeBytes / c.lineBytes;
  const out: string[] = [];
  if (Number.isInteger(lines)) {
    for (let d = 0; d <= c.associativity; d++) {
      const ways = [c.associativity - d, c.associativity + d].find((a) => a >= 1 && isPowerOfTwo(lines / a));
      if (ways) {
        out.push(formatGeometry({ ...c, associativity: ways }));
        break;
      }
    }
  }
  const setsDown = 2 ** Math.floor(Math.log2(Math.max(1, c.sizeBytes / (c.associativity * c.lineBytes))));
  out.push(formatGeometry({ ...c, sizeBytes: setsDown * c.associativity * c.lineBytes }));
  return [...new Set(out)];
}

export function formatSize(bytes: number): string {
  if (bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20}MiB`;
  if (bytes % 2 ** 10 === 0) return `${bytes / 2 ** 10}KiB`;
  return `${bytes}`;
}

/** As the user writes it on the command line: `4MiB,16,64`. */
export function formatGeometry(c: CacheLevel): string {
  return `${formatSize(c.sizeBytes)},${c.associativity},${c.lineBytes}`;
}

function formatLevel(c: CacheLevel): string {
  return `${formatSize(c.sizeBytes)} ${c.associativity}-way ${c.lineBytes} B lines`;
}

/** valgrind's option value: `<bytes>,<assoc>,<line>`. */
export function valgrindCacheArg(c: CacheLevel): string {
  return `${c.sizeBytes},${c.associativity},${c.lineBytes}`;
}

/**
 * This CPU's caches from sysfs. A last level whose set count is not a power of two (a 20-way L3,
 * say) is shrunk to the largest power-of-two set count with the same ways and line, and the
 * origin says so, rather than silently simulating another cache.
 */
export function hostGeometry(cacheSysfs: string): CacheGeometry {
  let entries: { level: number; type: string; cache: CacheLevel }[];
  try {
    entries = readdirSync(cacheSysfs)
      .filter((d) => /^index\d+$/.test(d))
      .map((d) => {
        const read = (f: string) => readFileSync(join(cacheSysfs, d, f), 'utf8').trim();
        return {
          level: Number(read('level')),
          type: read('type'),
          cache: { sizeBytes: parseBytes(read('size'), 'sysfs'), associativity: Number(read('ways_of_associativity')), lineBytes: Number(read('coherency_line_size')) },
        };
      });
  } catch (e) {
    throw new UserError(`cannot read this CPU's caches from ${cacheSysfs}: ${(e as Error).message}`, 'give the geometry yourself, e.g. --simulate=4MiB,16,64');
  }
  const d1 = entries.find((e) => e.level === 1 && e.type === 'Data');
  const i1 = entries.find((e) => e.level === 1 && e.type === 'Instruction');
  const last = entries.filter((e) => e.type !== 'Instruction').sort((a, b) => b.level - a.level)[0];
  if (!d1 || !i1 || !last) throw new UserError(`${cacheSysfs} does not describe L1 data, L1 instruction and a last-level cache`, 'give the geometry yourself, e.g. --simulate=4MiB,16,64');
  const notes: string[] = [`this CPU's caches (${cacheSysfs}): L${last.level} ${formatLevel(last.cache)}`];
  const fit = (c: CacheLevel, what: string): CacheLevel => {
    const sets = c.sizeBytes / (c.associativity * c.lineBytes);
    if (isPowerOfTwo(sets)) return c;
    const fitted = { ...c, sizeBytes: 2 ** Math.floor(Math.log2(sets)) * c.associativity * c.lineBytes };
    notes.push(`${what} has ${sets} sets, not a power of two: simulated as ${formatLevel(fitted)}`);
    return fitted;
  };
  const geometry: CacheGeometry = { name: 'host', origin: '', i1: fit(i1.cache, 'L1i'), d1: fit(d1.cache, 'L1d'), ll: fit(last.cache, `L${last.level}`) };
  for (const [what, c] of [['L1i', geometry.i1], ['L1d', geometry.d1], ['last-level cache', geometry.ll]] as const) checkLevel(what, c);
  geometry.origin = notes.join('; ');
  return geometry;
}
