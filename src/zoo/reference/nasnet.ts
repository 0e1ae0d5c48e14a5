import type { NetBuilder } from '../builder.js';
import type { ReferenceNetwork } from './network.js';

/**
 * NASNet-A Large (Zoph et al. 2018) as TF-slim's `nasnet.py`/`nasnet_utils.py` defines it and
 * Cadene's pretrained-models.pytorch ports it: F = 168, stem multiplier 3, 3 stacks of 6 normal
 * cells with a reduction cell between stacks, two stem reduction cells, 331×331 input.
 *
 * Spatial sizes follow TF's 'SAME' padding (output ⌈n/s⌉, extra padding at the bottom/right),
 * written as explicit asymmetric pads; this is what Cadene's ZeroPad2d-and-crop tricks
 * reproduce: 331 → 165 (stem conv, no padding) → 83 → 42 → 21 → 11.
 */

/** NASNet's BatchNorms use epsilon 1e-3 (TF-slim's batch_norm_epsilon; Cadene's eps=0.001). */
const BN_EPS = 1e-3;

type Op = 'sep3' | 'sep5' | 'sep7' | 'avg3' | 'max3' | 'id';

interface CellDef {
  /** Ten operations, two per combination (left, right), summed pairwise. */
  ops: Op[];
  /** The hidden state each operation reads (0 = current input, 1 = earlier input, 2.. = combinations). */
  inputs: number[];
  /** Reduction cells apply stride 2 to operations reading states 0 and 1. */
  reduction: boolean;
  /**
   * The states concatenated as output. TF-slim fixes these per cell type ('used_hiddenstates'),
   * so a state read by an operation can still be part of the output (state 1 of a normal cell,
   * state 3 of a reduction cell).
   */
  concat: number[];
}

const NORMAL: CellDef = {
  ops: ['sep5', 'sep3', 'sep5', 'sep3', 'avg3', 'id', 'avg3', 'avg3', 'sep3', 'id'],
  inputs: [0, 1, 1, 1, 0, 1, 1, 1, 0, 0],
  reduction: false,
  concat: [1, 2, 3, 4, 5, 6],
};

const REDUCTION: CellDef = {
  ops: ['sep5', 'sep7', 'max3', 'sep7', 'avg3', 'sep5', 'id', 'avg3', 'sep3', 'max3'],
  inputs: [0, 1, 0, 1, 0, 1, 3, 2, 2, 0],
  reduction: true,
  concat: [3, 4, 5, 6],
};

/** TF 'SAME' padding along one axis: [before, after] giving ⌈size/stride⌉ outputs. */
function same1d(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return [total >> 1, total - (total >> 1)];
}

/** TF 'SAME' pads for a square kernel on `x`, as [top, left, bottom, right]. */
function samePads(b: NetBuilder, x: string, kernel: number, stride: number): [number, number, number, number] {
  const [, , h, w] = b.shapeOf(x);
  if (typeof h !== 'number' || typeof w !== 'number') throw new Error(`NASNet needs static spatial sizes, got ${String(h)}×${String(w)}`);
  const [t, bo] = same1d(h, kernel, stride);
  const [l, r] = same1d(w, kernel, stride);
  return [t, l, bo, r];
}

/** ReLU → 1×1 conv → BN (TF-slim's cell-base and 'prev_1x1' adjustments). */
function reluConvBn(b: NetBuilder, x: string, filters: number, stride = 1): string {
  return b.batchNorm(b.conv(b.relu(x), filters, { kernel: 1, stride, pads: 0, bias: false }), 1, BN_EPS);
}

/**
 * Stacked separable convolution: [ReLU, depthwise K×K, pointwise 1×1, BN] twice, stride only in
 * the first depthwise; the first pointwise maps the input's channels to `filters`.
 */
function separable(b: NetBuilder, x: string, filters: number, kernel: number, stride: number): string {
  let y = x;
  for (let i = 0; i < 2; i++) {
    const s = i === 0 ? stride : 1;
    const c = b.channelsOf(y);
    y = b.relu(y);
    y = b.conv(y, c, { kernel, stride: s, pads: samePads(b, y, kernel, s), groups: c, bias: false });
    y = b.conv(y, filters, { kernel: 1, pads: 0, bias: false });
    y = b.batchNorm(y, 1, BN_EPS);
  }
  return y;
}

/** One cell operation on a hidden state. */
function operation(b: NetBuilder, op: Op, x: string, filters: number, stride: number): string {
  const cin = b.channelsOf(x);
  switch (op) {
    case 'sep3':
      return separable(b, x, filters, 3, stride);
    case 'sep5':
      return separable(b, x, filters, 5, stride);
    case 'sep7':
      return separable(b, x, filters, 7, stride);
    case 'avg3':
    case 'max3': {
      // SAME padding; padding is excluded from the average (TF's avg_pool, count_include_pad=False).
      const pads = samePads(b, x, 3, stride);
      let y = op === 'avg3' ? b.avgPool(x, { kernel: 3, stride, pads, countIncludePad: false }) : b.maxPool(x, { kernel: 3, stride, pads });
      if (cin !== filters) y = b.batchNorm(b.conv(y, filters, { kernel: 1, pads: 0, bias: false }), 1, BN_EPS);
      return y;
    }
    case 'id':
      return stride > 1 || cin !== filters ? reluConvBn(b, x, filters, stride) : x;
  }
}

/**
 * Factorized reduction (ReLU applied by the caller): two 1×1 avg-pool stride-2 paths, the second
 * on the input shifted by one pixel (zero-pad bottom/right, crop top/left), each a 1×1 conv to
 * filters/2; concatenated and batch-normalised.
 */
function factorizedReduction(b: NetBuilder, x: string, filters: number): string {
  const half = filters / 2;
  const path1 = b.conv(b.avgPool(x, { kernel: 1, stride: 2 }), half, { kernel: 1, pads: 0, bias: false });
  const shifted = b.shift(b.pad(x, [0, 0, 1, 1]), 1, 1);
  const path2 = b.conv(b.avgPool(shifted, { kernel: 1, stride: 2 }), half, { kernel: 1, pads: 0, bias: false });
  return b.batchNorm(b.concat([path1, path2]), 1, BN_EPS);
}

/**
 * A cell: state 0 = ReLU → 1×1 → BN of the current input; state 1 = the earlier input matched to
 * it (as is when there is none, factorized reduction when the spatial size differs, ReLU → 1×1 →
 * BN when only the channels differ). Outputs the concatenation of the cell type's output states.
 */
function cell(b: NetBuilder, def: CellDef, current: string, previous: string | null, filters: number): string {
  let earlier: string;
  if (previous === null) {
    earlier = current;
  } else if (b.shapeOf(previous)[2] !== b.shapeOf(current)[2]) {
    earlier = factorizedReduction(b, b.relu(previous), filters);
  } else if (b.channelsOf(previous) !== filters) {
    earlier = reluConvBn(b, previous, filters);
  } else {
    earlier = previous;
  }
  const states = [reluConvBn(b, current, filters), earlier];
  for (let i = 0; i < def.ops.length; i += 2) {
    const branches = [i, i + 1].map((j) => {
      const from = def.inputs[j]!;
      const stride = def.reduction && from < 2 ? 2 : 1;
      return operation(b, def.ops[j]!, states[from]!, filters, stride);
    });
    states.push(b.add(branches[0]!, branches[1]!));
  }
  return b.concat(def.concat.map((k) => states[k]!));
}

interface NasNetConfig {
  /** Base filter count F (penultimate filters / 24). */
  filters: number;
  stemMultiplier: number;
  /** Normal cells per stack (3 stacks). */
  cellsPerStack: number;
}

function buildNasNet(b: NetBuilder, input: string, c: NasNetConfig): string {
  b.block = 'stem';
  const conv0 = b.batchNorm(b.conv(input, c.stemMultiplier * 32, { kernel: 3, stride: 2, pads: 0, bias: false }), 1, BN_EPS);
  // Two stem reduction cells at F/4 and F/2; the first has no earlier input (uses conv0 as is).
  b.block = 'cell_stem_0';
  const stem0 = cell(b, REDUCTION, conv0, null, c.filters / 4);
  b.block = 'cell_stem_1';
  const stem1 = cell(b, REDUCTION, stem0, conv0, c.filters / 2);
  const outputs = [conv0, stem0, stem1];
  let filters = c.filters;
  let n = 0;
  for (let stack = 0; stack < 3; stack++) {
    if (stack > 0) {
      filters *= 2;
      b.block = `reduction_cell_${stack - 1}`;
      outputs.push(cell(b, REDUCTION, outputs.at(-1)!, outputs.at(-2)!, filters));
    }
    for (let i = 0; i < c.cellsPerStack; i++) {
      b.block = `cell_${n++}`;
      // The first cell after a reduction takes, as its earlier input, the reduction's earlier input.
      const previous = stack > 0 && i === 0 ? outputs.at(-3)! : outputs.at(-2)!;
      outputs.push(cell(b, NORMAL, outputs.at(-1)!, previous, filters));
    }
  }
  b.block = 'head';
  return b.linear(b.flatten(b.globalAveragePool(b.relu(outputs.at(-1)!))), 1000);
}

export const NASNET: ReferenceNetwork[] = [
  {
    name: 'nasnet-a-large',
    description: 'NASNet-A Large (6 @ 4032): 2 stem + 2 reduction cells, 18 normal cells, F=168 (TF-slim / Cadene)',
    resolution: 331,
    patterns: ['depthwise-separable'],
    reference: { params: 88_753_150, macs: 23.78e9, source: 'Cadene pretrained-models.pytorch nasnetalarge; TF-slim nasnet_large' },
    note: 'the published 88.9 M parameters also count BN running statistics (88,949,818); without them, as formbench counts, 88,753,150',
    build: (b, input) => buildNasNet(b, input, { filters: 168, stemMultiplier: 3, cellsPerStack: 6 }),
  },
];
