import { getInts, getString, GraphError, type Graph, type Node } from '../ir/index.js';
import type { OptionField } from './model.js';
import { F, Op, OptionsType } from './schema.js';

/**
 * Operator writers for what imported models (TF.js graphs read into the IR) use and the zoo never
 * emits: layout transposes, PRelu, Resize and plain elementwise functions. They work through
 * `ExportContext`, the exporter's tensor bookkeeping (export.ts), so that the layout rules stay in
 * one place: a 4-d value is either 'nhwc' (the IR's NCHW value held NHWC in the file) or 'plain'
 * (held in the IR's own axis order).
 */
export type Layout = 'nhwc' | 'plain';

export interface ExportContext {
  readonly graph: Graph;
  shapeOf(value: string): number[];
  tensorShape(tensor: number): number[];
  layoutOf(value: string): Layout | undefined;
  emitted(value: string): { tensor: number; layout: Layout } | undefined;
  bind(value: string, tensor: number, layout: Layout): void;
  asNhwc(value: string): number;
  asPlain(value: string): number;
  intConstant(name: string, values: number[], shape?: number[]): number;
  op(builtin: number, inputs: number[], outputs: number[], type?: number, fields?: OptionField[]): void;
  outputTensor(node: Node, layout: Layout): number;
  setOutput(node: Node, tensor: number, layout: Layout): void;
}

/** Physical axis i of a tensor in `layout` holds IR axis order[i]. */
function axisOrder(layout: Layout, rank: number): number[] {
  return layout === 'nhwc' && rank === 4 ? [0, 2, 3, 1] : [...Array(rank).keys()];
}

const isIdentity = (p: number[]) => p.every((v, i) => v === i);

/**
 * Transpose through the layouts. The IR's Transpose from an NHWC graph input to NCHW (and back
 * before an NHWC output) only renames what the file already holds: the NHWC tensor *is* the NCHW
 * value in the 'nhwc' layout, so no operator is written. Any other permutation becomes one
 * TRANSPOSE, its perm composed with the input's layout, to a 'plain' output.
 */
function transpose(x: ExportContext, node: Node): void {
  const value = node.inputs[0]!;
  const rank = x.shapeOf(value).length;
  const perm = getInts(node.attrs, 'perm') ?? [...Array(rank).keys()].reverse();
  const input = x.emitted(value) ?? { tensor: x.asPlain(value), layout: 'plain' as Layout };
  const inverse: number[] = [];
  axisOrder(input.layout, rank).forEach((irAxis, physical) => (inverse[irAxis] = physical));
  // Output physical axis i = output IR axis order[i] = input IR axis perm[order[i]].
  const fileperm = (out: Layout) => axisOrder(out, rank).map((a) => inverse[perm[a]!]!);
  for (const out of ['plain', 'nhwc'] as const) {
    if (out === 'nhwc' && rank !== 4) continue;
    if (isIdentity(fileperm(out))) {
      x.setOutput(node, input.tensor, out);
      return;
    }
  }
  const out = x.outputTensor(node, 'plain');
  x.op(Op.TRANSPOSE, [input.tensor, x.intConstant(`${node.name}.perm`, fileperm('plain'))], [out], OptionsType.TransposeOptions);
  x.setOutput(node, out, 'plain');
}

/** An elementwise function of one operand: the output keeps the operand's layout. */
function unary(builtin: number, optionsType?: number): (x: ExportContext, node: Node) => void {
  return (x, node) => {
    const layout: Layout = x.layoutOf(node.inputs[0]!) === 'nhwc' ? 'nhwc' : 'plain';
    const input = layout === 'nhwc' ? x.asNhwc(node.inputs[0]!) : x.asPlain(node.inputs[0]!);
    const out = x.outputTensor(node, layout);
    x.op(builtin, [input], [out], optionsType);
    x.setOutput(node, out, layout);
  };
}

/** PRelu: the slope (a constant, per channel in the IR's [C, 1, 1]) laid out as the input is. */
function prelu(x: ExportContext, node: Node): void {
  const layout: Layout = x.layoutOf(node.inputs[0]!) === 'nhwc' && x.shapeOf(node.inputs[0]!).length === 4 ? 'nhwc' : 'plain';
  const read = (v: string) => (layout === 'nhwc' ? x.asNhwc(v) : x.asPlain(v));
  if (!x.graph.initializers.has(node.inputs[1]!)) throw new GraphError(`node '${node.name}' (PRelu): its slope must be a constant to export it to .tflite`);
  const input = read(node.inputs[0]!);
  const slope = read(node.inputs[1]!);
  const out = x.outputTensor(node, layout);
  x.op(Op.PRELU, [input, slope], [out]);
  x.setOutput(node, out, layout);
}

/**
 * ONNX Resize of the two spatial axes → RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR, whose two
 * flags select TF's coordinate mappings: align_corners, half_pixel_centers, or neither (TF's
 * legacy asymmetric mapping). Other ONNX modes have no LiteRT equivalent and are refused.
 */
function resize(x: ExportContext, node: Node): void {
  const inShape = x.shapeOf(node.inputs[0]!);
  const outShape = x.shapeOf(node.outputs[0]!);
  const where = `node '${node.name}' (Resize)`;
  if (inShape.length !== 4 || inShape[0] !== outShape[0] || inShape[1] !== outShape[1]) throw new GraphError(`${where}: only resizing the height and width of a 4-d tensor exports to .tflite`);
  const mode = getString(node.attrs, 'mode', 'nearest');
  const coords = getString(node.attrs, 'coordinate_transformation_mode', 'half_pixel');
  const nearestMode = getString(node.attrs, 'nearest_mode', 'round_prefer_floor');
  const upscaled = outShape[2]! > 1 && outShape[3]! > 1;
  let flags: { align: boolean; half: boolean } | undefined;
  if (mode === 'linear') {
    if (coords === 'align_corners') flags = { align: true, half: false };
    else if (coords === 'half_pixel' || (coords === 'pytorch_half_pixel' && upscaled)) flags = { align: false, half: true };
    else if (coords === 'asymmetric') flags = { align: false, half: false };
  } else if (mode === 'nearest') {
    // LiteRT's nearest rounds half away from zero with align_corners and down otherwise (TF's rules).
    if (coords === 'align_corners' && nearestMode === 'round_prefer_ceil') flags = { align: true, half: false };
    else if (coords === 'tf_half_pixel_for_nn' && nearestMode === 'floor') flags = { align: false, half: true };
    else if (coords === 'asymmetric' && nearestMode === 'floor') flags = { align: false, half: false };
  }
  if (!flags) {
    throw new GraphError(
      `${where}: mode '${mode}' with coordinate_transformation_mode '${coords}'${mode === 'nearest' ? ` and nearest_mode '${nearestMode}'` : ''} has no LiteRT equivalent`,
      'LiteRT resizes linear or nearest with align_corners, half-pixel centres (tf_half_pixel_for_nn with floor for nearest) or the asymmetric mapping',
    );
  }
  const input = x.asNhwc(node.inputs[0]!);
  const size = x.intConstant(`${node.name}.size`, [outShape[2]!, outShape[3]!]);
  const out = x.outputTensor(node, 'nhwc');
  if (mode === 'linear') {
    const R = F.ResizeBilinearOptions;
    x.op(Op.RESIZE_BILINEAR, [input, size], [out], OptionsType.ResizeBilinearOptions, [
      { slot: R.align_corners, kind: 'bool', value: flags.align ? 1 : 0 },
      { slot: R.half_pixel_centers, kind: 'bool', value: flags.half ? 1 : 0 },
    ]);
  } else {
    const R = F.ResizeNearestNeighborOptions;
    x.op(Op.RESIZE_NEAREST_NEIGHBOR, [input, size], [out], OptionsType.ResizeNearestNeighborOptions, [
      { slot: R.align_corners, kind: 'bool', value: flags.align ? 1 : 0 },
      { slot: R.half_pixel_centers, kind: 'bool', value: flags.half ? 1 : 0 },
    ]);
  }
  x.setOutput(node, out, 'nhwc');
}

/** IR operator → its writer, for the operators of imported models (export.ts has the zoo's). */
export const IMPORTED_OPS: Record<string, (x: ExportContext, node: Node) => void> = {
  Transpose: transpose,
  PRelu: prelu,
  Resize: resize,
  Sigmoid: unary(Op.LOGISTIC),
  Tanh: unary(Op.TANH),
  Exp: unary(Op.EXP, OptionsType.ExpOptions),
  Sqrt: unary(Op.SQRT),
  Neg: unary(Op.NEG, OptionsType.NegOptions),
  Abs: unary(Op.ABS, OptionsType.AbsOptions),
  Floor: unary(Op.FLOOR),
};
