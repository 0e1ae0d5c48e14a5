/**
 * Convolution units as tfjs-converter emits a Keras/TF network: a BatchNormalization that
 * directly follows a convolution is folded into the convolution's weights and a bias, and a
 * following ReLU or ReLU6 is fused into the convolution (`_FusedConv2D` with fused_ops
 * [BiasAdd, Relu|Relu6], `FusedDepthwiseConv2dNative`; tf.fused.conv2d / tf.fused.depthwiseConv2d
 * at run time). The engine (tfjs-ops.ts) and the GraphModel reference (tfjs-graph-model.ts) both
 * plan their units here, so that they fold the same nodes with the same float32 arithmetic.
 */
import { ConstTensor, getFloat, type Graph, type Node } from '../ir/index.js';

/** The activation tf.fused.* applies after the bias ('linear': none). */
export type FusedActivation = 'linear' | 'relu' | 'relu6';

/** A Conv with the BatchNormalization and activation folded or fused into it. */
export interface ConvUnit {
  conv: Node;
  batchNorm?: Node;
  /** The Relu or Clip(0, 6) fused as `fusedActivation`. */
  activationNode?: Node;
  fusedActivation: FusedActivation;
  /** The IR nodes the unit covers, the Conv first (LayerTiming.nodes's order). */
  nodes: Node[];
  /** The value the unit computes: the last covered node's output. */
  output: string;
}

/** How many nodes read each value, a graph output counting as one more reader. */
function readerCounts(graph: Graph): Map<string, number> {
  const counts = new Map<string, number>();
  const bump = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const node of graph.nodes) for (const name of node.inputs) if (name) bump(name);
  for (const o of graph.outputs) bump(o.name);
  return counts;
}

/** A scalar float initializer's value, or undefined. */
function scalarConstant(graph: Graph, name: string | undefined): number | undefined {
  const c = name ? graph.initializers.get(name) : undefined;
  if (!c || c.elementCount !== 1) return undefined;
  return c.dtype === 'float32' ? c.float32()[0] : c.integers()[0];
}

/** The fused activation a Relu or a Clip to [0, 6] (or [0, ∞)) stands for; undefined for others. */
function activationOf(graph: Graph, node: Node): FusedActivation | undefined {
  if (node.op === 'Relu') return 'relu';
  if (node.op !== 'Clip' || Object.keys(node.attrs).length > 0) return undefined;
  if (scalarConstant(graph, node.inputs[1]) !== 0) return undefined;
  if (!node.inputs[2]) return 'relu';
  return scalarConstant(graph, node.inputs[2]) === 6 ? 'relu6' : undefined;
}

/**
 * Every Conv with a constant weight (and bias, if any), keyed by the Conv's name, with the
 * BatchNormalization that is the sole reader of its output and then the Relu / Clip(0, 6) that is
 * the sole reader of that. A folded value must have no other reader and not be a graph output,
 * since the unit no longer computes it.
 */
export function planConvUnits(graph: Graph): Map<string, ConvUnit> {
  const readers = readerCounts(graph);
  const readerOf = new Map<string, Node>();
  for (const node of graph.nodes) for (const name of node.inputs) if (name) readerOf.set(name, node);
  /** The node that alone reads `value` as its first input, if there is one. */
  const soleReader = (value: string): Node | undefined => {
    const r = readerOf.get(value);
    return readers.get(value) === 1 && r && r.inputs[0] === value ? r : undefined;
  };
  const isConst = (name: string | undefined) => name !== undefined && graph.initializers.has(name);
  const units = new Map<string, ConvUnit>();
  for (const conv of graph.nodes) {
    if (conv.op !== 'Conv' || !isConst(conv.inputs[1]) || (conv.inputs[2] && !isConst(conv.inputs[2]))) continue;
    const nodes = [conv];
    let output = conv.outputs[0]!;
    let batchNorm: Node | undefined;
    const bn = soleReader(output);
    if (bn?.op === 'BatchNormalization' && [1, 2, 3, 4].every((i) => isConst(bn.inputs[i])) && !bn.outputs.slice(1).some(Boolean)) {
      batchNorm = bn;
      nodes.push(bn);
      output = bn.outputs[0]!;
    }
    let activationNode: Node | undefined;
    let fusedActivation: FusedActivation = 'linear';
    const act = soleReader(output);
    const kind = act && activationOf(graph, act);
    if (act && kind) {
      activationNode = act;
      fusedActivation = kind;
      nodes.push(act);
      output = act.outputs[0]!;
    }
    units.set(conv.name, { conv, ...(batchNorm ? { batchNorm } : {}), ...(activationNode ? { activationNode } : {}), fusedActivation, nodes, output });
  }
  return units;
}

/** A unit's convolution weight (ONNX's [O, I/g, kh, kw]) and bias with its BatchNormalization folded in. */
export interface FoldedConv {
  weight: ConstTensor;
  /** Per output channel; undefined for a Conv without bias and without BatchNormalization. */
  bias: Float32Array | undefined;
}

/**
 * Folds the unit's BatchNormalization into its weight and bias in float32, as the converter does
 * (TF's fold: scale = γ/√(σ²+ε), W' = W·scale, b' = (b − μ)·scale + β), each step rounded to float32.
 */
export function foldConvUnit(graph: Graph, unit: ConvUnit): FoldedConv {
  const w = graph.initializers.get(unit.conv.inputs[1]!)!;
  const biasConst = unit.conv.inputs[2] ? graph.initializers.get(unit.conv.inputs[2]) : undefined;
  const convBias = biasConst ? Float32Array.from(biasConst.float32()) : undefined;
  const bn = unit.batchNorm;
  if (!bn) return { weight: w, bias: convBias };
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => graph.initializers.get(bn.inputs[i]!)!.float32());
  const eps = Math.fround(getFloat(bn.attrs, 'epsilon', 1e-5));
  const O = w.dims[0]!;
  const perChannel = w.elementCount / O;
  const scale = new Float32Array(O);
  const bias = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    scale[o] = Math.fround(gamma![o]! / Math.fround(Math.sqrt(Math.fround(variance![o]! + eps))));
    bias[o] = Math.fround(Math.fround(((convBias?.[o] ?? 0) - mean![o]!)) * scale[o]!) + beta![o]!;
  }
  const wv = w.float32();
  const folded = new Float32Array(wv.length);
  for (let i = 0; i < wv.length; i++) folded[i] = wv[i]! * scale[Math.floor(i / perChannel)]!;
  return { weight: ConstTensor.fromFloat32(w.dims, folded), bias };
}
