import type { NetBuilder } from '../builder.js';
import type { ReferenceNetwork } from './network.js';

/** Inception v3 as torchvision defines it, without the auxiliary head (BasicConv2d: conv, BN eps 0.001, ReLU). */
type Kernel = number | [number, number];

function basic(b: NetBuilder, x: string, out: number, kernel: Kernel, o: { stride?: number; pads?: number | [number, number] } = {}): string {
  const pads = o.pads === undefined ? 0 : typeof o.pads === 'number' ? o.pads : o.pads;
  const four: number | [number, number, number, number] = typeof pads === 'number' ? pads : [pads[0], pads[1], pads[0], pads[1]];
  return b.relu(b.batchNorm(b.conv(x, out, { kernel, stride: o.stride ?? 1, pads: four }), 1, 0.001));
}

/** torchvision's branch pools: F.avg_pool2d(3, stride 1, padding 1), padding counted in the average. */
const avg3 = (b: NetBuilder, x: string) => b.avgPool(x, { kernel: 3, stride: 1, pads: 1, countIncludePad: true });
const max3s2 = (b: NetBuilder, x: string) => b.maxPool(x, { kernel: 3, stride: 2 });

function inceptionA(b: NetBuilder, x: string, poolFeatures: number): string {
  const b1 = basic(b, x, 64, 1);
  const b5 = basic(b, basic(b, x, 48, 1), 64, 5, { pads: 2 });
  const b3 = basic(b, basic(b, basic(b, x, 64, 1), 96, 3, { pads: 1 }), 96, 3, { pads: 1 });
  const bp = basic(b, avg3(b, x), poolFeatures, 1);
  return b.concat([b1, b5, b3, bp]);
}

function inceptionB(b: NetBuilder, x: string): string {
  const b3 = basic(b, x, 384, 3, { stride: 2 });
  const bd = basic(b, basic(b, basic(b, x, 64, 1), 96, 3, { pads: 1 }), 96, 3, { stride: 2 });
  return b.concat([b3, bd, max3s2(b, x)]);
}

function inceptionC(b: NetBuilder, x: string, c7: number): string {
  const b1 = basic(b, x, 192, 1);
  let b7 = basic(b, x, c7, 1);
  b7 = basic(b, b7, c7, [1, 7], { pads: [0, 3] });
  b7 = basic(b, b7, 192, [7, 1], { pads: [3, 0] });
  let bd = basic(b, x, c7, 1);
  bd = basic(b, bd, c7, [7, 1], { pads: [3, 0] });
  bd = basic(b, bd, c7, [1, 7], { pads: [0, 3] });
  bd = basic(b, bd, c7, [7, 1], { pads: [3, 0] });
  bd = basic(b, bd, 192, [1, 7], { pads: [0, 3] });
  const bp = basic(b, avg3(b, x), 192, 1);
  return b.concat([b1, b7, bd, bp]);
}

function inceptionD(b: NetBuilder, x: string): string {
  const b3 = basic(b, basic(b, x, 192, 1), 320, 3, { stride: 2 });
  let b7 = basic(b, x, 192, 1);
  b7 = basic(b, b7, 192, [1, 7], { pads: [0, 3] });
  b7 = basic(b, b7, 192, [7, 1], { pads: [3, 0] });
  b7 = basic(b, b7, 192, 3, { stride: 2 });
  return b.concat([b3, b7, max3s2(b, x)]);
}

function inceptionE(b: NetBuilder, x: string): string {
  const b1 = basic(b, x, 320, 1);
  const s = basic(b, x, 384, 1);
  const b3 = b.concat([basic(b, s, 384, [1, 3], { pads: [0, 1] }), basic(b, s, 384, [3, 1], { pads: [1, 0] })]);
  const d = basic(b, basic(b, x, 448, 1), 384, 3, { pads: 1 });
  const bd = b.concat([basic(b, d, 384, [1, 3], { pads: [0, 1] }), basic(b, d, 384, [3, 1], { pads: [1, 0] })]);
  const bp = basic(b, avg3(b, x), 192, 1);
  return b.concat([b1, b3, bd, bp]);
}

function buildInceptionV3(b: NetBuilder, input: string): string {
  b.block = 'stem';
  let x = basic(b, input, 32, 3, { stride: 2 });
  x = basic(b, x, 32, 3);
  x = basic(b, x, 64, 3, { pads: 1 });
  x = max3s2(b, x);
  x = basic(b, x, 80, 1);
  x = basic(b, x, 192, 3);
  x = max3s2(b, x);
  const mixed: [string, (y: string) => string][] = [
    ['Mixed_5b', (y) => inceptionA(b, y, 32)],
    ['Mixed_5c', (y) => inceptionA(b, y, 64)],
    ['Mixed_5d', (y) => inceptionA(b, y, 64)],
    ['Mixed_6a', (y) => inceptionB(b, y)],
    ['Mixed_6b', (y) => inceptionC(b, y, 128)],
    ['Mixed_6c', (y) => inceptionC(b, y, 160)],
    ['Mixed_6d', (y) => inceptionC(b, y, 160)],
    ['Mixed_6e', (y) => inceptionC(b, y, 192)],
    ['Mixed_7a', (y) => inceptionD(b, y)],
    ['Mixed_7b', (y) => inceptionE(b, y)],
    ['Mixed_7c', (y) => inceptionE(b, y)],
  ];
  for (const [name, block] of mixed) {
    b.block = name;
    x = block(x);
  }
  b.block = 'head';
  // Dropout(0.5) precedes the classifier in training only; the auxiliary head is left out.
  return b.linear(b.flatten(b.globalAveragePool(x)), 1000);
}

export const INCEPTIONS: ReferenceNetwork[] = [
  {
    name: 'inception_v3',
    description: 'Inception v3 (no auxiliary head): factorized 1×7/7×1 and 1×3/3×1 convolutions, multi-branch blocks; 299×299',
    resolution: 299,
    patterns: ['factorized', 'standard'],
    reference: { params: 23_834_568, macs: 5.71e9, source: 'torchvision.models' },
    build: buildInceptionV3,
  },
];
