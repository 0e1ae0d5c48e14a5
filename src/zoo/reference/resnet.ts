import type { NetBuilder } from '../builder.js';
import type { ReferenceNetwork } from './network.js';

/** ResNet and ResNeXt as torchvision defines them (v1.5: stride on the 3×3 of a bottleneck). */
interface ResNetConfig {
  block: 'basic' | 'bottleneck';
  layers: [number, number, number, number];
  groups: number;
  widthPerGroup: number;
}

const STAGE_PLANES = [64, 128, 256, 512];

function buildResNet(b: NetBuilder, input: string, c: ResNetConfig): string {
  const expansion = c.block === 'basic' ? 1 : 4;
  // Residual branches end in a BN calibrated to 1/√blocks, keeping the skip sums near unit scale.
  const gain = 1 / Math.sqrt(c.layers.reduce((a, n) => a + n, 0));
  b.block = 'stem';
  let x = b.maxPool(b.relu(b.batchNorm(b.conv(input, 64, { kernel: 7, stride: 2, pads: 3 }))), { kernel: 3, stride: 2, pads: 1 });
  let inplanes = 64;
  c.layers.forEach((blocks, stage) => {
    const planes = STAGE_PLANES[stage]!;
    for (let i = 0; i < blocks; i++) {
      b.block = `layer${stage + 1}.${i}`;
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const out = planes * expansion;
      let y: string;
      if (c.block === 'basic') {
        y = b.relu(b.batchNorm(b.conv(x, planes, { kernel: 3, stride, pads: 1 })));
        y = b.batchNorm(b.conv(y, planes, { kernel: 3, pads: 1 }), gain);
      } else {
        const width = Math.floor(planes * (c.widthPerGroup / 64)) * c.groups;
        y = b.relu(b.batchNorm(b.conv(x, width, { kernel: 1 })));
        y = b.relu(b.batchNorm(b.conv(y, width, { kernel: 3, stride, pads: 1, groups: c.groups })));
        y = b.batchNorm(b.conv(y, out, { kernel: 1 }), gain);
      }
      const shortcut = stride !== 1 || inplanes !== out ? b.batchNorm(b.conv(x, out, { kernel: 1, stride, pads: 0 })) : x;
      x = b.relu(b.add(y, shortcut));
      inplanes = out;
    }
  });
  b.block = 'head';
  return b.linear(b.flatten(b.globalAveragePool(x)), 1000);
}

function resnet(
  name: string,
  config: ResNetConfig,
  reference: { params: number; macs: number },
  description: string,
): ReferenceNetwork {
  const grouped = config.groups > 1;
  return {
    name,
    description,
    resolution: 224,
    patterns: config.block === 'basic' ? ['standard'] : grouped ? ['bottleneck', 'grouped'] : ['bottleneck'],
    reference: { ...reference, source: 'torchvision.models' },
    build: (b, input) => buildResNet(b, input, config),
  };
}

export const RESNETS: ReferenceNetwork[] = [
  resnet('resnet18', { block: 'basic', layers: [2, 2, 2, 2], groups: 1, widthPerGroup: 64 }, { params: 11_689_512, macs: 1.81e9 }, 'ResNet-18: basic blocks [2,2,2,2]'),
  resnet('resnet34', { block: 'basic', layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 64 }, { params: 21_797_672, macs: 3.66e9 }, 'ResNet-34: basic blocks [3,4,6,3]'),
  resnet('resnet50', { block: 'bottleneck', layers: [3, 4, 6, 3], groups: 1, widthPerGroup: 64 }, { params: 25_557_032, macs: 4.09e9 }, 'ResNet-50: bottleneck blocks [3,4,6,3]'),
  resnet('resnet101', { block: 'bottleneck', layers: [3, 4, 23, 3], groups: 1, widthPerGroup: 64 }, { params: 44_549_160, macs: 7.8e9 }, 'ResNet-101: bottleneck blocks [3,4,23,3]'),
  resnet('resnet152', { block: 'bottleneck', layers: [3, 8, 36, 3], groups: 1, widthPerGroup: 64 }, { params: 60_192_808, macs: 11.5e9 }, 'ResNet-152: bottleneck blocks [3,8,36,3]'),
  resnet('resnext50_32x4d', { block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 }, { params: 25_028_904, macs: 4.23e9 }, 'ResNeXt-50 32×4d: grouped bottleneck blocks [3,4,6,3]'),
  resnet('resnext101_32x8d', { block: 'bottleneck', layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 }, { params: 88_791_336, macs: 16.4e9 }, 'ResNeXt-101 32×8d: grouped bottleneck blocks [3,4,23,3]'),
];
