/**
 * A network as the sequence of kernels an engine really runs (nn-Meter's kernel decomposition).
 * Which IR nodes an engine fuses into one kernel is learned from its profiles: ort's trace names
 * the fused kernel and the profile maps it back to the IR nodes it covers (Conv+BN+ReLU,
 * Conv+BN+Add+ReLU), torch runs op by op. Each distinct chain of operator types one kernel
 * covered is a fusion signature; decomposing a new graph matches the longest learned signature
 * along each single-consumer chain.
 */
import type { LayerCost, ModelCost } from '../analysis/index.js';
import { consumers, getInt, getInts, producers, topologicalOrder, type Graph, type Node } from '../ir/index.js';

/** The kernel families a model is fitted for apart: their time scales differently with their shape. */
export const KERNEL_CLASSES = ['conv', 'conv1x1', 'dwconv', 'gconv', 'gemm', 'maxpool', 'avgpool', 'gap', 'batchnorm', 'activation', 'binary', 'reshape', 'data'] as const;
export type KernelClass = (typeof KERNEL_CLASSES)[number];

/** The shape of one kernel: what its time is fitted on. Sizes are of one run at the batch. */
export interface KernelShape {
  batch: number;
  macs: number;
  /** Input activations read + constants read + outputs written (src/analysis's byte model), summed over the fused nodes. */
  bytes: number;
  outputElements: number;
  channelsIn: number;
  channelsOut: number;
  /** Output height × width. */
  spatialOut: number;
  /** Kernel height × width (1 where none). */
  kernelArea: number;
  stride: number;
  groups: number;
  /** A residual Add fused in (1) or not (0). */
  fusedAdd: number;
  /** An activation (Relu, Clip) fused in (1) or not (0). */
  fusedActivation: number;
  /**
   * Channels in and out both multiples of 16 (1) or not (0): ort's NCHWc layout blocks channels by
   * the SIMD width (16 floats with AVX-512) and leaves other convolutions in NCHW, a step in speed
   * no smooth feature of the size shows.
   */
  channelsAligned: number;
  /**
   * The main input comes straight from a grouped or depthwise convolution (1) or not (0). Measured
   * on torch, which runs element-wise operators apart: a BatchNorm of a 480 × 56 × 56 tensor took
   * 0.36 ms after a 1×1 convolution and 0.95 ms after a depthwise one.
   */
  afterGrouped: number;
  /**
   * A kernel of the same signature and shape ran earlier in the network (1) or not (0): set by
   * markRunContext from the order kernels run in, so samples stored without it have it too. Measured
   * on torch (oneDNN), the first of thirteen identical 3×3 convolutions of 64 channels at 56 × 56
   * took 1.53 ms and the others 0.89–0.98 ms; in a grouped network 0.97 ms, then 0.28–0.32 ms.
   * ORT showed no such step (0.37–0.39 ms for each of thirteen at 40 channels).
   */
  repeated?: number;
  /**
   * The kernel runs first, on the network's input (1), or not (0): set by markRunContext from the
   * order kernels run in. Its input arrives in plain NCHW from outside, and the engine's layout
   * conversion of it is charged to it (calibrate.ts: kernelSamples). Measured on ORT (AVX-512):
   * over the 24 max-pool shapes one calibration sampled both ways, one run first took a median
   * 2.47 times (0.85–4.50) as long as the same shape later in a probe; 128 channels at 56 × 56,
   * 0.42 ms first and 0.16 ms later.
   */
  first?: number;
  /**
   * ln(its output elements ÷ the largest output of any kernel in the network), ≤ 0: set by
   * markRunContext. Where a tensor lies among the network's sizes decides, with glibc's default
   * malloc, whether writing it pays fresh pages on every run (engines/torch.ts: allocator).
   * Measured on torch: a depthwise 3 × 3 convolution of 144 channels at 56 × 56 took 0.86–0.91 ms
   * in depthwise-bottleneck probe networks, whose largest tensor it writes, and one of 128
   * channels 0.21–0.23 ms in depthwise-separable ones, where it writes a quarter of the largest;
   * depthwise-bottleneck/d4/w24's depthwise convolutions took 0.82–1.16 ms, and 0.28–0.36 ms with
   * `allocator=keep`.
   */
  sizeInNetwork?: number;
}

/**
 * Sets each kernel's `repeated`, `first` and `sizeInNetwork` from the kernels around it in
 * `kernels` (the network's, in the order they run), so that samples stored before a flag existed
 * have it too.
 */
export function markRunContext<T extends { signature: string; shape: KernelShape }>(kernels: readonly T[]): T[] {
  const seen = new Set<string>();
  const largest = Math.max(1, ...kernels.map((k) => k.shape.outputElements));
  return kernels.map((k, i) => {
    const { repeated: _, first: __, sizeInNetwork: ___, ...shape } = k.shape;
    const key = `${k.signature}|${JSON.stringify(shape)}`;
    const repeated = seen.has(key) ? 1 : 0;
    seen.add(key);
    return { ...k, shape: { ...shape, repeated, first: i === 0 ? 1 : 0, sizeInNetwork: Math.log(Math.max(1, shape.outputElements) / largest) } };
  });
}

export interface Kernel {
  /** The main IR node's name. */
  name: string;
  kernelClass: KernelClass;
  /** Operator types of the nodes it covers, main first, joined by '+'. */
  signature: string;
  nodes: string[];
  shape: KernelShape;
}

/** Learned fusion signatures of one engine, with how often each was seen in its profiles. */
export type FusionRules = ReadonlyMap<string, number>;

const ACTIVATIONS = new Set(['Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Tanh']);
const RESHAPES = new Set(['Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div']);
/** Longest chain of single-consumer nodes a kernel is looked for along (ort fuses up to Conv+BN+Add+ReLU). */
const MAX_CHAIN = 5;

/** The class of a kernel, from its main node. */
export function kernelClassOf(node: Node, graph: Graph): KernelClass {
  switch (node.op) {
    case 'Conv': {
      const group = getInt(node.attrs, 'group', 1);
      const w = graph.initializers.get(node.inputs[1] ?? '')?.dims ?? [];
      if (group > 1) return w[1] === 1 ? 'dwconv' : 'gconv';
      return (w[2] ?? 1) * (w[3] ?? 1) === 1 ? 'conv1x1' : 'conv';
    }
    case 'Gemm':
    case 'MatMul':
      return 'gemm';
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
    case 'ReduceMean':
      return 'gap';
    default:
      return classOfOp(node.op);
  }
}

/**
 * The class of a kernel whose main operator is not a convolution or a matrix product. Pools and
 * element-wise operators are classes of their own per kind: measured on torch, which runs them
 * apart, a 3 × 3 max-pool cost about 1.6 times what one model of max- and average-pools
 * predicted, and a ReLU a third to a seventh of a BatchNorm on the same tensor.
 */
export function classOfOp(op: string): KernelClass {
  if (op === 'MaxPool') return 'maxpool';
  if (op === 'AveragePool') return 'avgpool';
  if (op === 'BatchNormalization') return 'batchnorm';
  if (ACTIVATIONS.has(op)) return 'activation';
  if (BINARY.has(op)) return 'binary';
  if (RESHAPES.has(op)) return 'reshape';
  return 'data';
}

/**
 * A kernel sample stored before pools and element-wise operators had classes of their own
 * ('pool', 'elementwise') gets its class from its signature's main operator.
 */
export function currentClassOf(kernelClass: string, signature: string): KernelClass {
  return kernelClass === 'pool' || kernelClass === 'elementwise' ? classOfOp(signature.split('+')[0]!) : (kernelClass as KernelClass);
}

export function signatureOf(nodes: readonly Node[]): string {
  return nodes.map((n) => n.op).join('+');
}

/** The shape of the kernel made of `nodes` (main first), from the graph's static cost at its batch. */
export function kernelShape(
  graph: Graph,
  cost: ModelCost,
  nodes: readonly Node[],
  costs: ReadonlyMap<string, LayerCost> = layerCosts(cost),
  producedBy: ReadonlyMap<string, Node> = producers(graph),
): KernelShape {
  const main = nodes[0]!;
  const mainCost = costs.get(main.name);
  const out = mainCost?.outputShape ?? [];
  const last = costs.get(nodes[nodes.length - 1]!.name)?.outputShape ?? out;
  let macs = 0;
  let bytes = 0;
  for (const n of nodes) {
    const c = costs.get(n.name);
    if (!c) continue;
    macs += c.macs;
    bytes += c.inputBytes + c.weightBytes + c.activationBytes;
  }
  const weight = main.op === 'Conv' || main.op === 'Gemm' ? graph.initializers.get(main.inputs[1] ?? '')?.dims : undefined;
  const groups = main.op === 'Conv' ? getInt(main.attrs, 'group', 1) : 1;
  const channelsOut = main.op === 'Gemm' ? (getInt(main.attrs, 'transB', 0) ? weight?.[0] : weight?.[1]) ?? out[1] ?? 1 : (out[1] ?? 1);
  const channelsIn = main.op === 'Conv' ? (weight?.[1] ?? 1) * groups : main.op === 'Gemm' ? ((getInt(main.attrs, 'transB', 0) ? weight?.[1] : weight?.[0]) ?? 1) : channelsOut;
  const kernel = main.op === 'Conv' ? [weight?.[2] ?? 1, weight?.[3] ?? 1] : (getInts(main.attrs, 'kernel_shape') ?? [1, 1]);
  const strides = getInts(main.attrs, 'strides') ?? [1];
  return {
    batch: cost.batch,
    macs,
    bytes,
    outputElements: last.reduce((a, b) => a * b, 1),
    channelsIn,
    channelsOut,
    spatialOut: out.length >= 4 ? out[2]! * out[3]! : 1,
    kernelArea: kernel.reduce((a, b) => a * b, 1),
    stride: strides[0] ?? 1,
    groups,
    fusedAdd: nodes.slice(1).some((n) => n.op === 'Add') ? 1 : 0,
    fusedActivation: nodes.slice(1).some((n) => ACTIVATIONS.has(n.op)) ? 1 : 0,
    channelsAligned: channelsIn % 16 === 0 && channelsOut % 16 === 0 ? 1 : 0,
    afterGrouped: fromGroupedConv(producedBy, main) ? 1 : 0,
  };
}

function fromGroupedConv(producedBy: ReadonlyMap<string, Node>, node: Node): boolean {
  const producer = node.inputs[0] ? producedBy.get(node.inputs[0]) : undefined;
  return producer?.op === 'Conv' && getInt(producer.attrs, 'group', 1) > 1;
}

export function layerCosts(cost: ModelCost): Map<string, LayerCost> {
  return new Map(cost.layers.map((l) => [l.name, l]));
}

/**
 * The kernels an engine runs for `graph`: along each chain of nodes whose outputs have one
 * consumer, the longest prefix whose signature the engine's profiles showed as one kernel; a
 * node no signature covers is a kernel of its own (how an engine that fuses nothing runs).
 */
export function decompose(graph: Graph, cost: ModelCost, rules: FusionRules): Kernel[] {
  const users = consumers(graph);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const costs = layerCosts(cost);
  const producedBy = producers(graph);
  const taken = new Set<Node>();
  const kernels: Kernel[] = [];
  for (const node of topologicalOrder(graph)) {
    if (taken.has(node)) continue;
    const chain = [node];
    for (let cur = node; chain.length < MAX_CHAIN; ) {
      const out = cur.outputs[0];
      const next = out && !outputs.has(out) && cur.outputs.length === 1 ? users.get(out) : undefined;
      if (!next || next.length !== 1 || taken.has(next[0]!)) break;
      cur = next[0]!;
      chain.push(cur);
    }
    let length = 1;
    for (let k = chain.length; k > 1; k--) {
      if (rules.has(signatureOf(chain.slice(0, k)))) {
        length = k;
        break;
      }
    }
    const nodes = chain.slice(0, length);
    for (const n of nodes) taken.add(n);
    kernels.push({ name: node.name, kernelClass: kernelClassOf(node, graph), signature: signatureOf(nodes), nodes: nodes.map((n) => n.name), shape: kernelShape(graph, cost, nodes, costs, producedBy) });
  }
  return markRunContext(kernels);
}
