/**
 * Probe networks: small chains of kernels whose configurations (operator, channels in and out,
 * kernel size, stride, groups, spatial size, batch, fused activation and residual Add) are drawn
 * from a sampling grid. Profiling one probe in a worker times each of its kernels at once, so a
 * calibration samples hundreds of kernel configurations in a few minutes. Probes are data (JSON),
 * stored with their measurements; the key of a probe is the hash of its definition.
 */
import { createHash } from 'node:crypto';
import { analyzeGraph } from '../analysis/index.js';
import type { Graph } from '../ir/index.js';
import { BATCH_DIM, DEFAULT_KNOBS, NetBuilder, type Pattern, PATTERNS, type PatternSpec } from '../zoo/index.js';
import { BLOCKS, buildPatternNetwork } from '../zoo/patterns.js';
import type { KernelClass, KernelShape } from './kernels.js';

/**
 * The sampling grid. Held-out networks are chosen off it (widths 40, 88, 120, 144, 176; depths 5,
 * 7, 13; input resolution 160, whose body runs at 40 × 40), so validation tests interpolation.
 * Widths that are not multiples of 16 (8, 20, 24, 28, 36, 56, 72) are there because the engines
 * step at that alignment: ort's NCHWc blocks channels by 16 on AVX-512 and converts layouts around
 * what does not fit, and torch's oneDNN ran a stem convolution 3→40 in 0.40 ms and 3→48 in 1.87 ms.
 * Between 64 and 192 it is as dense as the speeds are uneven: ORT's 3×3 convolution at 56 × 56 ran
 * at 180 GMAC/s with 64 channels, 118 with 72, 148 with 80, 170 with 96 and 183 with 112 (this
 * project's VM), which no smooth law through 72 and 96 draws; with 80, 112 and 160 added as
 * depth-4 network probes to a calibration that lacked them, ort's predictions of the then
 * held-out networks at those widths within ±10% of their measurement went from 10 to 14 of 18.
 */
export const WIDTH_GRID = [8, 16, 20, 24, 28, 32, 36, 48, 56, 64, 72, 80, 96, 112, 128, 160, 192, 256, 384] as const;
export const SPATIAL_GRID = [7, 14, 28, 56, 112] as const;
/** Input sides of probes that start from an RGB image (a stem convolution). */
export const STEM_GRID = [96, 112, 224] as const;
export const BATCH_GRID = [1, 1, 1, 1, 2, 4] as const;

/**
 * MACs of one run at batch 1: at most this, so that a probe profiles in about a second; at least
 * the minimum, so that its kernels take tens of µs or more (the networks predicted do), where the
 * profiler's few µs per kernel are not most of what is timed.
 */
export const PROBE_MAX_MACS = 300e6;
export const PROBE_MIN_MACS = 15e6;

export type ProbeUnit =
  /** One body block of a design pattern at `width` (DESIGN.md), on the current value. */
  | { kind: 'block'; pattern: Pattern; width: number }
  | { kind: 'conv'; channelsOut: number; kernel: [number, number]; stride: number; groups: 'dense' | 'depthwise' | number; activation: 'relu' | 'relu6' | 'none'; residual: boolean }
  | { kind: 'pool'; op: 'max' | 'avg'; kernel: number; stride: number };

export interface Probe {
  /**
   * A whole pattern network (zoo/patterns.ts) instead of a chain of units: its kernels are timed
   * where a network runs them, after the kernels a network puts before them. Measured here, a
   * kernel's time depends on that context: on torch, a BatchNorm of a 480-channel 56 × 56 tensor
   * ran in 0.25 ms alone and 0.95 ms after a depthwise convolution of the same tensor.
   */
  network?: { pattern: Pattern; depth: number; width: number; resolution: number };
  channels: number;
  spatial: number;
  batch: number;
  units: ProbeUnit[];
  /** Output features of the classifier head (GlobalAveragePool, Flatten, Gemm). */
  classes: number;
  /** Why it was sampled: 'space-filling' or 'refine <class>'. */
  purpose: string;
}

export function probeKey(probe: Probe): string {
  const { purpose: _purpose, ...definition } = probe;
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16);
}

/** The probe as a graph with seeded weights (BatchNorms left at identity: a probe is a few layers deep). */
export function buildProbe(probe: Probe): Graph {
  if (probe.network) return buildPatternNetwork({ ...probe.network, knobs: DEFAULT_KNOBS }).graph;
  const b = new NetBuilder(`probe-${probeKey(probe)}`, 1, [BATCH_DIM, probe.channels, probe.spatial, probe.spatial]);
  let x = 'input';
  for (const [i, u] of probe.units.entries()) {
    b.block = `unit${i + 1}`;
    x = buildUnit(b, x, u);
  }
  b.block = 'head';
  return b.finish(b.linear(b.flatten(b.globalAveragePool(x)), probe.classes));
}

function buildUnit(b: NetBuilder, x: string, u: ProbeUnit): string {
  switch (u.kind) {
    case 'block': {
      const spec: PatternSpec = { pattern: u.pattern, depth: 1, width: u.width, resolution: 0, knobs: DEFAULT_KNOBS };
      return BLOCKS[u.pattern](b, x, u.width, spec, 1);
    }
    case 'pool':
      return u.op === 'max' ? b.maxPool(x, { kernel: u.kernel, stride: u.stride, pads: Math.floor(u.kernel / 2) }) : b.avgPool(x, { kernel: u.kernel, stride: u.stride, pads: Math.floor(u.kernel / 2) });
    case 'conv': {
      const cin = b.channelsOf(x);
      const groups = u.groups === 'dense' ? 1 : u.groups === 'depthwise' ? cin : u.groups;
      let y = b.batchNorm(b.conv(x, u.channelsOut, { kernel: u.kernel, stride: u.stride, groups }));
      if (u.residual) y = b.add(y, x);
      if (u.activation === 'relu') y = b.relu(y);
      else if (u.activation === 'relu6') y = b.relu6(y);
      return y;
    }
  }
}

/**
 * Pattern networks sampled whole: every pattern at these widths and input resolutions (bodies at
 * 56 × 56 and 28 × 28), four blocks deep. Four, not two: on torch the first block of a network
 * runs slower than the identical ones after it (profiled on this project's VM: a grouped network
 * of width 64, thirteen blocks deep, 0.85 ms for the first block's convolution and 0.25–0.28 ms
 * for the others; two blocks deep, 0.60 and 0.40 ms), so a probe needs blocks past the second to
 * show what the body of a deeper network costs (kernels.ts: `repeated`).
 */
export const NETWORK_PROBE_WIDTHS = [16, 20, 24, 28, 32, 36, 48, 56, 64, 72, 80, 96, 112, 128, 160, 192, 256] as const;
export const NETWORK_PROBE_RESOLUTIONS = [224, 112] as const;
export const NETWORK_PROBE_DEPTH = 4;
/** MACs of one run at batch 1: at most this, so that a network probe profiles in a few seconds on torch. */
export const NETWORK_PROBE_MAX_MACS = 1.6e9;

/**
 * The pattern-network probes, in a fixed order that spreads patterns, widths and resolutions
 * (each pattern's networks shuffled with a seed, the patterns taken in turn), so that a
 * calibration cut short has sampled every pattern thinly rather than a few densely. Widths a
 * pattern does not build (grouped: multiples of its group width) and networks over the MAC limit
 * are left out. Built once per process (the MAC filter builds every network); callers get the
 * same read-only list.
 */
export function networkProbes(): readonly Probe[] {
  return (networkProbeList ??= listNetworkProbes());
}

let networkProbeList: readonly Probe[] | undefined;

function listNetworkProbes(): Probe[] {
  const rng = seededRandom(7);
  const perPattern = PATTERNS.map((pattern) => {
    const probes: { p: Probe; r: number }[] = [];
    for (const width of NETWORK_PROBE_WIDTHS)
      for (const resolution of NETWORK_PROBE_RESOLUTIONS) {
        if (pattern === 'grouped' && width % DEFAULT_KNOBS.groupWidth !== 0) continue;
        if (pattern === 'bottleneck' && width % DEFAULT_KNOBS.reduction !== 0) continue;
        const probe: Probe = { network: { pattern, depth: NETWORK_PROBE_DEPTH, width, resolution }, channels: 3, spatial: resolution, batch: 1, units: [], classes: 1000, purpose: 'pattern network' };
        if (analyzeGraph(buildProbe(probe), { batch: 1 }).macs <= NETWORK_PROBE_MAX_MACS) probes.push({ p: probe, r: rng() });
      }
    return probes.sort((a, b) => a.r - b.r).map((x) => x.p);
  });
  const out: Probe[] = [];
  for (let i = 0; perPattern.some((ps) => i < ps.length); i++) for (const ps of perPattern) if (i < ps.length) out.push(ps[i]!);
  return out;
}

/** A seeded generator (mulberry32): a probe is a function of its seed and the focus it was drawn for. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

/** The grid value nearest x, or one step either side of it (refinement looks around a bad sample). */
function nearGrid(rng: () => number, grid: readonly number[], x: number): number {
  let best = 0;
  for (let i = 1; i < grid.length; i++) if (Math.abs(Math.log(grid[i]! / x)) < Math.abs(Math.log(grid[best]! / x))) best = i;
  const step = Math.floor(rng() * 3) - 1;
  return grid[Math.min(grid.length - 1, Math.max(0, best + step))]!;
}

/** Where a refinement probe should look: a kernel class, and a badly predicted sample of it. */
export interface ProbeFocus {
  kernelClass: KernelClass;
  near?: KernelShape;
}

/**
 * Draws one probe: an optional stem (RGB input, strided 3×3 or 7×7), then 2–4 units (pattern
 * blocks, single convolutions of every kind, pools), each one's input the last one's output. With
 * a focus, the first unit is a kernel of that class near the focus's shape.
 */
export function sampleProbe(seed: number, focus?: ProbeFocus): Probe {
  const rng = seededRandom(seed);
  const batch = pick(rng, BATCH_GRID);
  const units: ProbeUnit[] = [];
  let channels: number;
  let spatial: number;
  if (!focus && rng() < 0.2) {
    channels = 3;
    spatial = pick(rng, STEM_GRID);
    units.push({ kind: 'conv', channelsOut: pick(rng, WIDTH_GRID.slice(1, 8)), kernel: rng() < 0.7 ? [3, 3] : [7, 7], stride: 2, groups: 'dense', activation: 'relu', residual: false });
  } else {
    channels = focus?.near ? nearGrid(rng, WIDTH_GRID, focus.near.channelsIn) : pick(rng, WIDTH_GRID);
    spatial = focus?.near ? nearGrid(rng, SPATIAL_GRID, Math.sqrt(focus.near.spatialOut) * focus.near.stride) : pick(rng, SPATIAL_GRID);
  }
  let c = units.length ? (units[0] as { channelsOut: number }).channelsOut : channels;
  let s = units.length ? Math.ceil(spatial / 2) : spatial;
  if (focus) {
    const u = focusedUnit(rng, focus.kernelClass, c, s);
    units.push(u);
    [c, s] = after(u, c, s);
  }
  const count = 2 + Math.floor(rng() * 3);
  while (units.length < count) {
    const u = randomUnit(rng, c, s);
    units.push(...u);
    for (const x of u) [c, s] = after(x, c, s);
  }
  return { channels, spatial, batch, units, classes: pick(rng, [10, 100, 1000]), purpose: focus ? `refine ${focus.kernelClass}` : 'space-filling' };
}

function after(u: ProbeUnit, c: number, s: number): [number, number] {
  if (u.kind === 'block') return [u.width, s];
  if (u.kind === 'pool') return [c, Math.ceil(s / u.stride)];
  return [u.channelsOut, Math.ceil(s / u.stride)];
}

function convUnit(rng: () => number, c: number, s: number, over: Partial<Extract<ProbeUnit, { kind: 'conv' }>>): ProbeUnit {
  const stride = s >= 14 && rng() < 0.3 ? 2 : 1;
  const channelsOut = over.groups === 'depthwise' ? c : (over.channelsOut ?? (rng() < 0.5 ? c : pick(rng, WIDTH_GRID)));
  const residual = stride === 1 && channelsOut === c && rng() < 0.35;
  const activation = pick(rng, ['relu', 'relu', 'relu6', 'none'] as const);
  return { kind: 'conv', channelsOut, kernel: [3, 3], stride, groups: 'dense', activation, residual, ...over, ...(over.groups === 'depthwise' ? { channelsOut: c } : {}) };
}

function focusedUnit(rng: () => number, cls: KernelClass, c: number, s: number): ProbeUnit {
  switch (cls) {
    case 'conv':
      return convUnit(rng, c, s, { kernel: pick(rng, [[3, 3], [3, 3], [3, 1], [1, 3], [5, 5]] as [number, number][]) });
    case 'conv1x1':
      return convUnit(rng, c, s, { kernel: [1, 1] });
    case 'dwconv':
      return convUnit(rng, c, s, { kernel: rng() < 0.8 ? [3, 3] : [5, 5], groups: 'depthwise' });
    case 'gconv': {
      const groupWidth = pick(rng, [8, 16, 32].filter((g) => c % g === 0 && c > g));
      return groupWidth ? convUnit(rng, c, s, { groups: c / groupWidth, channelsOut: c }) : convUnit(rng, c, s, {});
    }
    case 'maxpool':
    case 'avgpool':
      return s >= 14 ? { kind: 'pool', op: cls === 'maxpool' ? 'max' : 'avg', kernel: 3, stride: 2 } : convUnit(rng, c, s, {});
    case 'batchnorm':
    case 'activation':
      // A 1×1 expansion to a wide tensor: its BatchNorm and activation are the element-wise
      // kernels (apart on an engine that does not fuse them), at the sizes expansion blocks reach.
      return convUnit(rng, c, s, { kernel: [1, 1], channelsOut: pick(rng, WIDTH_GRID.slice(-4)), residual: false });
    case 'binary':
      return convUnit(rng, c, s, { channelsOut: c, stride: 1, residual: true });
    default:
      return randomUnit(rng, c, s)[0]!;
  }
}

/** One random unit (a block may need a 1×1 convolution before it to reach a width it accepts). */
function randomUnit(rng: () => number, c: number, s: number): ProbeUnit[] {
  const r = rng();
  if (r < 0.45) {
    const pattern = pick(rng, PATTERNS);
    if (pattern === 'grouped' && c % 16 !== 0) {
      const width = pick(rng, WIDTH_GRID.filter((w) => w % 16 === 0));
      return [convUnit(rng, c, s, { kernel: [1, 1], channelsOut: width, residual: false }), { kind: 'block', pattern, width }];
    }
    return [{ kind: 'block', pattern, width: c }];
  }
  if (r < 0.55 && s >= 14) return [{ kind: 'pool', op: rng() < 0.7 ? 'max' : 'avg', kernel: 3, stride: 2 }];
  const kind = pick(rng, ['conv', 'conv', 'conv1x1', 'conv1x1', 'dwconv', 'gconv'] as const);
  return [focusedUnit(rng, kind, c, s)];
}
