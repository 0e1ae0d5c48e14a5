import type { NetBuilder } from '../builder.js';
import type { ReferenceNetwork } from './network.js';

/** Inverted-residual settings of torchvision's MobileNetV2 at width 1.0: expansion t, channels c, repeats n, stride s. */
const SETTINGS: [t: number, c: number, n: number, s: number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

function convBnRelu6(b: NetBuilder, x: string, out: number, kernel: number, stride = 1, groups = 1): string {
  return b.relu6(b.batchNorm(b.conv(x, out, { kernel, stride, groups })));
}

/** Blocks with a skip connection: stride 1 and unchanged channels. */
function residualBlockCount(): number {
  let count = 0;
  let inp = 32;
  for (const [, c, n, s] of SETTINGS) {
    for (let i = 0; i < n; i++) {
      if ((i === 0 ? s : 1) === 1 && inp === c) count++;
      inp = c;
    }
  }
  return count;
}

function buildMobileNetV2(b: NetBuilder, input: string): string {
  const gain = 1 / Math.sqrt(residualBlockCount());
  b.block = 'features.0';
  let x = convBnRelu6(b, input, 32, 3, 2);
  let inp = 32;
  let index = 1;
  for (const [t, c, n, s] of SETTINGS) {
    for (let i = 0; i < n; i++) {
      b.block = `features.${index++}`;
      const stride = i === 0 ? s : 1;
      const hidden = Math.round(inp * t);
      const residual = stride === 1 && inp === c;
      let y = t === 1 ? x : convBnRelu6(b, x, hidden, 1);
      y = convBnRelu6(b, y, hidden, 3, stride, hidden);
      y = b.batchNorm(b.conv(y, c, { kernel: 1 }), residual ? gain : 1);
      x = residual ? b.add(x, y) : y;
      inp = c;
    }
  }
  b.block = `features.${index}`;
  x = convBnRelu6(b, x, 1280, 1);
  b.block = 'head';
  // Dropout(0.2) precedes the classifier in training only.
  return b.linear(b.flatten(b.globalAveragePool(x)), 1000);
}

export const MOBILENETS: ReferenceNetwork[] = [
  {
    name: 'mobilenet_v2',
    description: 'MobileNetV2 (width 1.0): inverted residual (depthwise bottleneck) blocks, ReLU6',
    resolution: 224,
    patterns: ['depthwise-bottleneck'],
    reference: { params: 3_504_872, macs: 0.3e9, source: 'torchvision.models' },
    build: buildMobileNetV2,
  },
];
