import { UserError } from '../errors.js';

export const PATTERNS = [
  'standard',
  'factorized',
  'bottleneck',
  'depthwise-separable',
  'depthwise-bottleneck',
  'grouped',
] as const;
export type Pattern = (typeof PATTERNS)[number];

/** Block knobs, named as they appear in a spec (`bottleneck/d10/w64/reduction=2`). */
export interface PatternKnobs {
  /** Bottleneck: the 1×1 reduction divides width by this (ResNet's 4). */
  reduction: number;
  /** Depthwise bottleneck: the 1×1 expansion multiplies width by this (MobileNetV2's 6). */
  expansion: number;
  /** Grouped: channels per group; groups = width / groupWidth (16, as the seed paper). */
  groupWidth: number;
  /** Seed of the random weights. */
  seed: number;
}

export const DEFAULT_KNOBS: PatternKnobs = { reduction: 4, expansion: 6, groupWidth: 16, seed: 1 };
export const DEFAULT_RESOLUTION = 224;

/** Which knobs each pattern reads; a knob given to another pattern is an error, not ignored. */
const KNOBS_OF: Record<Pattern, (keyof PatternKnobs)[]> = {
  standard: ['seed'],
  factorized: ['seed'],
  bottleneck: ['reduction', 'seed'],
  'depthwise-separable': ['seed'],
  'depthwise-bottleneck': ['expansion', 'seed'],
  grouped: ['groupWidth', 'seed'],
};

const KNOB_NAMES: Record<string, keyof PatternKnobs> = {
  reduction: 'reduction',
  expansion: 'expansion',
  'group-width': 'groupWidth',
  seed: 'seed',
};

export interface PatternSpec {
  pattern: Pattern;
  depth: number;
  width: number;
  resolution: number;
  knobs: PatternKnobs;
}

/**
 * The largest zoo networks formbench builds. Depth 1000 is 20× the seed paper's deepest (50) and
 * builds in about a second; width 4096 is twice the widest common layer (ResNet-50's 2048); a
 * resolution of 4096 is a 16-megapixel input. Beyond them a spec is a typo, not an experiment.
 */
export const ZOO_LIMITS = { depth: 1000, width: 4096, resolution: 4096, ratio: 64, seed: 2 ** 32 - 1 } as const;

const SPEC_HINT = 'a pattern spec is <pattern>/d<depth>/w<width>[/r<resolution>][/<knob>=<n>], e.g. grouped/d20/w64 or bottleneck/d10/w128/r160/reduction=2';

export function isPatternSpec(spec: string): boolean {
  return (PATTERNS as readonly string[]).includes(spec.split('/')[0]!);
}

export function parsePatternSpec(spec: string): PatternSpec {
  const [head, ...parts] = spec.trim().split('/');
  if (!(PATTERNS as readonly string[]).includes(head!)) {
    throw new UserError(`unknown design pattern '${head}'`, `patterns: ${PATTERNS.join(', ')}`);
  }
  const pattern = head as Pattern;
  let depth: number | undefined;
  let width: number | undefined;
  let resolution = DEFAULT_RESOLUTION;
  const knobs = { ...DEFAULT_KNOBS };
  for (const part of parts) {
    const sized = /^([dwr])(\d+)$/.exec(part);
    const knob = /^([a-z-]+)=(\d+)$/.exec(part);
    if (sized) {
      const n = Number(sized[2]);
      if (sized[1] === 'd') depth = n;
      else if (sized[1] === 'w') width = n;
      else resolution = n;
    } else if (knob) {
      const key = KNOB_NAMES[knob[1]!];
      if (!key) throw new UserError(`unknown knob '${knob[1]}' in '${spec}'`, `knobs: ${Object.keys(KNOB_NAMES).join(', ')}`);
      if (!KNOBS_OF[pattern].includes(key)) throw new UserError(`the ${pattern} pattern has no knob '${knob[1]}'`, SPEC_HINT);
      knobs[key] = Number(knob[2]);
    } else {
      throw new UserError(`cannot read '${part}' in model spec '${spec}'`, SPEC_HINT);
    }
  }
  if (depth === undefined || width === undefined) throw new UserError(`model spec '${spec}' needs a depth and a width`, SPEC_HINT);
  if (depth < 1) throw new UserError(`depth must be at least 1, got ${depth}`, SPEC_HINT);
  if (width < 1) throw new UserError(`width must be at least 1, got ${width}`, SPEC_HINT);
  if (resolution < 8) throw new UserError(`resolution must be at least 8, got ${resolution}`, SPEC_HINT);
  atMost('depth', depth, ZOO_LIMITS.depth);
  atMost('width', width, ZOO_LIMITS.width);
  atMost('resolution', resolution, ZOO_LIMITS.resolution);
  checkWidth(pattern, width, knobs);
  return { pattern, depth, width, resolution, knobs };
}

function atMost(what: string, n: number, max: number): void {
  if (n > max) throw new UserError(`${what} ${n > 1e15 ? n.toExponential(2) : n} is more than formbench builds (at most ${max})`, `give a ${what} of at most ${max}; ${SPEC_HINT}`);
}

function checkWidth(pattern: Pattern, width: number, k: PatternKnobs): void {
  for (const key of KNOBS_OF[pattern]) {
    if (key !== 'seed' && k[key] < 1) throw new UserError(`${key} must be at least 1`, SPEC_HINT);
    if (key === 'seed') atMost('seed', k.seed, ZOO_LIMITS.seed);
    else atMost(key, k[key], key === 'groupWidth' ? width : ZOO_LIMITS.ratio);
  }
  if (pattern === 'bottleneck' && width % k.reduction !== 0) {
    throw new UserError(
      `bottleneck width ${width} is not divisible by its reduction ${k.reduction}`,
      `use a width that is a multiple of ${k.reduction}, or set reduction=<n>`,
    );
  }
  if (pattern === 'grouped' && width % k.groupWidth !== 0) {
    throw new UserError(
      `grouped width ${width} is not divisible by the group width ${k.groupWidth}`,
      `use a multiple of ${k.groupWidth} (e.g. ${Math.max(k.groupWidth, Math.round(width / k.groupWidth) * k.groupWidth)}), or set group-width=<n>`,
    );
  }
}

/** The canonical spelling: defaults omitted, fixed order. */
export function formatPatternSpec(s: PatternSpec): string {
  let out = `${s.pattern}/d${s.depth}/w${s.width}`;
  if (s.resolution !== DEFAULT_RESOLUTION) out += `/r${s.resolution}`;
  for (const key of KNOBS_OF[s.pattern]) {
    if (s.knobs[key] !== DEFAULT_KNOBS[key]) {
      const name = Object.entries(KNOB_NAMES).find(([, v]) => v === key)![0];
      out += `/${name}=${s.knobs[key]}`;
    }
  }
  return out;
}
