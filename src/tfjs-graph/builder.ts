import {
  attr,
  ConstTensor,
  GraphError,
  opDef,
  type Attrs,
  type Dim,
  type DType,
  type Graph,
  type TensorType,
} from '../ir/index.js';

/**
 * Builds an IR graph node by node, inferring each output's type as it goes: TF's 'SAME' padding
 * becomes explicit pads, and those depend on the spatial size of the node's input.
 */
export class IrBuilder {
  readonly graph: Graph;
  readonly types = new Map<string, TensorType>();
  private readonly used = new Set<string>();

  constructor(name: string, metadata: Record<string, string>) {
    this.graph = { name, inputs: [], outputs: [], initializers: new Map(), nodes: [], metadata };
  }

  /** A fresh value/node name: `wanted`, or `wanted_2`, `wanted_3`… when taken. */
  fresh(wanted: string): string {
    let name = wanted;
    for (let k = 2; this.used.has(name); k++) name = `${wanted}_${k}`;
    this.used.add(name);
    return name;
  }

  input(name: string, type: TensorType): string {
    const used = this.fresh(name);
    this.graph.inputs.push({ name: used, type });
    this.types.set(used, type);
    return used;
  }

  constant(name: string, tensor: ConstTensor): string {
    const used = this.fresh(name);
    this.graph.initializers.set(used, tensor);
    this.types.set(used, { dtype: tensor.dtype, shape: [...tensor.dims] });
    return used;
  }

  int64(name: string, values: number[]): string {
    return this.constant(name, ConstTensor.fromInt64([values.length], values));
  }

  scalar(name: string, value: number): string {
    return this.constant(name, ConstTensor.fromFloat32([], Float32Array.of(value)));
  }

  shape(value: string): Dim[] {
    const t = this.types.get(value);
    // Importers ask for the values a layer or node reads; a model.json may name none, or one never made.
    if (!t) throw new GraphError(`a layer or node reads the value '${value}', which nothing before it defines`, 'the model.json is malformed: re-save it with tf.LayersModel.save or the TF.js converter');
    return t.shape;
  }

  /** Adds a node named (about) `name` whose single output carries the node's name. */
  add(op: string, name: string, inputs: string[], attrs: Attrs = {}): string {
    return this.addMulti(op, name, inputs, 1, attrs)[0]!;
  }

  /** A node with `outputCount` outputs: the first carries the node's name, the others `name:k`. */
  addMulti(op: string, name: string, inputs: string[], outputCount: number, attrs: Attrs = {}): string[] {
    const used = this.fresh(name);
    const outputs = Array.from({ length: outputCount }, (_, k) => (k === 0 ? used : this.fresh(`${used}:${k}`)));
    const node = { name: used, op, inputs, outputs, attrs };
    const def = opDef(op);
    if (!def) throw new Error(`IR has no operator ${op}`);
    const inputTypes = inputs.map((v) => (v ? this.types.get(v) : undefined));
    try {
      const types = def.infer({ node, inputs: inputTypes, constant: (i) => this.graph.initializers.get(inputs[i]!) });
      outputs.forEach((o, k) => this.types.set(o, types[k]!));
    } catch (e) {
      throw new GraphError(`node '${used}' (${op}): ${(e as Error).message}`);
    }
    this.graph.nodes.push(node);
    return outputs;
  }

  dtype(value: string): DType {
    this.shape(value);
    return this.types.get(value)!.dtype;
  }

  finish(outputs: string[]): Graph {
    for (const o of outputs) this.graph.outputs.push({ name: o, type: this.types.get(o)! });
    return this.graph;
  }
}

/** NHWC ⇄ NCHW permutations, and where an NHWC axis lands in NCHW. */
export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];
export function nchwAxis(nhwcAxis: number): number {
  return [0, 2, 3, 1][nhwcAxis < 0 ? nhwcAxis + 4 : nhwcAxis]!;
}

export function transpose(b: IrBuilder, x: string, perm: number[], name: string): string {
  return b.add('Transpose', name, [x], { perm: attr.ints(perm) });
}

/**
 * TF 'SAME' padding as explicit ONNX pads [top, left, bottom, right]: the total keeps
 * out = ceil(in / stride), and the odd pixel goes at the end (bottom/right), as TF does.
 */
export function samePads(inSize: number[], kernel: number[], strides: number[], dilations: number[]): number[] {
  const begin: number[] = [];
  const end: number[] = [];
  inSize.forEach((size, i) => {
    const out = Math.ceil(size / strides[i]!);
    const span = dilations[i]! * (kernel[i]! - 1) + 1;
    const total = Math.max(0, (out - 1) * strides[i]! + span - size);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  });
  return [...begin, ...end];
}

/** Spatial (H, W) sizes of an NCHW value; SAME padding needs them static. */
export function spatialOf(b: IrBuilder, x: string, what: string): number[] {
  const s = b.shape(x);
  if (s.length !== 4 || typeof s[2] !== 'number' || typeof s[3] !== 'number') {
    throw new GraphError(`${what}: needs a 4-d input with static height and width, got [${s.join(', ')}]`);
  }
  return [s[2], s[3]];
}

function permuted(t: ConstTensor, dimsOut: number[], index: (o: number[]) => number): ConstTensor {
  const src = t.float32();
  const out = new Float32Array(src.length);
  const [a, b2, c, d] = dimsOut as [number, number, number, number];
  let k = 0;
  for (let i = 0; i < a; i++) for (let j = 0; j < b2; j++) for (let y = 0; y < c; y++) for (let x = 0; x < d; x++) out[k++] = src[index([i, j, y, x])]!;
  return ConstTensor.fromFloat32(dimsOut, out);
}

/** TF's conv filter [kh, kw, cin, cout] → ONNX's [cout, cin, kh, kw]. */
export function hwioToOihw(t: ConstTensor): ConstTensor {
  const [kh, kw, ci, co] = t.dims as [number, number, number, number];
  return permuted(t, [co, ci, kh, kw], ([o, i, y, x]) => ((y! * kw + x!) * ci + i!) * co + o!);
}

/**
 * TF's depthwise filter [kh, kw, c, multiplier] → ONNX grouped-conv weight [c·m, 1, kh, kw] with
 * group = c: TF numbers output channel (c, m) as c·multiplier + m, as ONNX's groups do.
 */
export function depthwiseToOihw(t: ConstTensor): ConstTensor {
  const [kh, kw, c, m] = t.dims as [number, number, number, number];
  return permuted(t, [c * m, 1, kh, kw], ([o, , y, x]) => ((y! * kw + x!) * c + Math.floor(o! / m)) * m + (o! % m));
}

export interface ConvGeometry {
  strides: number[];
  dilations: number[];
  /** 'SAME', 'VALID', or explicit ONNX pads [top, left, bottom, right]. */
  padding: 'SAME' | 'VALID' | number[];
}

/** An ONNX Conv on an NCHW value; `weight` is already OIHW. */
export function conv(b: IrBuilder, name: string, x: string, weight: ConstTensor, bias: ConstTensor | undefined, g: ConvGeometry, group: number): string {
  const kernel = weight.dims.slice(2) as number[];
  const pads = g.padding === 'SAME' ? samePads(spatialOf(b, x, name), kernel, g.strides, g.dilations) : g.padding === 'VALID' ? [0, 0, 0, 0] : g.padding;
  const inputs = [x, b.constant(`${name}.weight`, weight)];
  if (bias) inputs.push(b.constant(`${name}.bias`, bias));
  return b.add('Conv', name, inputs, {
    kernel_shape: attr.ints(kernel),
    strides: attr.ints(g.strides),
    pads: attr.ints(pads),
    dilations: attr.ints(g.dilations),
    group: attr.int(group),
  });
}

export function pool(b: IrBuilder, op: 'MaxPool' | 'AveragePool', name: string, x: string, kernel: number[], strides: number[], padding: 'SAME' | 'VALID'): string {
  const pads = padding === 'SAME' ? samePads(spatialOf(b, x, name), kernel, strides, [1, 1]) : [0, 0, 0, 0];
  // TF's SAME average excludes the padding from the count, as ONNX's count_include_pad=0 does.
  return b.add(op, name, [x], { kernel_shape: attr.ints(kernel), strides: attr.ints(strides), pads: attr.ints(pads) });
}

/** Activations by TF/Keras name; the IR node for each. `undefined` = not an activation we know. */
export function activation(b: IrBuilder, kind: string, x: string, name: string, alpha = 0.2): string | undefined {
  switch (kind) {
    case 'linear':
      return x;
    case 'relu':
      return b.add('Relu', name, [x]);
    case 'relu6':
      return b.add('Clip', name, [x, b.scalar(`${name}.min`, 0), b.scalar(`${name}.max`, 6)]);
    case 'elu':
      return b.add('Elu', name, [x], { alpha: attr.float(1) });
    case 'sigmoid':
      return b.add('Sigmoid', name, [x]);
    case 'tanh':
      return b.add('Tanh', name, [x]);
    case 'leakyrelu':
      return b.add('LeakyRelu', name, [x], { alpha: attr.float(alpha) });
    case 'softmax':
      // Keras and TF take softmax over the last axis, which is channels (axis 1) in NCHW.
      return b.add('Softmax', name, [x], { axis: attr.int(b.shape(x).length === 4 ? 1 : -1) });
    default:
      return undefined;
  }
}
