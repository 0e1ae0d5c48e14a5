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
  /** Padding per side, [top, left, bottom, right]; default: 'same' for odd kernels at stride 1. */
  pads?: [number, number, number, number];
  groups?: number;
  dilation?: number;
  bias?: boolean;
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
      pads: attr.ints(o.pads ?? [padH, padW, padH, padW]),
      dilations: attr.ints([dilation, dilation]),
      group: attr.int(groups),
    };
    return this.add1('Conv', name, inputs, attrs);
  }

  /**
   * BatchNormalization starting as identity (scale 1, shift 0, mean 0, var 1); calibration later
   * sets its statistics so its output has zero mean and variance gain² per channel.
   */
  batchNorm(x: string, gain = 1): string {
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
    return this.add1('BatchNormalization', name, inputs, { epsilon: attr.float(1e-5) });
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

  maxPool(x: string, kernel: number, stride: number, pad: number): string {
    return this.add1('MaxPool', this.nodeName('maxpool'), [x], {
      kernel_shape: attr.ints([kernel, kernel]),
      strides: attr.ints([stride, stride]),
      pads: attr.ints([pad, pad, pad, pad]),
    });
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
