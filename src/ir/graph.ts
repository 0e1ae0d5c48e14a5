import { UserError } from '../errors.js';
import type { ConstTensor, TensorType } from './tensor.js';

/**
 * A malformed graph; the message names the offending node. The default hint fits any imported
 * model; a throw that knows better gives its own.
 */
export class GraphError extends UserError {
  constructor(message: string, hint = GRAPH_HINT) {
    super(message, hint);
  }
}

const GRAPH_HINT = 'the model is malformed or uses this operator in a way formbench does not read: check it (for ONNX, onnx.checker.check_model(model, full_check=True)) or re-export it';

/** Attribute values, typed so that an exporter can write them without guessing. */
export type AttrValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] };

export type Attrs = Record<string, AttrValue>;

export interface Node {
  /** Unique within the graph; errors and per-layer reports name nodes by it. */
  name: string;
  /** Operator type, with ONNX (opset 17) semantics. */
  op: string;
  /** Value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Attrs;
  /** The design-pattern block this node belongs to (e.g. 'block7'), for per-block reports. */
  block?: string;
}

export interface ValueInfo {
  name: string;
  type: TensorType;
}

export interface Graph {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Constant tensors by value name (weights and shape constants). */
  initializers: Map<string, ConstTensor>;
  nodes: Node[];
  /** Free-form facts carried into exported files (model spec, seed, knobs). */
  metadata: Record<string, string>;
}

export const attr = {
  int: (value: number): AttrValue => ({ type: 'int', value }),
  float: (value: number): AttrValue => ({ type: 'float', value }),
  string: (value: string): AttrValue => ({ type: 'string', value }),
  ints: (value: number[]): AttrValue => ({ type: 'ints', value }),
  floats: (value: number[]): AttrValue => ({ type: 'floats', value }),
};

export function getInt(attrs: Attrs, name: string, fallback: number): number {
  const a = attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'int') throw new Error(`attribute ${name} is ${a.type}, expected int`);
  return a.value;
}

export function getFloat(attrs: Attrs, name: string, fallback: number): number {
  const a = attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'float' && a.type !== 'int') throw new Error(`attribute ${name} is ${a.type}, expected float`);
  return a.value;
}

export function getInts(attrs: Attrs, name: string): number[] | undefined {
  const a = attrs[name];
  if (a === undefined) return undefined;
  if (a.type !== 'ints') throw new Error(`attribute ${name} is ${a.type}, expected ints`);
  return a.value;
}

export function getString(attrs: Attrs, name: string, fallback: string): string {
  const a = attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'string') throw new Error(`attribute ${name} is ${a.type}, expected string`);
  return a.value;
}

/** The node producing each value. */
export function producers(graph: Graph): Map<string, Node> {
  const map = new Map<string, Node>();
  for (const node of graph.nodes) for (const out of node.outputs) if (out) map.set(out, node);
  return map;
}

/** The nodes reading each value. */
export function consumers(graph: Graph): Map<string, Node[]> {
  const map = new Map<string, Node[]>();
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (!input) continue;
      const list = map.get(input);
      if (list) list.push(node);
      else map.set(input, [node]);
    }
  }
  return map;
}

/**
 * Nodes in an order where every node comes after the producers of its inputs (Kahn's algorithm,
 * stable with respect to the stored order). Throws naming a node on a cycle.
 */
export function topologicalOrder(graph: Graph): Node[] {
  const produced = producers(graph);
  const indegree = new Map<Node, number>();
  const readers = new Map<Node, Node[]>();
  for (const node of graph.nodes) {
    const deps = new Set<Node>();
    for (const input of node.inputs) {
      const p = input ? produced.get(input) : undefined;
      if (p && p !== node) deps.add(p);
      if (p === node) throw new GraphError(`node '${node.name}' (${node.op}) reads its own output '${input}'`);
    }
    indegree.set(node, deps.size);
    for (const d of deps) {
      const list = readers.get(d);
      if (list) list.push(node);
      else readers.set(d, [node]);
    }
  }
  const ready = graph.nodes.filter((n) => indegree.get(n) === 0);
  const order: Node[] = [];
  for (let i = 0; i < ready.length; i++) {
    const node = ready[i]!;
    order.push(node);
    for (const r of readers.get(node) ?? []) {
      const left = indegree.get(r)! - 1;
      indegree.set(r, left);
      if (left === 0) ready.push(r);
    }
  }
  if (order.length !== graph.nodes.length) {
    const stuck = graph.nodes.find((n) => indegree.get(n)! > 0)!;
    throw new GraphError(`the graph has a cycle through node '${stuck.name}' (${stuck.op})`);
  }
  return order;
}
