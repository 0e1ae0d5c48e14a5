/**
 * onnxruntime's profiler output (a Chrome-trace JSON array) read back as per-layer times of the
 * IR graph. At opt=all the trace names the kernels ORT ran, not the nodes formbench exported:
 * NCHWc kernels carry a `_nchwc` suffix and the name of the *last* node fused into them (a
 * Conv+BN+ReLU is named after the ReLU, a Conv+BN+Add+ReLU after the BN), FusedConv keeps the
 * Conv's name, BatchNorms folded into weights vanish, and ReorderInput/ReorderOutput (NCHW ⇄
 * NCHWc) or Transposes appear that stand for no node at all. This module maps each kernel back
 * to the IR nodes whose work it did, so MACs can be credited to the kernel that spent the time.
 */
import { producers, topologicalOrder, type Graph, type Node } from '../ir/index.js';
import type { LayerTiming } from './engine.js';
import { UnitTimes } from './profile-times.js';

/** One kernel execution in one inference. */
export interface TraceKernel {
  /** The node name ORT reports, without its `_kernel_time` suffix. */
  name: string;
  /** ORT's operator type (`op_name`): 'Conv', 'FusedConv', 'ReorderInput', … */
  op: string;
  provider: string;
  durUs: number;
  /** Shapes of the kernel's inputs as ORT reports them (the weight of a Conv is input 1). */
  inputShapes: number[][];
}

export interface ParsedTrace {
  /** Kernels of every inference (`model_run` event), in order. */
  runs: TraceKernel[][];
  /** Each inference's `model_run` duration, ms: ORT's own wall clock around the run. */
  runMs: number[];
}

interface TraceEvent {
  cat?: string;
  name?: string;
  ph?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string; provider?: string; input_type_shape?: Record<string, number[]>[] };
}

const KERNEL_SUFFIX = '_kernel_time';

/** Splits a trace into inferences by the `model_run` events and keeps each one's kernel events. */
export function parseOrtTrace(trace: unknown): ParsedTrace {
  if (!Array.isArray(trace)) throw new Error('onnxruntime trace: expected a JSON array of events');
  const events = (trace as TraceEvent[]).filter((e) => e.ph === 'X' && typeof e.ts === 'number' && typeof e.dur === 'number');
  const windows = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts! - b.ts!);
  const runs: TraceKernel[][] = windows.map(() => []);
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith(KERNEL_SUFFIX)) continue;
    const at = windows.findIndex((w) => e.ts! >= w.ts! && e.ts! <= w.ts! + w.dur!);
    if (at < 0) continue;
    runs[at]!.push({
      name: e.name.slice(0, -KERNEL_SUFFIX.length),
      op: e.args?.op_name ?? 'unknown',
      provider: e.args?.provider ?? 'unknown',
      durUs: e.dur!,
      inputShapes: (e.args?.input_type_shape ?? []).map((t) => Object.values(t)[0] ?? []),
    });
  }
  return { runs, runMs: windows.map((w) => w.dur! / 1000) };
}

/** Operators ORT inserts to move data between layouts rather than compute on it. */
const LAYOUT_OPS = new Set(['ReorderInput', 'ReorderOutput', 'Transpose']);

/** How far back from a fused kernel's named node its main node (e.g. the Conv) may lie. */
const FUSION_DEPTH = 4;

interface KernelSite {
  name: string;
  op: string;
  inputShapes: number[][];
}

/**
 * The IR nodes behind each kernel. A kernel is anchored on the node it is named after (exact
 * name, then after dropping `_nchwc`, then the longest node name followed by '_'); when its
 * operator differs from the anchor's (an NCHWc Conv named after a ReLU), the nearest producer
 * with the kernel's operator is its main node and the chain between them is fused into it.
 * Nodes no kernel claims (BatchNorms folded into weights, Adds and ReLUs fused after them,
 * removed no-ops) go to the kernel of their latest producer, else of a consumer.
 */
export function mapKernelsToGraph(graph: Graph, kernels: KernelSite[]): Map<string, Pick<LayerTiming, 'kind' | 'nodes'>> {
  const order = topologicalOrder(graph);
  const byName = new Map(order.map((n) => [n.name, n]));
  const position = new Map(order.map((n, i) => [n, i]));
  const producedBy = producers(graph);
  const namesLongestFirst = [...byName.keys()].sort((a, b) => b.length - a.length);
  const owner = new Map<Node, string>();
  const result = new Map<string, Pick<LayerTiming, 'kind' | 'nodes'>>();

  const anchorOf = (name: string): Node | undefined => {
    const exact = byName.get(name) ?? byName.get(name.replace(/_nchwc$/, ''));
    if (exact) return exact;
    const prefix = namesLongestFirst.find((n) => name.startsWith(`${n}_`));
    return prefix ? byName.get(prefix) : undefined;
  };
  const inputProducers = (node: Node): Node[] =>
    node.inputs.filter((v) => v && !graph.initializers.has(v)).map((v) => producedBy.get(v)).filter((p): p is Node => p !== undefined);

  const anchors = new Map<string, Node | undefined>(kernels.map((k) => [k.name, anchorOf(k.name)]));
  const anchorNodes = new Set([...anchors.values()].filter((n): n is Node => n !== undefined));

  for (const k of kernels) {
    if (result.has(k.name)) continue;
    const anchor = anchors.get(k.name);
    if (!anchor || owner.has(anchor)) {
      const layout = LAYOUT_OPS.has(k.op) && !(anchor && anchor.op === k.op);
      result.set(k.name, { kind: layout ? 'layout' : 'other', nodes: [] });
      continue;
    }
    const baseOp = k.op.replace(/^Fused/, '');
    const chain = anchor.op === baseOp ? [anchor] : fusedChain(anchor, baseOp, k, inputProducers, (n) => owner.has(n) || (n !== anchor && anchorNodes.has(n)), graph);
    for (const n of chain) owner.set(n, k.name);
    result.set(k.name, { kind: 'compute', nodes: chain.map((n) => n.name) });
  }

  // Unclaimed nodes: forward through producers first (a folded BN belongs to its Conv), then back
  // through consumers (a node fused into a kernel named after a later node).
  const consumersOf = new Map<Node, Node[]>();
  for (const n of order) for (const p of inputProducers(n)) consumersOf.set(p, [...(consumersOf.get(p) ?? []), n]);
  const claim = (n: Node, candidates: Node[]): boolean => {
    const owned = candidates.filter((c) => owner.has(c) && result.get(owner.get(c)!)?.kind === 'compute');
    if (owned.length === 0) return false;
    const latest = owned.reduce((a, b) => (position.get(b)! > position.get(a)! ? b : a));
    const kernel = owner.get(latest)!;
    owner.set(n, kernel);
    result.get(kernel)!.nodes.push(n.name);
    return true;
  };
  for (const n of order) if (!owner.has(n)) claim(n, inputProducers(n));
  for (const n of [...order].reverse()) if (!owner.has(n)) claim(n, consumersOf.get(n) ?? []);
  return result;
}

/** The anchor and its producers back to the nearest node of `op` (the fused kernel's main node), main node first. */
function fusedChain(
  anchor: Node,
  op: string,
  kernel: KernelSite,
  inputProducers: (n: Node) => Node[],
  taken: (n: Node) => boolean,
  graph: Graph,
): Node[] {
  const parent = new Map<Node, Node>();
  let frontier = [anchor];
  for (let depth = 0; depth < FUSION_DEPTH && frontier.length; depth++) {
    const next: Node[] = [];
    for (const n of frontier) {
      for (const p of inputProducers(n)) {
        if (parent.has(p) || p === anchor || taken(p)) continue;
        parent.set(p, n);
        next.push(p);
      }
    }
    const found = next.filter((n) => n.op === op);
    if (found.length) {
      // Two candidates (a residual Add over two Conv branches): the one whose weight has the kernel's shape.
      const weightShape = kernel.inputShapes[1]?.join('x');
      const main = found.find((n) => graph.initializers.get(n.inputs[1] ?? '')?.dims.join('x') === weightShape) ?? found[0]!;
      const chain = [main];
      for (let n = main; n !== anchor; ) {
        n = parent.get(n)!;
        chain.push(n);
      }
      return chain;
    }
    frontier = next;
  }
  return [anchor];
}

/**
 * Per-kernel time (see UnitTimes) over the runs after the first `skipRuns` (the first inference allocates
 * and packs weights), in the order the kernels first ran, with their IR nodes.
 */
export function ortLayerTimings(trace: ParsedTrace, graph: Graph, skipRuns = 1): LayerTiming[] {
  const kept = trace.runs.slice(skipRuns);
  if (kept.length === 0) throw new Error(`onnxruntime trace: ${trace.runs.length} run(s), none left after skipping ${skipRuns}`);
  const sites = new Map<string, TraceKernel>();
  for (const run of kept) for (const k of run) if (!sites.has(k.name)) sites.set(k.name, k);
  const mapping = mapKernelsToGraph(graph, [...sites.values()]);
  const times = new UnitTimes();
  kept.forEach((run, r) => {
    for (const k of run) times.add(r, { name: k.name, op: k.op, ...mapping.get(k.name)! }, k.durUs / 1000);
  });
  return times.timings();
}
