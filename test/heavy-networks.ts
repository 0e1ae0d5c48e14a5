/** Reference networks whose health check takes more than a few seconds on a 2-core machine: the slow tier checks them. */
export const HEAVY_NETWORKS = new Set(['nasnet-a-large', 'resnext101_32x8d', 'resnet152', 'darts', 'resnet101', 'resnext50_32x4d']);
