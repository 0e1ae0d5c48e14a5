import { elementCount, getInt, getInts, type Node, type TensorType } from '../ir/index.js';

/** Compute of one node: multiply-accumulates, and elementwise work kept apart from them. */
export interface NodeCompute {
  macs: number;
  elementwiseOps: number;
}

type CostFn = (node: Node, inputs: (TensorType | undefined)[], outputs: TensorType[]) => NodeCompute;

const count = (t: TensorType | undefined): number => (t ? elementCount(t.shape) : 0);
const none: CostFn = () => ({ macs: 0, elementwiseOps: 0 });
/** One operation per output element (activations, BN, binary arithmetic, softmax). */
const perOutput: CostFn = (_n, _i, outputs) => ({ macs: 0, elementwiseOps: count(outputs[0]) });
/** One operation per element read (reductions and searches). */
const perInput: CostFn = (_n, inputs) => ({ macs: 0, elementwiseOps: count(inputs[0]) });

/**
 * MAC rules of DESIGN.md: Conv = Hout·Wout·Cout·(Cin/groups)·kh·kw per sample; Gemm/MatMul = in·out
 * per row. Bias additions count as elementwise work. Pools count one operation per window element.
 */
const COSTS: Record<string, CostFn> = {
  Conv(_node, inputs, outputs) {
    const w = inputs[1]!.shape as number[];
    const perOutputElement = w.slice(1).reduce((a, b) => a * b, 1);
    const outElements = count(outputs[0]);
    return { macs: outElements * perOutputElement, elementwiseOps: inputs[2] ? outElements : 0 };
  },
  Gemm(node, inputs, outputs) {
    const a = inputs[0]!.shape as number[];
    const k = getInt(node.attrs, 'transA', 0) === 1 ? a[0]! : a[1]!;
    const outElements = count(outputs[0]);
    return { macs: outElements * k, elementwiseOps: inputs[2] ? outElements : 0 };
  },
  MatMul(_node, inputs, outputs) {
    const a = inputs[0]!.shape as number[];
    return { macs: count(outputs[0]) * a[a.length - 1]!, elementwiseOps: 0 };
  },
  MaxPool: pool,
  AveragePool: pool,
  GlobalAveragePool: (_n, inputs) => ({ macs: 0, elementwiseOps: count(inputs[0]) }),
  GlobalMaxPool: (_n, inputs) => ({ macs: 0, elementwiseOps: count(inputs[0]) }),
  ReduceMean: perInput,
  ReduceSum: perInput,
  BatchNormalization: perOutput,
  Relu: perOutput,
  Clip: perOutput,
  LeakyRelu: perOutput,
  Sigmoid: perOutput,
  HardSigmoid: perOutput,
  HardSwish: perOutput,
  Tanh: perOutput,
  Elu: perOutput,
  Exp: perOutput,
  Neg: perOutput,
  Sqrt: perOutput,
  Softmax: perOutput,
  Add: perOutput,
  Sub: perOutput,
  Mul: perOutput,
  Div: perOutput,
  Max: perOutput,
  Min: perOutput,
  Pow: perOutput,
  // One interpolation per output element (its 1 or 4 taps are not counted apart).
  Resize: perOutput,
  PRelu: perOutput,
  Floor: perOutput,
  Mod: perOutput,
  Equal: perOutput,
  Less: perOutput,
  Greater: perOutput,
  // One comparison per input element; the gathers that read the indices only move data.
  ArgMax: perInput,
  TopK: perInput,
};

function pool(node: Node, _inputs: (TensorType | undefined)[], outputs: TensorType[]): NodeCompute {
  const window = (getInts(node.attrs, 'kernel_shape') ?? [1]).reduce((a, b) => a * b, 1);
  return { macs: 0, elementwiseOps: count(outputs[0]) * window };
}

/** Data-movement operators (Reshape, Concat, Pad, …) compute nothing. */
export function nodeCompute(node: Node, inputs: (TensorType | undefined)[], outputs: TensorType[]): NodeCompute {
  return (COSTS[node.op] ?? none)(node, inputs, outputs);
}

/**
 * Which inputs of an operator are learned parameters. Follows torchvision's convention: weights,
 * biases and BatchNorm's scale and shift count; BatchNorm's running mean and variance do not.
 */
export const PARAMETER_INPUTS: Record<string, number[]> = {
  Conv: [1, 2],
  Gemm: [0, 1, 2],
  MatMul: [0, 1],
  BatchNormalization: [1, 2],
};
