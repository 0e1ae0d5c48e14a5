import {
  attr,
  ConstTensor,
  GraphError,
  opDef,
  type Attrs,
  type Graph,
  type Node,
  type Shape,
  type TensorType,
} from '../ir/index.js';
import { seededNormal } from '../weights/random.js';

export interface ConvOptions {
  /** Kernel size, square or [kh, kw]. */
  kernel: number | [number, number];
  stride?: number;
  /**
   * Padding: one number for every side, [top, left, bottom, right], or the default — half the
   * (dilated) kernel, which is 'same' for odd kernels at stride 1, as PyTorch models write it.
   */
  pads?: number | [number, number, number, number];
  groups?: number;
  dilation?: number;
  bias?: boolean;
}

export interface PoolOptions {
  kernel: number;
  stride: number;
  /** Padding per side (all four sides equal unless an array). */
  pads?: number | [number, number, number, number];
  /** AveragePool only: divide by the window area including padding (PyTorch's default). */
  countIncludePad?: boolean;
  /** PyTorch's ceil_mode. */
  ceilMode?: boolean;
}

function fourPads(p: number | [number, number, number, number]): [number, number, number, number] {
  return typeof p === 'number' ? [p, p, p, p] : p;
}

/** The symbolic batch dimension every zoo model is built with. */
export const BATCH_DIM = 'N';

/**
 * Builds a zoo network node by node, inferring each value's type as it goes (so a wrong channel
 * count fails at the line that made it) and creating seeded, lazily generated weights:
 * He-normal convolutions, LeCun-normal classifier, identity BatchNorm until calibrated.
 */
export class NetBuilder {
  readonly graph: Graph;
  private readonly types = new Map<string, TensorType>();
  private readonly counters = new Map<string, number>();
  /** Per-BatchNorm gain applied after normalisation during calibration (residual branches). */
  readonly bnGains = new Map<string, number>();
  /** Block label given to the nodes created next; 'stem' and 'head' around the body. */
  block = 'stem';

  constructor(
    name: string,
    readonly seed: number,
    inputShape: Shape,
  ) {
    this.graph = { name, inputs: [], outputs: [], initializers: new Map(), nodes: [], metadata: {} };
    const input = { name: 'input', type: { dtype: 'float32' as const, shape: inputShape } };
    this.graph.inputs.push(input);
    this.types.set(input.name, input.type);
  }

  shapeOf(value: string): Shape {
    const t = this.types.get(value);
    if (!t) throw new Error(`unknown value '${value}'`);
    return t.shape;
  }

  channelsOf(value: string): number {
    const c = this.shapeOf(value)[1];
    if (typeof c !== 'number') throw new Error(`value '${value}' has symbolic channels`);
    return c;
  }

  conv(x: string, outChannels: number, o: ConvOptions): string {
    const [kh, kw] = typeof o.kernel === 'number' ? [o.kernel, o.kernel] : o.kernel;
    const groups = o.groups ?? 1;
    const dilation = o.dilation ?? 1;
    const inChannels = this.channelsOf(x);
    const name = this.nodeName('conv');
    const fanIn = (inChannels / groups) * kh * kw;
    const weight = this.weight(`${name}.weight`, [outChannels, inChannels / groups, kh, kw], Math.sqrt(2 / fanIn));
    const inputs = [x, weight];
    if (o.bias) inputs.push(this.constant(`${name}.bias`, [outChannels], 0));
    const padH = (dilation * (kh - 1)) >> 1;
    const padW = (dilation * (kw - 1)) >> 1;
    const attrs: Attrs = {
      kernel_shape: attr.ints([kh, kw]),
      strides: attr.ints([o.stride ?? 1, o.stride ?? 1]),
      pads: attr.ints(o.pads === undefined ? [padH, padW, padH, padW] : fourPads(o.pads)),
      dilations: attr.ints([dilation, dilation]),
      group: attr.int(groups),
    };
    return this.add1('Conv', name, inputs, attrs);
  }

  /**
   * BatchNormalization starting as identity (scale 1, shift 0, mean 0, var 1); calibration later
   * sets its statistics so its output has zero mean and variance gain² per channel.
   */
  batchNorm(x: string, gain = 1, epsilon = 1e-5): string {
    const c = this.channelsOf(x);
    const name = this.nodeName('bn');
    if (gain !== 1) this.bnGains.set(name, gain);
    const inputs = [
      x,
      this.constant(`${name}.scale`, [c], 1),
      this.constant(`${name}.bias`, [c], 0),
      this.constant(`${name}.mean`, [c], 0),
      this.constant(`${name}.var`, [c], 1),
    ];
    return this.add1('BatchNormalization', name, inputs, { epsilon: attr.float(epsilon) });
  }

  relu(x: string): string {
    return this.add1('Relu', this.nodeName('relu'), [x], {});
  }

  /** ReLU6 as ONNX writes it: Clip with scalar bounds 0 and 6. */
  relu6(x: string): string {
    const name = this.nodeName('relu6');
    return this.add1('Clip', name, [x, this.constant(`${name}.min`, [], 0), this.constant(`${name}.max`, [], 6)], {});
  }

  add(a: string, b: string): string {
    return this.add1('Add', this.nodeName('add'), [a, b], {});
  }

  maxPool(x: string, o: PoolOptions): string {
    return this.add1('MaxPool', this.nodeName('maxpool'), [x], {
      kernel_shape: attr.ints([o.kernel, o.kernel]),
      strides: attr.ints([o.stride, o.stride]),
      pads: attr.ints(fourPads(o.pads ?? 0)),
      ...(o.ceilMode ? { ceil_mode: attr.int(1) } : {}),
    });
  }

  avgPool(x: string, o: PoolOptions): string {
    return this.add1('AveragePool', this.nodeName('avgpool'), [x], {
      kernel_shape: attr.ints([o.kernel, o.kernel]),
      strides: attr.ints([o.stride, o.stride]),
      pads: attr.ints(fourPads(o.pads ?? 0)),
      count_include_pad: attr.int(o.countIncludePad ? 1 : 0),
      ...(o.ceilMode ? { ceil_mode: attr.int(1) } : {}),
    });
  }

  /** Channel concatenation. */
  concat(xs: string[]): string {
    return this.add1('Concat', this.nodeName('concat'), xs, { axis: attr.int(1) });
  }

  /**
   * Crops `top` rows and `left` columns off the start (Slice on H and W), as DARTS's and NASNet's
   * factorized reductions shift their second path by one pixel.
   */
  shift(x: string, top: number, left: number): string {
    const name = this.nodeName('shift');
    const starts = this.int64(`${name}.starts`, [top, left]);
    const ends = this.int64(`${name}.ends`, [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]);
    const axes = this.int64(`${name}.axes`, [2, 3]);
    return this.add1('Slice', name, [x, starts, ends, axes], {});
  }

  /** Zero padding of H and W: [top, left, bottom, right]. */
  pad(x: string, pads: [number, number, number, number]): string {
    const name = this.nodeName('pad');
    const [t, l, b, r] = pads;
    return this.add1('Pad', name, [x, this.int64(`${name}.pads`, [0, 0, t, l, 0, 0, b, r])], {});
  }

  globalAveragePool(x: string): string {
    return this.add1('GlobalAveragePool', this.nodeName('gap'), [x], {});
  }

  flatten(x: string): string {
    return this.add1('Flatten', this.nodeName('flatten'), [x], { axis: attr.int(1) });
  }

  /** Fully connected layer (Gemm with transposed weight, as PyTorch's Linear exports). */
  linear(x: string, outFeatures: number): string {
    const inFeatures = this.shapeOf(x)[1];
    if (typeof inFeatures !== 'number') throw new Error('linear layer needs static input features');
    const name = this.nodeName('fc');
    const weight = this.weight(`${name}.weight`, [outFeatures, inFeatures], Math.sqrt(1 / inFeatures));
    const bias = this.constant(`${name}.bias`, [outFeatures], 0);
    return this.add1('Gemm', name, [x, weight, bias], { transB: attr.int(1) });
  }

  /** Declares the graph output and returns the finished graph. */
  finish(output: string, metadata: Record<string, string> = {}): Graph {
    this.graph.outputs.push({ name: output, type: this.types.get(output)! });
    Object.assign(this.graph.metadata, metadata);
    return this.graph;
  }

  private nodeName(kind: string): string {
    const key = `${this.block}.${kind}`;
    const n = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, n);
    return `${key}${n}`;
  }

  private weight(name: string, dims: number[], std: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const seed = this.seed;
    this.graph.initializers.set(name, ConstTensor.lazyFloat32(dims, () => seededNormal(seed, name, count, std)));
    return name;
  }

  private int64(name: string, values: number[]): string {
    this.graph.initializers.set(name, ConstTensor.fromInt64([values.length], values));
    this.types.set(name, { dtype: 'int64', shape: [values.length] });
    return name;
  }

  private constant(name: string, dims: number[], value: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    this.graph.initializers.set(name, ConstTensor.fromFloat32(dims, new Float32Array(count).fill(value)));
    this.types.set(name, { dtype: 'float32', shape: dims });
    return name;
  }

  private add1(op: string, name: string, inputs: string[], attrs: Attrs): string {
    const node: Node = { name, op, inputs, outputs: [name], attrs, block: this.block };
    const def = opDef(op)!;
    const inputTypes = inputs.map((v) => {
      const t = this.types.get(v) ?? this.initializerType(v);
      if (!t) throw new Error(`node ${name}: unknown input '${v}'`);
      return t;
    });
    let out: TensorType[];
    try {
      out = def.infer({ node, inputs: inputTypes, constant: (i) => this.graph.initializers.get(inputs[i]!) });
    } catch (e) {
      throw new GraphError(`node '${name}' (${op}): ${(e as Error).message}`);
    }
    this.graph.nodes.push(node);
    this.types.set(name, out[0]!);
    return name;
  }

  private initializerType(name: string): TensorType | undefined {
    const t = this.graph.initializers.get(name);
    return t ? { dtype: t.dtype, shape: [...t.dims] } : undefined;
  }
}
