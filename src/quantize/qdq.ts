/**
 * The QDQ rewrite: QuantizeLinear→DequantizeLinear pairs around the inputs and outputs of Conv,
 * Gemm and MatMul, and their weights stored as int8 with a DequantizeLinear in front. The model
 * still computes in float as written; onnxruntime (opt ≥ extended) recognises each
 * DequantizeLinear→Conv→QuantizeLinear group and runs it as one integer kernel (QLinearConv,
 * QGemm, QLinearMatMul), which is the point: the file says *what* is quantised, the runtime
 * decides *how*, and its profile shows whether it did.
 *
 * Types: activations uint8 asymmetric per tensor, weights int8 symmetric per output channel
 * (U8S8). Why not int8 activations: the VNNI instruction MLAS's integer GEMMs use on this kind
 * of CPU (vpdpbusd) multiplies unsigned by signed bytes, so U8S8 is the form its fastest
 * kernels take natively (onnxruntime's own quantiser defaulted to it on x86 for that reason);
 * and most activations here follow a ReLU, so a uint8 range [0, max] with zero point 0 spends all
 * 256 levels on values that occur, where symmetric int8 would waste the negative half. It also
 * makes a ReLU (or a Clip containing 0) after a Conv redundant: the QuantizeLinear saturates at
 * the same bounds, so that activation is folded away, as onnxruntime's quantiser does.
 */
import {
  attrNumber,
  consumersOf,
  dimsOf,
  DT,
  floatValues,
  isDefaultDomain,
  NameSource,
  tensorMsg,
  type ModelMsg,
  type NodeMsg,
  type TensorMsg,
} from './onnx-model.js';
import { asymmetricParams, quantizeBias, quantizePerChannel, type QuantParams } from './params.js';
import type { Range } from './ranges.js';

/** Operators whose inputs and weights are quantised. */
export const QUANTIZED_OPS = ['Conv', 'Gemm', 'MatMul'] as const;

/** Activations that a QuantizeLinear on their input's range makes redundant. */
const FOLDABLE_ACTIVATIONS = new Set(['Relu', 'Clip']);

export interface SkippedNode {
  node: string;
  op: string;
  reason: string;
}

export interface QuantizationPlan {
  /** Nodes to quantise, by name. */
  targets: Set<string>;
  /** Activation tensors that get a QuantizeLinear→DequantizeLinear pair (ranges needed). */
  tensors: string[];
  /** Conv/MatMul output → the ReLU/Clip after it whose output it takes over. */
  folded: Map<string, NodeMsg>;
  skipped: SkippedNode[];
}

/** Decides what to quantise, from the model's structure alone (before calibration). */
export function planQuantization(model: ModelMsg): QuantizationPlan {
  const graph = model.graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const consumers = consumersOf(graph);
  const targets = new Set<string>();
  const tensors: string[] = [];
  const folded = new Map<string, NodeMsg>();
  const skipped: SkippedNode[] = [];
  const isFloatConst = (name: string | undefined) => name !== undefined && initializers.get(name)?.data_type === DT.float;

  for (const node of graph.node ?? []) {
    const op = node.op_type ?? '';
    if (!isDefaultDomain(node) || !(QUANTIZED_OPS as readonly string[]).includes(op)) continue;
    const [x, w] = node.input ?? [];
    const name = node.name ?? '';
    if (!x || initializers.has(x)) {
      skipped.push({ node: name, op, reason: 'its first input is a constant' });
      continue;
    }
    if (op !== 'MatMul' && !isFloatConst(w)) {
      skipped.push({ node: name, op, reason: 'its weight is computed at run time, not a float constant' });
      continue;
    }
    targets.add(name);
    tensors.push(x);
    if (op === 'MatMul' && w && !initializers.has(w)) tensors.push(w);
    // Gemm's output stays float: a classifier's logits gain nothing from a last requantisation,
    // and onnxruntime's QGemm can write float directly.
    const y = node.output?.[0];
    if (op === 'Gemm' || !y || graphOutputs.has(y)) continue;
    const next = consumers.get(y) ?? [];
    const act = next.length === 1 ? next[0]! : undefined;
    if (act && isDefaultDomain(act) && FOLDABLE_ACTIVATIONS.has(act.op_type ?? '') && clipContainsZero(act, initializers) && act.input?.[0] === y) {
      folded.set(y, act);
      tensors.push(act.output![0]!);
    } else {
      tensors.push(y);
    }
  }
  return { targets, tensors: [...new Set(tensors)], folded, skipped };
}

/** Relu always; Clip when its bounds contain 0, so that the widened-to-zero range stays inside them. */
function clipContainsZero(node: NodeMsg, initializers: Map<string, TensorMsg>): boolean {
  if (node.op_type !== 'Clip') return true;
  const bound = (index: number, attr: string, fallback: number): number | undefined => {
    const input = node.input?.[index];
    if (input) {
      const t = initializers.get(input);
      return t && t.data_type === DT.float ? floatValues(t)[0] : undefined;
    }
    return attrNumber(node, attr) ?? fallback;
  };
  const lo = bound(1, 'min', -Infinity);
  const hi = bound(2, 'max', Infinity);
  return lo !== undefined && hi !== undefined && lo <= 0 && hi >= 0;
}

export interface QdqCounts {
  /** Quantised nodes per operator. */
  quantized: Record<string, number>;
  /** Activation tensors given a QuantizeLinear/DequantizeLinear pair. */
  quantizedTensors: number;
  /** ReLU/Clip nodes folded into the QuantizeLinear before them. */
  foldedActivations: number;
}

/** Applies a plan with calibrated ranges; returns the rewritten model (the input is not changed). */
export function applyQuantization(model: ModelMsg, plan: QuantizationPlan, ranges: Map<string, Range>): { model: ModelMsg; counts: QdqCounts } {
  const graph = model.graph!;
  const names = new NameSource(graph);
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const added: TensorMsg[] = [];
  const params = new Map<string, { params: QuantParams; scale: string; zeroPoint: string }>();
  for (const t of plan.tensors) {
    const r = ranges.get(t);
    if (!r) throw new Error(`no calibrated range for tensor '${t}'`);
    const p = asymmetricParams(r.min, r.max);
    const scale = names.fresh(`${t}_scale`);
    const zeroPoint = names.fresh(`${t}_zero_point`);
    added.push(tensorMsg(scale, [], DT.float, Float32Array.of(p.scale)), tensorMsg(zeroPoint, [], DT.uint8, Uint8Array.of(p.zeroPoint)));
    params.set(t, { params: p, scale, zeroPoint });
  }

  const foldedNodes = new Set([...plan.folded.values()]);
  const dequantized = new Map<string, string>();
  const qdqPair = (t: string): NodeMsg[] => {
    const p = params.get(t)!;
    const q = names.fresh(`${t}_quantized`);
    const dq = names.fresh(`${t}_dequantized`);
    dequantized.set(t, dq);
    return [
      { name: names.fresh(`${t}_QuantizeLinear`), op_type: 'QuantizeLinear', input: [t, p.scale, p.zeroPoint], output: [q] },
      { name: names.fresh(`${t}_DequantizeLinear`), op_type: 'DequantizeLinear', input: [q, p.scale, p.zeroPoint], output: [dq] },
    ];
  };

  const nodes: NodeMsg[] = [];
  const counts: QdqCounts = { quantized: {}, quantizedTensors: plan.tensors.length, foldedActivations: foldedNodes.size };
  for (const input of graph.input ?? []) if (params.has(input.name ?? '')) nodes.push(...qdqPair(input.name!));
  for (const original of graph.node ?? []) {
    if (foldedNodes.has(original)) continue;
    const node: NodeMsg = { ...original, input: [...(original.input ?? [])], output: [...(original.output ?? [])] };
    const y = node.output![0];
    if (y && plan.folded.has(y)) node.output![0] = plan.folded.get(y)!.output![0]!;
    if (plan.targets.has(node.name ?? '')) {
      nodes.push(...quantizeConstants(node, initializers, params, names, added));
      counts.quantized[node.op_type!] = (counts.quantized[node.op_type!] ?? 0) + 1;
    }
    nodes.push(node);
    for (const out of node.output!) if (params.has(out)) nodes.push(...qdqPair(out));
  }
  // Every reader of a quantised tensor reads its dequantized value, not only the quantised
  // operators: a float reader left on the original would give the producer a second consumer,
  // and onnxruntime fuses a Conv with its QuantizeLinear only when that is its sole consumer.
  const qdqOps = new Set(['QuantizeLinear']);
  for (const node of nodes) {
    if (qdqOps.has(node.op_type ?? '') && dequantized.has(node.input![0]!)) continue;
    node.input = node.input!.map((v) => dequantized.get(v) ?? v);
  }
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  const kept = (graph.initializer ?? []).filter((t) => used.has(t.name ?? ''));
  return {
    model: { ...model, graph: { ...graph, node: nodes, initializer: [...kept, ...added], value_info: [] } as typeof graph },
    counts,
  };
}

/**
 * The DequantizeLinear nodes that feed a quantised node its int8 weight and int32 bias; the
 * node's inputs are redirected to them.
 */
function quantizeConstants(
  node: NodeMsg,
  initializers: Map<string, TensorMsg>,
  params: Map<string, { params: QuantParams }>,
  names: NameSource,
  added: TensorMsg[],
): NodeMsg[] {
  const [x, w, bias] = node.input!;
  const weight = w ? initializers.get(w) : undefined;
  if (!weight || weight.data_type !== DT.float) return [];
  const dims = dimsOf(weight);
  const axis = weightAxis(node, dims);
  const flatDims = axis === undefined ? [1, dims.reduce((a, b) => a * b, 1)] : dims;
  const q = quantizePerChannel(floatValues(weight), flatDims, axis ?? 0);
  const dqNodes: NodeMsg[] = [];
  const dequantize = (source: string, values: ArrayBufferView, dataType: number, tensorDims: number[], scales: Float32Array, zeroPoints: ArrayBufferView, perAxis: number | undefined): string => {
    const base = names.fresh(`${source}_quantized`);
    const scale = names.fresh(`${source}_scale`);
    const zeroPoint = names.fresh(`${source}_zero_point`);
    const scalar = perAxis === undefined;
    added.push(
      tensorMsg(base, tensorDims, dataType, values),
      tensorMsg(scale, scalar ? [] : [scales.length], DT.float, scalar ? scales.subarray(0, 1) : scales),
      tensorMsg(zeroPoint, scalar ? [] : [scales.length], dataType, zeroPoints),
    );
    const out = names.fresh(`${source}_dequantized`);
    dqNodes.push({
      name: names.fresh(`${source}_DequantizeLinear`),
      op_type: 'DequantizeLinear',
      input: [base, scale, zeroPoint],
      output: [out],
      ...(scalar ? {} : { attribute: [{ name: 'axis', type: 2, i: perAxis }] }),
    });
    return out;
  };
  node.input![1] = dequantize(w!, q.values, DT.int8, dims, q.scales, new Int8Array(axis === undefined ? 1 : q.scales.length), axis);

  const biasTensor = bias ? initializers.get(bias) : undefined;
  const inputScale = x ? params.get(x)?.params.scale : undefined;
  if (biasTensor && biasTensor.data_type === DT.float && inputScale !== undefined && dimsOf(biasTensor).length === 1) {
    const b = floatValues(biasTensor);
    if (axis !== undefined ? b.length === q.scales.length : true) {
      const qb = quantizeBias(b, inputScale, q.scales);
      node.input![2] = dequantize(bias!, qb.values, DT.int32, [b.length], qb.scales, new Int32Array(b.length), 0);
    }
  }
  return dqNodes;
}

/**
 * The weight's output-channel axis: 0 for a Conv (Cout×Cin×kh×kw), the N axis of a Gemm's B
 * (transB: N×K, else K×N), the last axis of a 2-D MatMul weight; undefined (one scale for the
 * whole tensor) otherwise.
 */
function weightAxis(node: NodeMsg, dims: number[]): number | undefined {
  switch (node.op_type) {
    case 'Conv':
      return 0;
    case 'Gemm':
      return attrNumber(node, 'transB') === 1 ? 0 : 1;
    default:
      return dims.length === 2 ? 1 : undefined;
  }
}
