import { UserError } from '../errors.js';
import { ConstTensor } from '../ir/index.js';

/**
 * TF1-style while loops in a TF.js graph model (tf.while_loop, and tf.map / tf.scan as converters
 * lower them), unrolled before import. A loop is a frame: each loop variable enters through an
 * Enter, meets its next value at a Merge, passes a Switch on the frame's LoopCond (output 1 into
 * the body, output 0 to an Exit), and the body's result goes back to the Merge through a
 * NextIteration. When the condition is computed from constants only (a counter from a Const,
 * stepped by a Const, compared with a Const: what `maximum_iterations` adds), the trip count is
 * known at import, so the frame becomes that many copies of its body, each reading the values the
 * copy before it wrote. The counters themselves are evaluated here and become constants; the
 * importer after this pass sees a graph without frames or back edges. Refused, naming the frame:
 * a condition that depends on the data, a loop over TensorList/TensorArray ops (tf.map over a
 * tensor's elements), more than MAX_LOOP_ITERATIONS iterations or MAX_UNROLLED_NODES copies.
 * Nested loops are unrolled innermost first. A copy of body node `n` in iteration k is `n@k`
 * ('@' is not allowed in TF node names, so a copy never takes an existing name).
 */

/** The fields of a GraphDef node this pass reads and writes (graph-model.ts's TfNode has them). */
export interface LoopNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { s?: string; b?: boolean; type?: string }>;
}

/** The most iterations one loop is unrolled to. */
export const MAX_LOOP_ITERATIONS = 1000;
/** The most nodes the copies of one loop's body may add up to. */
export const MAX_UNROLLED_NODES = 100_000;
/** Constants larger than this are not evaluated at import (they are weights, not counters). */
const MAX_FOLDED_ELEMENTS = 4096;

const FRAME_OPS = new Set(['Enter', 'Exit', 'NextIteration', 'LoopCond']);

const UNROLL_HINT = `formbench unrolls while loops whose condition is computed from constants only (a counter against a constant limit, as tf.while_loop with maximum_iterations writes it), up to ${MAX_LOOP_ITERATIONS} iterations and ${MAX_UNROLLED_NODES} copied nodes`;

/**
 * Unrolls every while loop in `nodes` (innermost first), or refuses the first it cannot with a
 * UserError naming the loop's frame and why. Returns the graph's nodes without frames, and the
 * weights with the constants the unrolling made (counters' values per iteration) added.
 */
export function unrollLoops(nodes: LoopNode[], weights: Map<string, ConstTensor>, source: string): { nodes: LoopNode[]; weights: Map<string, ConstTensor> } {
  if (!nodes.some((n) => FRAME_OPS.has(n.op))) return { nodes, weights };
  const allWeights = new Map(weights);
  let current = nodes;
  for (;;) {
    const frames = findFrames(current);
    const leaf = [...frames.values()].find((f) => ![...frames.values()].some((g) => g.parent === f.name));
    if (!leaf) break;
    current = new Unroller(leaf, current, allWeights, source).run();
  }
  // Frame ops that belong to no frame: an Exit or NextIteration outside any loop, a stray LoopCond.
  const stray = current.find((n) => FRAME_OPS.has(n.op));
  if (stray) throw new UserError(`unsupported operator '${stray.op}' (node '${stray.name}'): loops (while_loop frames) are unrolled only whole, and this node belongs to no frame that an Enter opens`, UNROLL_HINT);
  return { nodes: current, weights: allWeights };
}

interface Ref {
  node: string;
  index: number;
}

/** 'node', 'node:1'; undefined for a control input '^node'. */
function parseRef(input: string): Ref | undefined {
  if (input.startsWith('^')) return undefined;
  const m = /^(.*):(\d+)$/.exec(input);
  return m ? { node: m[1]!, index: Number(m[2]) } : { node: input, index: 0 };
}

const refString = (r: Ref): string => (r.index ? `${r.node}:${r.index}` : r.node);
const nodeOf = (input: string): string => input.replace(/^\^/, '').replace(/:\d+$/, '');
const dataRefs = (n: LoopNode): Ref[] => (n.input ?? []).map(parseRef).filter((r): r is Ref => !!r);

interface Frame {
  name: string;
  /** The enclosing frame; undefined at the top level. */
  parent: string | undefined;
  /** Nodes whose outputs live in the frame (its Enters included), in file order. */
  members: LoopNode[];
  /** Its Exits (whose outputs live in the enclosing frame). */
  exits: LoopNode[];
}

function frameName(n: LoopNode): string {
  const s = n.attr?.['frame_name']?.s;
  const name = s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8');
  if (!name) throw new UserError(`unsupported operator 'Enter' (node '${n.name}'): loops (while_loop frames) are unrolled only when each Enter names its frame, and this one has no frame_name`, UNROLL_HINT);
  return name;
}

/**
 * The frame each node's output lives in, as TF assigns it: an Enter's output is in the frame it
 * names, an Exit's in the frame around its input's, any other node's in the innermost frame of
 * its inputs (control inputs included: TF ties a body's constants to the loop that way). A
 * loop's Merge is placed by its Enter, so the NextIteration → Merge back edge is never followed.
 */
function findFrames(nodes: LoopNode[]): Map<string, Frame> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const frameOf = new Map<string, string | undefined>();
  const exitFrameOf = new Map<string, string | undefined>();
  const parentOf = new Map<string, string | undefined>();
  const depth = (f: string | undefined): number => {
    let d = 0;
    for (let g = f; g !== undefined && d <= nodes.length; g = parentOf.get(g)) d++;
    return d;
  };
  const deps = (n: LoopNode): string[] => (n.input ?? []).map(nodeOf).filter((d) => byName.has(d) && !(n.op === 'Merge' && byName.get(d)!.op === 'NextIteration'));
  const state = new Map<string, 'visiting' | 'done'>();
  const place = (n: LoopNode): void => {
    // The innermost frame among the inputs already placed (a cycle outside frames is left to the importer).
    let inner: string | undefined;
    for (const d of deps(n)) {
      if (state.get(d) !== 'done') continue;
      const f = frameOf.get(d);
      if (depth(f) > depth(inner)) inner = f;
    }
    if (n.op === 'Enter') {
      const f = frameName(n);
      if (!parentOf.has(f)) parentOf.set(f, inner);
      frameOf.set(n.name, f);
    } else if (n.op === 'Exit') {
      exitFrameOf.set(n.name, inner);
      frameOf.set(n.name, inner === undefined ? undefined : parentOf.get(inner));
    } else frameOf.set(n.name, inner);
  };
  for (const start of nodes) {
    if (state.has(start.name)) continue;
    const stack: { node: LoopNode; deps: string[]; next: number }[] = [{ node: start, deps: deps(start), next: 0 }];
    state.set(start.name, 'visiting');
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.deps.length) {
        const d = top.deps[top.next++]!;
        if (!state.has(d)) {
          state.set(d, 'visiting');
          const node = byName.get(d)!;
          stack.push({ node, deps: deps(node), next: 0 });
        }
      } else {
        place(top.node);
        state.set(top.node.name, 'done');
        stack.pop();
      }
    }
  }
  const frames = new Map<string, Frame>();
  const frame = (f: string): Frame => {
    let fr = frames.get(f);
    if (!fr) frames.set(f, (fr = { name: f, parent: parentOf.get(f), members: [], exits: [] }));
    return fr;
  };
  for (const n of nodes) {
    if (n.op === 'Exit') {
      const f = exitFrameOf.get(n.name);
      if (f !== undefined) frame(f).exits.push(n);
      continue;
    }
    const f = frameOf.get(n.name);
    if (f !== undefined) frame(f).members.push(n);
  }
  return frames;
}

/** A value evaluated at import: a counter, a limit, a condition. */
interface Folded {
  dtype: 'float32' | 'int32' | 'bool';
  dims: number[];
  data: number[];
}

/** Why a value is not evaluated at import. */
class NotFolded extends Error {}

const ARITHMETIC: Record<string, (a: number, b: number, int: boolean) => number> = {
  Add: (a, b, int) => (int ? (a + b) | 0 : a + b),
  AddV2: (a, b, int) => (int ? (a + b) | 0 : a + b),
  Sub: (a, b, int) => (int ? (a - b) | 0 : a - b),
  Mul: (a, b, int) => (int ? Math.imul(a, b) : a * b),
  Maximum: (a, b) => Math.max(a, b),
  Minimum: (a, b) => Math.min(a, b),
};

const COMPARISON: Record<string, (a: number, b: number) => boolean> = {
  Less: (a, b) => a < b,
  LessEqual: (a, b) => a <= b,
  Greater: (a, b) => a > b,
  GreaterEqual: (a, b) => a >= b,
  Equal: (a, b) => a === b,
  NotEqual: (a, b) => a !== b,
};

const LOGICAL: Record<string, (a: boolean, b: boolean) => boolean> = {
  LogicalAnd: (a, b) => a && b,
  LogicalOr: (a, b) => a || b,
};

/** The ops evaluated at import: what counters and conditions are made of. */
const FOLDABLE = new Set(['Identity', 'Cast', 'LogicalNot', ...Object.keys(ARITHMETIC), ...Object.keys(COMPARISON), ...Object.keys(LOGICAL)]);

function fromTensor(t: ConstTensor): Folded {
  if (t.dtype === 'float32') return { dtype: 'float32', dims: [...t.dims], data: Array.from(t.float32()) };
  if (t.dtype === 'int32' || t.dtype === 'bool') return { dtype: t.dtype, dims: [...t.dims], data: t.integers() };
  throw new NotFolded(`a ${t.dtype} constant`);
}

function toTensor(v: Folded): ConstTensor {
  if (v.dtype === 'float32') return ConstTensor.fromFloat32(v.dims, Float32Array.from(v.data));
  if (v.dtype === 'int32') return new ConstTensor('int32', v.dims, new Uint8Array(Int32Array.from(v.data).buffer));
  return new ConstTensor('bool', v.dims, Uint8Array.from(v.data));
}

const TF_DTYPE: Record<Folded['dtype'], string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };

/** Elementwise over equal shapes, or one side a single element broadcast to the other. */
function zip(a: Folded, b: Folded, f: (x: number, y: number) => number, dtype: Folded['dtype']): Folded {
  const same = a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]);
  if (same) return { dtype, dims: a.dims, data: a.data.map((x, i) => f(x, b.data[i]!)) };
  if (b.data.length === 1 && b.dims.length <= a.dims.length) return { dtype, dims: a.dims, data: a.data.map((x) => f(x, b.data[0]!)) };
  if (a.data.length === 1 && a.dims.length <= b.dims.length) return { dtype, dims: b.dims, data: b.data.map((y) => f(a.data[0]!, y)) };
  throw new NotFolded(`shapes [${a.dims.join(', ')}] and [${b.dims.join(', ')}] do not broadcast simply`);
}

function fold(node: LoopNode, args: Folded[]): Folded {
  const [a, b] = args as [Folded, Folded];
  if (node.op === 'Identity' || node.op === 'Enter') return a;
  if (node.op === 'Cast') {
    const to = node.attr?.['DstT']?.type ?? 'DT_FLOAT';
    if (to === 'DT_FLOAT') return { dtype: 'float32', dims: a.dims, data: a.data.map(Math.fround) };
    if (to === 'DT_INT32' || to === 'DT_INT64') return { dtype: 'int32', dims: a.dims, data: a.data.map((x) => Math.trunc(x) | 0) };
    if (to === 'DT_BOOL') return { dtype: 'bool', dims: a.dims, data: a.data.map((x) => (x !== 0 ? 1 : 0)) };
    throw new NotFolded(`a cast to ${to}`);
  }
  if (node.op === 'LogicalNot') return { dtype: 'bool', dims: a.dims, data: a.data.map((x) => (x ? 0 : 1)) };
  const arithmetic = ARITHMETIC[node.op];
  if (arithmetic) {
    if (a.dtype !== b.dtype || a.dtype === 'bool') throw new NotFolded(`${node.op} of ${a.dtype} and ${b.dtype}`);
    const int = a.dtype === 'int32';
    return zip(a, b, (x, y) => (int ? arithmetic(x, y, true) : Math.fround(arithmetic(x, y, false))), a.dtype);
  }
  const comparison = COMPARISON[node.op];
  if (comparison) return zip(a, b, (x, y) => (comparison(x, y) ? 1 : 0), 'bool');
  const logical = LOGICAL[node.op];
  if (logical) return zip(a, b, (x, y) => (logical(x !== 0, y !== 0) ? 1 : 0), 'bool');
  throw new NotFolded(`a ${node.op}`);
}

/** One loop variable: Enter → Merge ← NextIteration, and the Switch on LoopCond after the Merge. */
interface LoopVar {
  merge: LoopNode;
  init: Ref;
  next: Ref;
  switchNode: LoopNode | undefined;
  /** Evaluated at import (a counter, a limit), or a run-time value. */
  folded: boolean;
}

/** One iteration: the folded loop variables' values, and the folded body nodes' (or why one failed). */
interface Iteration {
  state: Map<LoopVar, Folded>;
  values: Map<string, Folded | string>;
}

/** Where a reference inside the frame leads. */
type Target = { kind: 'var'; v: LoopVar } | { kind: 'outer'; ref: Ref } | { kind: 'body'; node: LoopNode; index: number };

class Unroller {
  private readonly byName: Map<string, LoopNode>;
  private readonly memberNames: Set<string>;
  private readonly vars: LoopVar[] = [];
  private readonly varOfNode = new Map<string, LoopVar>();
  private readonly invariantEnters = new Map<string, Ref>();
  private readonly body = new Map<string, LoopNode>();
  private loopCond!: LoopNode;
  /** The body, each node after the body nodes it reads. */
  private order: LoopNode[] = [];
  /** Body nodes (and outer values) evaluated at import. */
  private readonly foldedNodes = new Set<string>();
  private readonly outerFolded = new Map<string, Folded | undefined>();

  constructor(
    private readonly frame: Frame,
    private readonly nodes: LoopNode[],
    private readonly weights: Map<string, ConstTensor>,
    private readonly source: string,
  ) {
    this.byName = new Map(nodes.map((n) => [n.name, n]));
    this.memberNames = new Set(frame.members.map((n) => n.name));
  }

  private refuse(reason: string, hint = UNROLL_HINT): never {
    throw new UserError(`${this.source}: while loop '${this.frame.name}' is not unrolled: ${reason}`, hint);
  }

  run(): LoopNode[] {
    this.readStructure();
    this.order = this.bodyOrder();
    this.classify(this.order);
    const states = this.tripStates();
    const trips = states.length - 1;
    const live = this.liveBody(this.order);
    if (trips * live.length > MAX_UNROLLED_NODES) this.refuse(`its ${trips} iterations of ${live.length} body nodes make ${trips * live.length} nodes, more than the ${MAX_UNROLLED_NODES} formbench unrolls`);
    return this.emit(states, live);
  }

  /** Finds the loop variables, the invariants and the body; refuses what is not a plain while loop. */
  private readStructure(): void {
    const f = this.frame;
    const list = [...f.members, ...f.exits].find((n) => n.op.startsWith('TensorList') || n.op.startsWith('TensorArray'));
    if (list) {
      this.refuse(
        `it works on TensorList/TensorArray ops (node '${list.name}' is a ${list.op}): a loop over a tensor's elements (tf.map, tf.scan) reads and writes them one at a time through lists that formbench does not model`,
        'formbench unrolls while loops over plain tensors with a constant trip count; loops over TensorLists are not imported',
      );
    }
    const conds = f.members.filter((n) => n.op === 'LoopCond');
    if (conds.length !== 1) this.refuse(`it has ${conds.length} LoopCond nodes, not one`);
    this.loopCond = conds[0]!;
    const isNext = (r: Ref) => this.byName.get(r.node)?.op === 'NextIteration';
    for (const m of f.members.filter((n) => n.op === 'Merge' && dataRefs(n).some(isNext))) {
      const refs = dataRefs(m);
      const enter = refs.find((r) => !isNext(r));
      const next = refs.find(isNext);
      const enterNode = enter && this.byName.get(enter.node);
      if (refs.length !== 2 || !enterNode || enterNode.op !== 'Enter' || !next) this.refuse(`its Merge '${m.name}' does not join one Enter and one NextIteration`);
      const nextValue = dataRefs(this.byName.get(next.node)!)[0];
      if (!nextValue) this.refuse(`its NextIteration '${next.node}' has no input`);
      const init = dataRefs(enterNode)[0];
      if (!init) this.refuse(`its Enter '${enterNode.name}' has no input`);
      const v: LoopVar = { merge: m, init, next: nextValue, switchNode: undefined, folded: true };
      this.vars.push(v);
      this.varOfNode.set(m.name, v);
    }
    const entersOfVars = new Set(this.vars.map((v) => dataRefs(v.merge).find((r) => !isNext(r))!.node));
    const nextsOfVars = new Set(this.vars.map((v) => dataRefs(v.merge).find(isNext)!.node));
    for (const n of f.members) {
      const refs = dataRefs(n);
      if (n.op === 'Switch' && refs[1]?.node === this.loopCond.name) {
        const v = this.varOfNode.get(refs[0]!.node);
        if (!v || v.switchNode) this.refuse(`its Switch '${n.name}' does not follow one loop variable's Merge`);
        v.switchNode = n;
        this.varOfNode.set(n.name, v);
      } else if (n.op === 'Enter') {
        if (n.attr?.['is_constant']?.b) this.invariantEnters.set(n.name, refs[0] ?? this.refuse(`its Enter '${n.name}' has no input`));
        else if (!entersOfVars.has(n.name)) this.refuse(`its Enter '${n.name}' feeds no loop variable's Merge`);
      } else if (n.op === 'NextIteration') {
        if (!nextsOfVars.has(n.name)) this.refuse(`its NextIteration '${n.name}' feeds no loop variable's Merge`);
      } else if (n !== this.loopCond && !this.varOfNode.has(n.name)) this.body.set(n.name, n);
    }
    for (const x of f.exits) {
      const r = dataRefs(x)[0];
      const v = r && this.varOfNode.get(r.node);
      if (!v || v.switchNode?.name !== r.node || r.index !== 0) this.refuse(`its Exit '${x.name}' does not read a loop variable's Switch`);
    }
  }

  /** What a reference made inside the frame reads; refuses references TF's loops never make. */
  private target(r: Ref, reader: string): Target {
    const v = this.varOfNode.get(r.node);
    if (v) {
      const isSwitch = v.switchNode?.name === r.node;
      if ((isSwitch && r.index !== 1) || (!isSwitch && r.index !== 0)) this.refuse(`node '${reader}' reads output ${r.index} of '${r.node}'`);
      return { kind: 'var', v };
    }
    const invariant = this.invariantEnters.get(r.node);
    if (invariant) return { kind: 'outer', ref: invariant };
    const node = this.body.get(r.node);
    if (node) return { kind: 'body', node, index: r.index };
    if (this.memberNames.has(r.node)) this.refuse(`node '${reader}' reads '${r.node}' (${this.byName.get(r.node)!.op}) directly`);
    return { kind: 'outer', ref: r };
  }

  /** The body in an order where each node follows the body nodes it reads (the back edges are NextIteration's). */
  private bodyOrder(): LoopNode[] {
    const order: LoopNode[] = [];
    const seen = new Set<string>();
    for (const start of this.body.values()) {
      if (seen.has(start.name)) continue;
      seen.add(start.name);
      const stack: { node: LoopNode; deps: string[]; next: number }[] = [];
      const push = (n: LoopNode) => stack.push({ node: n, deps: (n.input ?? []).map(nodeOf).filter((d) => this.body.has(d)), next: 0 });
      push(start);
      while (stack.length) {
        const top = stack[stack.length - 1]!;
        if (top.next < top.deps.length) {
          const d = top.deps[top.next++]!;
          if (!seen.has(d)) {
            seen.add(d);
            push(this.body.get(d)!);
          }
        } else {
          order.push(top.node);
          stack.pop();
        }
      }
    }
    return order;
  }

  /** An outer value evaluated at import, or undefined when it is not a constant. */
  private outer(r: Ref, depth = 0): Folded | undefined {
    const key = refString(r);
    if (this.outerFolded.has(key)) return this.outerFolded.get(key);
    const n = this.byName.get(r.node);
    let v: Folded | undefined;
    try {
      if (!n || r.index !== 0 || depth > 64) v = undefined;
      else if (n.op === 'Const') {
        const t = this.weights.get(n.name);
        v = t && t.elementCount <= MAX_FOLDED_ELEMENTS ? fromTensor(t) : undefined;
      } else if ((n.op === 'Enter' && n.attr?.['is_constant']?.b) || FOLDABLE.has(n.op)) {
        const args = dataRefs(n).map((a) => this.outer(a, depth + 1));
        v = args.every((a) => a) ? fold(n, args as Folded[]) : undefined;
      }
    } catch (e) {
      if (!(e instanceof NotFolded)) throw e;
      v = undefined;
    }
    this.outerFolded.set(key, v);
    return v;
  }

  private isFolded(t: Target): boolean {
    if (t.kind === 'var') return t.v.folded;
    if (t.kind === 'outer') return this.outer(t.ref) !== undefined;
    return this.foldedNodes.has(t.node.name);
  }

  /**
   * Which values are evaluated at import: a body node whose op is foldable and whose inputs all
   * are, a loop variable whose initial and next values are. Loop variables start assumed
   * foldable and lose it until nothing changes (a counter depends on itself through the back edge).
   */
  private classify(order: LoopNode[]): void {
    for (let changed = true; changed; ) {
      this.foldedNodes.clear();
      for (const n of order) {
        const small = n.op !== 'Const' || (this.weights.get(n.name)?.elementCount ?? Infinity) <= MAX_FOLDED_ELEMENTS;
        const foldable = n.op === 'Const' ? small : FOLDABLE.has(n.op) && dataRefs(n).every((r) => this.isFolded(this.target(r, n.name)));
        if (foldable) this.foldedNodes.add(n.name);
      }
      changed = false;
      for (const v of this.vars) {
        if (v.folded && !(this.outer(v.init) && this.isFolded(this.target(v.next, v.merge.name)))) {
          v.folded = false;
          changed = true;
        }
      }
    }
  }

  /**
   * The folded body nodes' values in an iteration whose folded loop variables hold `state`,
   * computed in body order; a node that cannot be evaluated holds why, and refuses the loop only
   * when something needs it.
   */
  private iteration(state: Map<LoopVar, Folded>): Iteration {
    const values = new Map<string, Folded | string>();
    const it: Iteration = { state, values };
    for (const n of this.order) {
      if (!this.foldedNodes.has(n.name)) continue;
      const args = dataRefs(n).map((a) => this.valueIn(a, n.name, it));
      const failed = args.find((a): a is string => typeof a === 'string');
      try {
        values.set(n.name, failed ?? (n.op === 'Const' ? fromTensor(this.weights.get(n.name)!) : fold(n, args as Folded[])));
      } catch (e) {
        if (!(e instanceof NotFolded)) throw e;
        values.set(n.name, `node '${n.name}' (${n.op}) cannot be evaluated at import: ${e.message}`);
      }
    }
    return it;
  }

  /** A folded value in an iteration, or why it could not be evaluated. */
  private valueIn(r: Ref, reader: string, it: Iteration): Folded | string {
    const t = this.target(r, reader);
    if (t.kind === 'var') return it.state.get(t.v)!;
    if (t.kind === 'outer') return this.outer(t.ref)!;
    return it.values.get(t.node.name)!;
  }

  private needed(r: Ref, reader: string, it: Iteration): Folded {
    const v = this.valueIn(r, reader, it);
    return typeof v === 'string' ? this.refuse(v) : v;
  }

  /** Runs the condition on the folded variables: their values before each iteration and after the last. */
  private tripStates(): Iteration[] {
    const cond = dataRefs(this.loopCond)[0] ?? this.refuse(`its LoopCond '${this.loopCond.name}' has no input`);
    if (!this.isFolded(this.target(cond, this.loopCond.name))) this.refuse(`its trip count depends on the data: the condition reads ${this.whyNotFolded(cond, this.loopCond.name)}`);
    const folded = this.vars.filter((v) => v.folded);
    const states = [this.iteration(new Map(folded.map((v) => [v, this.outer(v.init)!])))];
    for (;;) {
      const now = states[states.length - 1]!;
      const c = this.needed(cond, this.loopCond.name, now);
      if (c.dtype !== 'bool' || c.data.length !== 1) this.refuse(`its condition is a ${c.dtype} of shape [${c.dims.join(', ')}], not one boolean`);
      if (!c.data[0]) return states;
      if (states.length > MAX_LOOP_ITERATIONS) this.refuse(`it runs more than ${MAX_LOOP_ITERATIONS} iterations`);
      states.push(this.iteration(new Map(folded.map((v) => [v, this.needed(v.next, v.merge.name, now)]))));
    }
  }

  /** The first value on the way to `start` that is not a constant, in words. */
  private whyNotFolded(start: Ref, startReader: string): string {
    const seen = new Set<string>();
    let said = '';
    for (let r = start, reader = startReader; ; ) {
      const t = this.target(r, reader);
      if (t.kind === 'outer') {
        const n = this.byName.get(t.ref.node);
        return `${said}'${refString(t.ref)}'${n ? ` (${n.op})` : ''}, which is not a constant`;
      }
      if (t.kind === 'var') {
        const v = t.v;
        if (seen.has(v.merge.name)) return `${said}loop variable '${v.merge.name}'`;
        seen.add(v.merge.name);
        if (!this.outer(v.init)) return `${said}loop variable '${v.merge.name}', which enters from '${refString(v.init)}' (${this.byName.get(v.init.node)?.op ?? 'undefined'}), not a constant`;
        said += `loop variable '${v.merge.name}', whose next value comes from `;
        [r, reader] = [v.next, v.merge.name];
        continue;
      }
      const n = t.node;
      if (!FOLDABLE.has(n.op)) return `${said}'${n.name}' (${n.op}), which formbench does not evaluate at import`;
      const bad = dataRefs(n).find((a) => !this.isFolded(this.target(a, n.name)));
      if (!bad) return `${said}'${n.name}' (${n.op})`;
      [r, reader] = [bad, n.name];
    }
  }

  /** The run-time body nodes that reach a run-time variable's next value (the rest is never observed outside the frame). */
  private liveBody(order: LoopNode[]): LoopNode[] {
    const live = new Set<string>();
    const mark: Ref[] = this.vars.filter((v) => !v.folded).map((v) => v.next);
    while (mark.length) {
      const r = mark.pop()!;
      const t = this.target(r, r.node);
      // Constants are kept once, not copied; folded values become constants per iteration.
      if (t.kind !== 'body' || t.node.op === 'Const' || live.has(t.node.name) || this.foldedNodes.has(t.node.name)) continue;
      live.add(t.node.name);
      mark.push(...dataRefs(t.node));
    }
    return order.filter((n) => live.has(n.name));
  }

  /** The graph with the frame replaced by its unrolled copies, placed where the frame's first node was. */
  private emit(states: Iteration[], live: LoopNode[]): LoopNode[] {
    const out: LoopNode[] = [];
    const emitted = new Set<string>();
    const lastConst = new Map<string, { name: string; value: Folded }>();
    // A hand-made model.json may use '@' in names, which TF's own names never hold.
    const fresh = (name: string): string => (this.byName.has(name) ? this.refuse(`the name '${name}' of an unrolled copy is already a node's`) : name);
    const constant = (name: string, source: string, value: Folded): string => {
      // A value the same as the iteration before's (a limit, a step) is made once.
      const prev = lastConst.get(source);
      if (prev && prev.value.dtype === value.dtype && prev.value.dims.join() === value.dims.join() && prev.value.data.every((x, i) => x === value.data[i])) return prev.name;
      fresh(name);
      this.weights.set(name, toTensor(value));
      out.push({ name, op: 'Const', attr: { dtype: { type: TF_DTYPE[value.dtype] } } });
      lastConst.set(source, { name, value });
      return name;
    };
    const runtime = new Map<LoopVar, string>(this.vars.filter((v) => !v.folded).map((v) => [v, refString(v.init)]));
    const read = (r: Ref, reader: string, k: number): string => {
      const t = this.target(r, reader);
      if (t.kind === 'outer') return refString(t.ref);
      if (t.kind === 'var') return t.v.folded ? constant(`${t.v.merge.name}@${k}`, t.v.merge.name, states[k]!.state.get(t.v)!) : runtime.get(t.v)!;
      const n = t.node;
      if (n.op === 'Const' && this.weights.has(n.name)) {
        // A constant of the body is the same in every iteration: kept once, its control inputs (the loop's pivot) dropped.
        if (!emitted.has(n.name)) out.push({ ...n, input: [] });
        emitted.add(n.name);
        return refString(r);
      }
      if (this.foldedNodes.has(n.name)) return constant(`${n.name}@${k}`, n.name, this.needed(r, reader, states[k]!));
      return refString({ node: `${n.name}@${k}`, index: t.index });
    };
    const trips = states.length - 1;
    const block: LoopNode[] = [];
    for (let k = 0; k < trips; k++) {
      // Control inputs are dropped: inside a loop they only tie nodes to the iteration's pivot.
      for (const n of live) {
        const inputs = dataRefs(n).map((r) => read(r, n.name, k));
        block.push(...out.splice(0), { ...n, name: fresh(`${n.name}@${k}`), input: inputs });
      }
      const next = new Map<LoopVar, string>();
      for (const v of runtime.keys()) next.set(v, read(v.next, v.merge.name, k));
      block.push(...out.splice(0));
      for (const [v, ref] of next) runtime.set(v, ref);
    }
    for (const x of this.frame.exits) {
      const v = this.varOfNode.get(dataRefs(x)[0]!.node)!;
      if (v.folded) {
        this.weights.set(x.name, toTensor(states[trips]!.state.get(v)!));
        block.push({ name: x.name, op: 'Const', attr: { dtype: { type: TF_DTYPE[states[trips]!.state.get(v)!.dtype] } } });
      } else block.push({ name: x.name, op: 'Identity', input: [runtime.get(v)!], attr: x.attr?.['T'] ? { T: x.attr['T'] } : {} });
    }
    const removed = this.memberNames;
    const exits = new Set(this.frame.exits.map((x) => x.name));
    const result: LoopNode[] = [];
    let placed = false;
    for (const n of this.nodes) {
      if (removed.has(n.name) || exits.has(n.name)) {
        if (!placed) result.push(...block);
        placed = true;
        continue;
      }
      const inputs = n.input ?? [];
      const inside = inputs.find((i) => !i.startsWith('^') && removed.has(nodeOf(i)));
      if (inside) this.refuse(`node '${n.name}' outside it reads '${inside}' inside it, not through an Exit`);
      // Control inputs on the frame's nodes order nothing once the frame is gone.
      result.push(inputs.some((i) => i.startsWith('^') && removed.has(nodeOf(i))) ? { ...n, input: inputs.filter((i) => !(i.startsWith('^') && removed.has(nodeOf(i)))) } : n);
    }
    return result;
  }
}
