import type { Graph } from '../ir/index.js';
import { BATCH_DIM, NetBuilder } from './builder.js';
import { formatPatternSpec, type PatternSpec } from './spec.js';

/** A built zoo network with what its weight calibration needs to know. */
export interface ZooModel {
  spec: string;
  graph: Graph;
  /** Gain each listed BatchNorm applies after calibration (others: 1). */
  bnGains: Map<string, number>;
}

export const NUM_CLASSES = 1000;

/**
 * One body block of each design pattern, exactly as DESIGN.md defines it (width C, stride 1,
 * same padding). `residualGain` scales the last BatchNorm of a residual branch.
 */
export const BLOCKS = {
  standard(b: NetBuilder, x: string, c: number): string {
    return b.relu(b.batchNorm(b.conv(x, c, { kernel: 3 })));
  },
  factorized(b: NetBuilder, x: string, c: number): string {
    const y = b.relu(b.batchNorm(b.conv(x, c, { kernel: [3, 1] })));
    return b.relu(b.batchNorm(b.conv(y, c, { kernel: [1, 3] })));
  },
  bottleneck(b: NetBuilder, x: string, c: number, s: PatternSpec, residualGain: number): string {
    const inner = c / s.knobs.reduction;
    let y = b.relu(b.batchNorm(b.conv(x, inner, { kernel: 1 })));
    y = b.relu(b.batchNorm(b.conv(y, inner, { kernel: 3 })));
    y = b.batchNorm(b.conv(y, c, { kernel: 1 }), residualGain);
    return b.relu(b.add(y, x));
  },
  'depthwise-separable'(b: NetBuilder, x: string, c: number): string {
    const y = b.relu(b.batchNorm(b.conv(x, c, { kernel: 3, groups: c })));
    return b.relu(b.batchNorm(b.conv(y, c, { kernel: 1 })));
  },
  'depthwise-bottleneck'(b: NetBuilder, x: string, c: number, s: PatternSpec, residualGain: number): string {
    const wide = c * s.knobs.expansion;
    let y = b.relu6(b.batchNorm(b.conv(x, wide, { kernel: 1 })));
    y = b.relu6(b.batchNorm(b.conv(y, wide, { kernel: 3, groups: wide })));
    y = b.batchNorm(b.conv(y, c, { kernel: 1 }), residualGain);
    return b.add(y, x);
  },
  grouped(b: NetBuilder, x: string, c: number, s: PatternSpec): string {
    return b.relu(b.batchNorm(b.conv(x, c, { kernel: 3, groups: c / s.knobs.groupWidth })));
  },
} satisfies Record<PatternSpec['pattern'], (b: NetBuilder, x: string, c: number, s: PatternSpec, g: number) => string>;

/**
 * The standard deviation the last BatchNorm of a residual branch is calibrated to. Summing
 * `depth` unit-variance branches onto the skip path would grow the variance to depth + 1; at
 * 1/√depth it stays within about 2 however deep the stack is (the argument of Fixup/SkipInit).
 */
export function residualBranchGain(depth: number): number {
  return 1 / Math.sqrt(depth);
}

/**
 * A pattern network: stem Conv3×3/2 (3→C) + BN + ReLU, MaxPool 3×3/2, `depth` blocks at R/4,
 * GlobalAveragePool, Flatten, Gemm (C→1000).
 */
export function buildPatternNetwork(s: PatternSpec): ZooModel {
  const spec = formatPatternSpec(s);
  const b = new NetBuilder(spec, s.knobs.seed, [BATCH_DIM, 3, s.resolution, s.resolution]);
  let x = b.relu(b.batchNorm(b.conv('input', s.width, { kernel: 3, stride: 2, pads: [1, 1, 1, 1] })));
  x = b.maxPool(x, { kernel: 3, stride: 2, pads: 1 });
  const gain = residualBranchGain(s.depth);
  for (let i = 1; i <= s.depth; i++) {
    b.block = `block${i}`;
    x = BLOCKS[s.pattern](b, x, s.width, s, gain);
  }
  b.block = 'head';
  const logits = b.linear(b.flatten(b.globalAveragePool(x)), NUM_CLASSES);
  const graph = b.finish(logits, {
    'formbench.spec': spec,
    'formbench.pattern': s.pattern,
    'formbench.depth': String(s.depth),
    'formbench.width': String(s.width),
    'formbench.resolution': String(s.resolution),
    'formbench.seed': String(s.knobs.seed),
  });
  return { spec, graph, bnGains: b.bnGains };
}
