import type { NetBuilder } from '../builder.js';
import type { ReferenceNetwork } from './network.js';

/**
 * The DARTS ImageNet network with the DARTS_V2 genotype (Liu et al., 2019), as the authors'
 * NetworkImageNet defines it: 48 initial channels, 14 cells, reductions at cells 4 and 9, no
 * auxiliary head. Convolutions are bias-free and every BatchNorm is affine.
 */
type Op = 'sep_conv_3x3' | 'dil_conv_3x3' | 'max_pool_3x3' | 'skip_connect';

interface Genotype {
  /** Four intermediate nodes, each the sum of two (operation, input state) pairs. */
  nodes: [[Op, number], [Op, number]][];
}

const DARTS_V2_NORMAL: Genotype = {
  nodes: [
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1]],
    [['sep_conv_3x3', 0], ['sep_conv_3x3', 1]],
    [['sep_conv_3x3', 1], ['skip_connect', 0]],
    [['skip_connect', 0], ['dil_conv_3x3', 2]],
  ],
};

const DARTS_V2_REDUCE: Genotype = {
  nodes: [
    [['max_pool_3x3', 0], ['max_pool_3x3', 1]],
    [['skip_connect', 2], ['max_pool_3x3', 1]],
    [['max_pool_3x3', 0], ['skip_connect', 2]],
    [['skip_connect', 2], ['max_pool_3x3', 1]],
  ],
};

const C = 48;
const LAYERS = 14;

/** ReLU → conv → BN, the cells' input preprocessing. */
function reluConvBn(b: NetBuilder, x: string, out: number): string {
  return b.batchNorm(b.conv(b.relu(x), out, { kernel: 1, pads: 0 }));
}

/** ReLU, then two 1×1 stride-2 convolutions to out/2 (the second on the input shifted by one pixel), concatenated, BN. */
function factorizedReduce(b: NetBuilder, x: string, out: number): string {
  const r = b.relu(x);
  const a = b.conv(r, out / 2, { kernel: 1, stride: 2, pads: 0 });
  const c = b.conv(b.shift(r, 1, 1), out / 2, { kernel: 1, stride: 2, pads: 0 });
  return b.batchNorm(b.concat([a, c]));
}

/** [ReLU, depthwise k×k (dilated), 1×1, BN]; sep_conv is this twice, the stride in the first. */
function reluDwPwBn(b: NetBuilder, x: string, out: number, stride: number, dilation: number): string {
  const channels = b.channelsOf(x);
  const dw = b.conv(b.relu(x), channels, { kernel: 3, stride, dilation, groups: channels, pads: dilation });
  return b.batchNorm(b.conv(dw, out, { kernel: 1, pads: 0 }));
}

function operation(b: NetBuilder, op: Op, x: string, stride: number): string {
  switch (op) {
    case 'sep_conv_3x3':
      return reluDwPwBn(b, reluDwPwBn(b, x, b.channelsOf(x), stride, 1), b.channelsOf(x), 1, 1);
    case 'dil_conv_3x3':
      return reluDwPwBn(b, x, b.channelsOf(x), stride, 2);
    case 'max_pool_3x3':
      return b.maxPool(x, { kernel: 3, stride, pads: 1 });
    case 'skip_connect':
      return stride === 1 ? x : factorizedReduce(b, x, b.channelsOf(x));
  }
}

function cell(b: NetBuilder, s0: string, s1: string, channels: number, reduction: boolean, reductionPrev: boolean): string {
  const states = [reductionPrev ? factorizedReduce(b, s0, channels) : reluConvBn(b, s0, channels), reluConvBn(b, s1, channels)];
  const genotype = reduction ? DARTS_V2_REDUCE : DARTS_V2_NORMAL;
  for (const pair of genotype.nodes) {
    const [h1, h2] = pair.map(([op, index]) => operation(b, op, states[index]!, reduction && index < 2 ? 2 : 1));
    states.push(b.add(h1!, h2!));
  }
  return b.concat(states.slice(2));
}

function buildDarts(b: NetBuilder, input: string): string {
  b.block = 'stem0';
  let s0 = b.batchNorm(b.conv(b.relu(b.batchNorm(b.conv(input, C / 2, { kernel: 3, stride: 2, pads: 1 }))), C, { kernel: 3, stride: 2, pads: 1 }));
  b.block = 'stem1';
  let s1 = b.batchNorm(b.conv(b.relu(s0), C, { kernel: 3, stride: 2, pads: 1 }));
  let channels = C;
  // The first cell treats stem0 as coming from a reduction: its input 0 is twice as large.
  let reductionPrev = true;
  for (let i = 0; i < LAYERS; i++) {
    const reduction = i === Math.floor(LAYERS / 3) || i === Math.floor((2 * LAYERS) / 3);
    if (reduction) channels *= 2;
    b.block = `cell${i}`;
    [s0, s1] = [s1, cell(b, s0, s1, channels, reduction, reductionPrev)];
    reductionPrev = reduction;
  }
  b.block = 'head';
  // The authors' 7×7 average pool is global pooling at 224×224; global pooling keeps other resolutions valid.
  return b.linear(b.flatten(b.globalAveragePool(s1)), 1000);
}

export const DARTS: ReferenceNetwork[] = [
  {
    name: 'darts',
    description: 'DARTS ImageNet (DARTS_V2 genotype, 48 channels, 14 cells): separable, dilated, pooling and skip operations',
    resolution: 224,
    patterns: ['depthwise-separable'],
    reference: { params: 4_718_752, macs: 529.9e6, source: 'DARTS authors’ NetworkImageNet (quark0/darts)' },
    note: 'the paper’s "574 M mult-adds" does not reproduce with standard counters (the authors’ issue #46: 523 M Conv+FC); formbench counts Conv+Linear MACs',
    build: buildDarts,
  },
];
