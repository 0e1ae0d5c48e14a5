import { basename } from 'node:path';
import { UserError } from '../errors.js';
import { ONNX_FILE, readInputFile } from '../input/files.js';
import {
  GraphError,
  opDef,
  ShapeError,
  topologicalOrder,
  validateGraph,
  type AttrValue,
  ConstTensor,
  type Dim,
  type Graph,
  type Node,
  type TensorType,
  type ValueInfo,
} from '../ir/index.js';
import { constFromSmall, evaluate, MAX_FOLD_ELEMENTS, smallFromConst, wantsFolding, type SmallTensor } from './fold.js';
import { importableOps, OP_IMPORTERS, type ConvertContext, type TypedContext } from './normalize.js';
import { hasSymbol, symbolicShape, symbolicStep, type SymbolicVector } from './symbolic.js';
import { ATTR_TYPE, ModelProto, toNumber, type AttributeMsg, type ModelMsg, type ValueInfoMsg } from './schema.js';
import { dtypeOfCode, ExternalData, modelDirOf, tensorFromMsg } from './tensors.js';

export interface ImportOptions {
  /** Name of the file, for messages. */
  source?: string;
  /** Folder of the model file, for external tensor data. */
  modelDir?: string;
}


/** Reads an ONNX file into the IR. Weights stay views into the file's buffer. */
export function readOnnxFile(path: string): Graph {
  const bytes = readInputFile(path, ONNX_FILE);
  return fromOnnxBytes(bytes, { source: basename(path), modelDir: modelDirOf(path) });
}

export function fromOnnxBytes(bytes: Uint8Array, options: ImportOptions = {}): Graph {
  const source = options.source ?? 'the input';
  const model = decode(bytes, source);
  const opset = defaultOpset(model, source);
  const g = model.graph!;

  const external = new ExternalData(options.modelDir);
  const initializers = new Map<string, ConstTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', tensorFromMsg(t, external));
  const inputs = (g.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map((v) => valueInfo(v, source));
  // Some exporters leave graph outputs untyped; those take the inferred type after import.
  const untyped = new Set((g.output ?? []).filter((v) => !v.type?.tensor_type?.elem_type).map((v) => v.name ?? ''));
  const outputs = (g.output ?? []).map((v) => (untyped.has(v.name ?? '') ? { name: v.name ?? '', type: { dtype: 'float32' as const, shape: [] } } : valueInfo(v, source)));

  // Every value name in the file, so that constants the importer adds get fresh names.
  const valueNames = new Set<string>([...initializers.keys(), ...inputs.map((i) => i.name)]);
  for (const n of g.node ?? []) for (const o of n.output ?? []) valueNames.add(o);
  const addConstant = (wanted: string, tensor: ConstTensor): string => {
    let name = wanted;
    for (let k = 1; valueNames.has(name); k++) name = `${wanted}_${k}`;
    valueNames.add(name);
    initializers.set(name, tensor);
    return name;
  };

  const tensorAttrs = new Map<Node, Map<string, ConstTensor>>();
  const explicitNames = new Set((g.node ?? []).map((n) => n.name).filter((n): n is string => !!n));
  const usedNames = new Set<string>();
  const nodes: Node[] = (g.node ?? []).map((n, index) => {
    const op = n.op_type ?? '';
    let name = n.name || `${op}_${index}`;
    for (let k = 1; usedNames.has(name) || (!n.name && explicitNames.has(name)); k++) name = `${n.name || `${op}_${index}`}_${k}`;
    usedNames.add(name);
    if (n.domain && n.domain !== 'ai.onnx') {
      throw unsupported(op, name, `it is in the '${n.domain}' domain`);
    }
    const importer = OP_IMPORTERS[op];
    if (!importer) throw unsupported(op, name);
    const node: Node = { name, op, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs: {} };
    const tensors = new Map<string, ConstTensor>();
    for (const a of n.attribute ?? []) {
      const converted = attribute(a, node, external);
      if (converted instanceof Map) converted.forEach((t, k) => tensors.set(k, t));
      else if (converted) node.attrs[a.name ?? ''] = converted;
    }
    tensorAttrs.set(node, tensors);
    importer.convert?.(node, convertContext(node, opset, addConstant));
    return node;
  });

  const graph: Graph = {
    name: g.name || source,
    inputs,
    outputs,
    initializers,
    nodes,
    metadata: Object.fromEntries((model.metadata_props ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
  };
  foldConstants(graph, tensorAttrs, opset, addConstant);
  elideIdentities(graph);
  removeDeadCode(graph);
  const types = validateGraph(graph);
  for (const o of graph.outputs) if (untyped.has(o.name)) o.type = types.get(o.name)!;
  return graph;
}

function decode(bytes: Uint8Array, source: string): ModelMsg {
  let model: ModelMsg;
  try {
    model = ModelProto.decode(bytes) as unknown as ModelMsg;
  } catch (e) {
    throw new UserError(`${source} is not a valid ONNX model (${(e as Error).message})`, 'check that the file is a complete .onnx file');
  }
  if (!model.graph || !(model.graph.node?.length ?? 0)) {
    throw new UserError(`${source} is not a valid ONNX model (it has no graph nodes)`, 'check that the file is a complete .onnx file');
  }
  return model;
}

/**
 * The versions a file may declare. The top of each range is what the onnxruntime formbench ships
 * (1.30) loads: IR version 13, opset 26 of the default domain ("current official support … till
 * opset 26"). The bottom is ONNX's first release: the importer itself rewrites old opsets' forms
 * (and IR version 1's untyped attributes) into the IR's opset-17 form.
 */
export const SUPPORTED_IR_VERSIONS = { min: 1, max: 13 } as const;
export const SUPPORTED_OPSETS = { min: 1, max: 26 } as const;

function defaultOpset(model: ModelMsg, source: string): number {
  if (Object.prototype.hasOwnProperty.call(model, 'ir_version')) {
    const ir = toNumber(model.ir_version);
    if (!Number.isSafeInteger(ir) || ir < SUPPORTED_IR_VERSIONS.min || ir > SUPPORTED_IR_VERSIONS.max) {
      throw new UserError(
        `${source} declares ONNX IR version ${ir}; formbench reads IR versions ${SUPPORTED_IR_VERSIONS.min} to ${SUPPORTED_IR_VERSIONS.max}`,
        're-export the model with an onnx release that onnxruntime 1.30 reads, or check that the file is not corrupt',
      );
    }
  }
  const entry = (model.opset_import ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = entry ? toNumber(entry.version) : 1;
  if (!Number.isSafeInteger(opset) || opset < SUPPORTED_OPSETS.min || opset > SUPPORTED_OPSETS.max) {
    throw new UserError(
      `${source} declares opset ${opset} of the default ONNX domain; formbench reads opsets ${SUPPORTED_OPSETS.min} to ${SUPPORTED_OPSETS.max}`,
      `convert the model to opset 17 (onnx.version_converter.convert_version(model, 17)) or re-export it with torch.onnx.export(..., opset_version=17)`,
    );
  }
  return opset;
}

function valueInfo(v: ValueInfoMsg, source: string): ValueInfo {
  const t = v.type?.tensor_type;
  if (!t) throw new UserError(`${source}: value '${v.name}' is not a tensor`, 'formbench reads models whose inputs and outputs are tensors');
  const shape: Dim[] = (t.shape?.dim ?? []).map((d, i) => {
    if (d.dim_param) return d.dim_param;
    // proto2: a dim_value the file sets is an own property; an absent one reads as the default 0.
    if (Object.prototype.hasOwnProperty.call(d, 'dim_value') && d.dim_value !== undefined && d.dim_value !== null) {
      const size = toNumber(d.dim_value);
      if (!Number.isSafeInteger(size) || size < 1) {
        throw new UserError(
          `${source}: value '${v.name}' declares dimension ${i} as ${size}; a tensor dimension must be a positive integer`,
          'fix the shape in the exporter: give the size, or a name (dim_param) for a dimension bound at run time',
        );
      }
      return size;
    }
    return `${v.name}_dim${i}`;
  });
  return { name: v.name ?? '', type: { dtype: dtypeOfCode(t.elem_type, `value '${v.name}'`), shape } };
}

function attribute(a: AttributeMsg, node: Node, external: ExternalData): AttrValue | Map<string, ConstTensor> | undefined {
  const name = a.name ?? '';
  switch (a.type || typeOfUntypedAttribute(a)) {
    case ATTR_TYPE.int:
      return { type: 'int', value: toNumber(a.i) };
    case ATTR_TYPE.float:
      return { type: 'float', value: shortestFloat32(a.f ?? 0) };
    case ATTR_TYPE.string:
      return { type: 'string', value: Buffer.from(a.s ?? new Uint8Array()).toString('utf8') };
    case ATTR_TYPE.ints:
      return { type: 'ints', value: (a.ints ?? []).map((v) => toNumber(v)) };
    case ATTR_TYPE.floats:
      return { type: 'floats', value: (a.floats ?? []).map(shortestFloat32) };
    case ATTR_TYPE.strings:
      return { type: 'strings', value: (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8')) };
    case ATTR_TYPE.tensor:
      return new Map([[name, tensorFromMsg(a.t ?? {}, external)]]);
    default:
      throw unsupported(node.op, node.name, `its attribute '${name}' is of ONNX attribute type ${a.type ?? 'undefined'} (a subgraph, sparse tensor or list of tensors)`);
  }
}

/** Operators that only relabel dimensions; on constants they fold without touching the bytes. */
const RESHAPING = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity']);

const FOLD_ONLY_LIST = importableOps().filter((op) => OP_IMPORTERS[op]!.foldOnly);

function convertContext(node: Node, opset: number, addConstant: ConvertContext['addConstant']): ConvertContext {
  return { opset, addConstant, fail: (reason) => { throw unsupported(node.op, node.name, reason); } };
}

/** IR version 1 files carry no attribute type: it is the one value field that is present. */
function typeOfUntypedAttribute(a: AttributeMsg): number {
  const has = (k: keyof AttributeMsg) => Object.prototype.hasOwnProperty.call(a, k) && !(Array.isArray(a[k]) && (a[k] as unknown[]).length === 0);
  if (has('floats')) return ATTR_TYPE.floats;
  if (has('ints')) return ATTR_TYPE.ints;
  if (has('strings')) return ATTR_TYPE.strings;
  if (has('t')) return ATTR_TYPE.tensor;
  if (has('s')) return ATTR_TYPE.string;
  if (has('f')) return ATTR_TYPE.float;
  if (has('i')) return ATTR_TYPE.int;
  return 0;
}

function unsupported(op: string, name: string, why?: string): UserError {
  return new UserError(
    `unsupported operator '${op}' (node '${name}')${why ? `: ${why}` : ''}`,
    `formbench imports ${importableOps().join(', ')} (${FOLD_ONLY_LIST.join(', ')} only as shape arithmetic it can fold to constants)`,
  );
}

/** The value of a Constant node (value tensor, or the scalar/list forms of opset 12+). */
function constantValue(node: Node, tensors: Map<string, ConstTensor>): SmallTensor | ConstTensor {
  const t = tensors.get('value');
  if (t) return t;
  const a = node.attrs;
  const v = a['value_float'] ?? a['value_int'] ?? a['value_floats'] ?? a['value_ints'];
  if (!v) throw unsupported('Constant', node.name, 'only tensor, float, int, floats and ints values are read');
  const values = Array.isArray(v.value) ? (v.value as number[]) : [v.value as number];
  const dtype = v.type === 'float' || v.type === 'floats' ? 'float32' : 'int64';
  return { dtype, dims: Array.isArray(v.value) ? [values.length] : [], values };
}

/**
 * Turns Constant nodes into initializers and evaluates shape arithmetic on constants, in
 * topological order, tracking value types so Shape can read static shapes.
 */
function foldConstants(
  graph: Graph,
  tensorAttrs: Map<Node, Map<string, ConstTensor>>,
  opset: number,
  addConstant: ConvertContext['addConstant'],
): void {
  const types = new Map<string, TensorType>();
  for (const i of graph.inputs) types.set(i.name, i.type);
  for (const [name, t] of graph.initializers) types.set(name, { dtype: t.dtype, shape: [...t.dims] });
  let order: Node[];
  try {
    order = topologicalOrder(graph);
  } catch (e) {
    throw e instanceof GraphError ? e : new GraphError((e as Error).message);
  }
  const kept: Node[] = [];
  const symbolic = new Map<string, SymbolicVector>();
  const setConstant = (name: string, t: ConstTensor) => {
    graph.initializers.set(name, t);
    types.set(name, { dtype: t.dtype, shape: [...t.dims] });
  };
  // Identity (or inference Dropout) over a constant: readers use the constant itself, so a tensor
  // PyTorch stored once (and shares through Identity nodes) stays one tensor.
  const aliases = new Map<string, string>();
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  for (const node of order) {
    node.inputs = node.inputs.map((n) => aliases.get(n) ?? n);
    if ((node.op === 'Identity' || node.op === 'Dropout') && graph.initializers.has(node.inputs[0]!) && !graphOutputs.has(node.outputs[0]!)) {
      aliases.set(node.outputs[0]!, node.inputs[0]!);
      continue;
    }
    if (node.op === 'Constant') {
      const v = constantValue(node, tensorAttrs.get(node)!);
      setConstant(node.outputs[0]!, 'values' in v ? constFromSmall(v) : v);
      continue;
    }
    const typed = OP_IMPORTERS[node.op]?.typed;
    if (typed) {
      const ctx: TypedContext = {
        ...convertContext(node, opset, (name, t) => {
          const used = addConstant(name, t);
          types.set(used, { dtype: t.dtype, shape: [...t.dims] });
          return used;
        }),
        type: (v) => types.get(v),
        constant: (v) => graph.initializers.get(v),
      };
      typed(node, ctx);
    }
    const constants = node.inputs.map((n) => (n ? graph.initializers.get(n) : undefined));
    const def = opDef(node.op);
    const shapeInput = node.op === 'Shape' ? types.get(node.inputs[0]!) : undefined;
    if (shapeInput && hasSymbol(shapeInput.shape)) {
      symbolic.set(node.outputs[0]!, symbolicShape(node, shapeInput));
      continue;
    }
    const vectors = node.inputs.map((n) => (n ? symbolic.get(n) : undefined));
    if (vectors.some((v) => v)) {
      let step: ReturnType<typeof symbolicStep>;
      try {
        step = symbolicStep(node, vectors, constants, types.get(node.inputs[0]!)?.shape);
      } catch (e) {
        // The shape rules the step borrows from the IR (an axis out of range) speak of the file's values.
        if (e instanceof ShapeError) throw new GraphError(`node '${node.name}' (${node.op}): ${e.message}`);
        throw e;
      }
      if (step.kind === 'unsupported') {
        throw unsupported(node.op, node.name, `${step.reason}; export the model with a static input shape, or flatten with torch.flatten(x, 1)`);
      }
      if (step.kind === 'vector') {
        symbolic.set(node.outputs[0]!, step.value);
        continue;
      }
      const shapeName = `${node.name}.shape`;
      setConstant(shapeName, step.shape);
      node.inputs[1] = shapeName;
      constants[1] = step.shape;
    }
    if (RESHAPING.has(node.op) && def && node.inputs.every((n, i) => !n || constants[i]) && !graph.outputs.some((o) => o.name === node.outputs[0])) {
      // A weight reshaped by the graph: the same bytes under the inferred dimensions, no copy.
      const data = constants[0]!;
      let out: TensorType | undefined;
      try {
        out = def.infer({ node, inputs: node.inputs.map((n) => (n ? types.get(n) : undefined)), constant: (i) => constants[i] })[0];
      } catch (e) {
        throw new GraphError(`node '${node.name}' (${node.op}): ${(e as Error).message}`);
      }
      if (out && out.shape.every((d) => typeof d === 'number')) {
        setConstant(node.outputs[0]!, new ConstTensor(data.dtype, out.shape as number[], data.bytes()));
        continue;
      }
    }
    if (wantsFolding(node, constants)) {
      const inputTypes = node.inputs.map((n) => (n ? types.get(n) : undefined));
      const needsValues = node.op !== 'Shape' && node.op !== 'Size';
      if (needsValues && node.inputs.some((n, i) => n && !constants[i])) {
        throw unsupported(node.op, node.name, 'it computes on run-time values; formbench folds it only when its inputs are constant (export with static shapes)');
      }
      try {
        const small = node.inputs.map((n, i) => (n && constants[i] ? smallFromConst(constants[i]!) : undefined));
        const inferred = def ? def.infer({ node, inputs: inputTypes, constant: (i) => constants[i] })[0] : undefined;
        const value = evaluate(node, small, inputTypes, {
          ...(inferred ? { inferredDims: inferred.shape as number[] } : {}),
          ...(tensorAttrs.get(node)?.get('value') ? { tensorAttr: tensorAttrs.get(node)!.get('value')! } : {}),
        });
        if (value.values.length > MAX_FOLD_ELEMENTS) throw new Error('the result is too large to fold');
        setConstant(node.outputs[0]!, constFromSmall(value));
        continue;
      } catch (e) {
        if (e instanceof UserError) throw e;
        // An operator the IR has stays a node when its constant inputs cannot be evaluated here.
        if (!def || OP_IMPORTERS[node.op]?.foldOnly) throw new GraphError(`node '${node.name}' (${node.op}): cannot fold: ${(e as Error).message}`);
      }
    }
    if (!def) throw unsupported(node.op, node.name);
    kept.push(node);
    try {
      const out = def.infer({ node, inputs: node.inputs.map((n) => (n ? types.get(n) : undefined)), constant: (i) => constants[i] });
      node.outputs.forEach((name, i) => out[i] && types.set(name, out[i]!));
    } catch (e) {
      throw new GraphError(`node '${node.name}' (${node.op}): ${(e as Error).message}`);
    }
  }
  // Keep the file's node order when it is already topological (ONNX requires it), else Kahn's.
  const keptSet = new Set(kept);
  const fileOrder = graph.nodes.filter((n) => keptSet.has(n));
  graph.nodes = isTopological(fileOrder) ? fileOrder : kept;
}

function isTopological(nodes: Node[]): boolean {
  const produced = new Set<string>();
  for (const n of nodes) for (const o of n.outputs) produced.add(o);
  const ready = new Set<string>();
  for (const n of nodes) {
    if (n.inputs.some((i) => i && produced.has(i) && !ready.has(i))) return false;
    for (const o of n.outputs) ready.add(o);
  }
  return true;
}

/**
 * ONNX stores float attributes as float32; this is the shortest decimal that reads back as the
 * same float32 (1e-5 rather than 0.000009999999747378752), so attributes print as written.
 */
function shortestFloat32(f: number): number {
  if (!Number.isFinite(f)) return f;
  for (let p = 1; p <= 9; p++) {
    const v = Number(f.toPrecision(p));
    if (Math.fround(v) === f) return v;
  }
  return f;
}

/** Identity and inference-mode Dropout pass their input through; rewire readers to the source. */
function elideIdentities(graph: Graph): void {
  const outputNames = new Set(graph.outputs.map((o) => o.name));
  const alias = new Map<string, string>();
  const resolve = (n: string) => {
    let v = n;
    while (alias.has(v)) v = alias.get(v)!;
    return v;
  };
  graph.nodes = graph.nodes.filter((node) => {
    if (node.op !== 'Identity' && node.op !== 'Dropout') return true;
    if (node.outputs.slice(1).some((o) => o)) {
      const mask = node.outputs[1]!;
      if (graph.nodes.some((n) => n.inputs.includes(mask)) || outputNames.has(mask)) return true;
    }
    if (outputNames.has(node.outputs[0]!)) {
      node.op = 'Identity';
      node.inputs = [node.inputs[0]!];
      node.outputs = [node.outputs[0]!];
      node.attrs = {};
      return true;
    }
    alias.set(node.outputs[0]!, node.inputs[0]!);
    return false;
  });
  for (const node of graph.nodes) node.inputs = node.inputs.map((n) => (n ? resolve(n) : n));
}

/** Drops nodes and constants no graph output depends on (e.g. what folding left behind). */
function removeDeadCode(graph: Graph): void {
  const needed = new Set(graph.outputs.map((o) => o.name));
  const live: Node[] = [];
  for (const node of [...topologicalOrder(graph)].reverse()) {
    if (!node.outputs.some((o) => needed.has(o))) continue;
    live.push(node);
    for (const i of node.inputs) if (i) needed.add(i);
  }
  const liveSet = new Set(live);
  graph.nodes = graph.nodes.filter((n) => liveSet.has(n));
  for (const name of [...graph.initializers.keys()]) if (!needed.has(name)) graph.initializers.delete(name);
  for (const out of graph.outputs) {
    const c = graph.initializers.get(out.name);
    if (c && !graph.nodes.some((n) => n.outputs.includes(out.name))) {
      throw new GraphError(`graph output '${out.name}' is a constant; formbench needs outputs computed from the inputs`);
    }
  }
}

