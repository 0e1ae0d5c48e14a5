import { attr, ConstTensor, type DType } from '../ir/index.js';
import { asDtype, boolAttr, intAttr, irDtypeOf, plain, plainOperand, rank, result, value, type OpContext, type OpImporter, type TfValue } from './graph-context.js';

/**
 * The TF ops of trained models' post-processing (keypoint and box decoding): casts between
 * floats, integers and bools, ArgMax/TopK and the gathers that read what they index, integer
 * floor division, and packing/unpacking along an axis. They work in TF's own (NHWC) order on
 * whatever rank they get; a 4-d result is held as NCHW like every other (graph-context.ts).
 */
export const INDEXING_IMPORTERS: Record<string, OpImporter> = {
  Cast: (c) => {
    const dst = c.node.attr?.['DstT']?.type;
    const to = irDtypeOf(dst) ?? c.fail(`a cast to ${dst} is not supported (only to floats, integers and bool)`);
    const x = c.inputs[0]!;
    if (x.kind === 'const') return { kind: 'const', tensor: asDtype(x.tensor, to) };
    // The IR's own type decides, not SrcT: an integer image input is a float32 input here.
    if (c.b.dtype(x.name) === to) return x;
    return value(c.b.add('Cast', c.node.name, [x.name], { to: attr.int(ONNX_TYPE_CODES[to]!) }), x.nchw);
  },
  ArgMax: (c) => {
    const x = plain(c, c.value(0));
    const axis = Number(c.constant(1).integers()[0]);
    return result(c, c.b.add('ArgMax', c.node.name, [x], { axis: attr.int(axis < 0 ? axis + rank(c, x) : axis), keepdims: attr.int(0) }));
  },
  TopKV2: (c) => {
    const x = plain(c, c.value(0));
    const k = c.b.int64(`${c.node.name}.k`, [Number(c.constant(1).integers()[0])]);
    const [values, indices] = c.b.addMulti('TopK', c.node.name, [x, k], 2, { axis: attr.int(-1), largest: attr.int(1), sorted: attr.int(boolAttr(c.node, 'sorted') || c.node.attr?.['sorted'] === undefined ? 1 : 0) });
    return [result(c, values!), result(c, indices!)];
  },
  GatherV2: (c) => {
    if (intAttr(c.node, 'batch_dims', 0) !== 0) c.fail('batch_dims other than 0 is not supported');
    const data = plainOperand(c, 0);
    const axis = Number(c.constant(2).integers()[0]);
    return result(c, c.b.add('Gather', c.node.name, [data, plainOperand(c, 1, 'int64')], { axis: attr.int(axis < 0 ? axis + rank(c, data) : axis) }));
  },
  GatherNd: (c) => result(c, c.b.add('GatherND', c.node.name, [plainOperand(c, 0), plainOperand(c, 1, 'int64')])),
  FloorDiv: (c) => {
    const [a, b, dtype] = sameTypeOperands(c);
    const n = c.node.name;
    if (dtype === 'float32') return result(c, c.b.add('Floor', n, [c.b.add('Div', `${n}/div`, [a, b])]));
    // ONNX's integer Div truncates; a − floor_mod(a, b) is an exact multiple of b, so dividing
    // it truncates to the floor quotient whatever the signs.
    const mod = c.b.add('Mod', `${n}/mod`, [a, b], { fmod: attr.int(0) });
    return result(c, c.b.add('Div', n, [c.b.add('Sub', `${n}/sub`, [a, mod]), b]));
  },
  FloorMod: (c) => {
    const [a, b, dtype] = sameTypeOperands(c);
    const n = c.node.name;
    if (dtype !== 'float32') return result(c, c.b.add('Mod', n, [a, b], { fmod: attr.int(0) }));
    // ONNX's Mod takes floats only as fmod (the dividend's sign); TF's FloorMod is a − ⌊a/b⌋·b.
    const floor = c.b.add('Floor', `${n}/floor`, [c.b.add('Div', `${n}/div`, [a, b])]);
    return result(c, c.b.add('Sub', n, [a, c.b.add('Mul', `${n}/mul`, [floor, b])]));
  },
  ExpandDims: (c) => {
    const x = c.inputs[0]!;
    const axisOf = (r: number) => {
      const d = Number(c.constant(1).integers()[0]);
      return d < 0 ? d + r + 1 : d;
    };
    if (x.kind === 'const') {
      const dims = [...x.tensor.dims];
      dims.splice(axisOf(dims.length), 0, 1);
      return { kind: 'const', tensor: new ConstTensor(x.tensor.dtype, dims, x.tensor.bytes()) };
    }
    const p = plain(c, x);
    return result(c, c.b.add('Unsqueeze', c.node.name, [p, c.b.int64(`${c.node.name}.axes`, [axisOf(rank(c, p))])]));
  },
  Pack: (c) => {
    const dtype = computedDtype(c);
    const parts = c.inputs.map((_, i) => plainOperand(c, i, dtype));
    const r = rank(c, parts[0]!) + 1;
    const a = intAttr(c.node, 'axis', 0);
    const axis = a < 0 ? a + r : a;
    const n = c.node.name;
    const lifted = parts.map((p, i) => c.b.add('Unsqueeze', `${n}/unsqueeze${i}`, [p, c.b.int64(`${n}.axes${i}`, [axis])]));
    return result(c, c.b.add('Concat', n, lifted, { axis: attr.int(axis) }));
  },
  Unpack: (c) => {
    const x = plain(c, c.value(0));
    const r = rank(c, x);
    const a = intAttr(c.node, 'axis', 0);
    const axis = a < 0 ? a + r : a;
    const count = intAttr(c.node, 'num', Number(c.b.shape(x)[axis]));
    if (!Number.isInteger(count) || count < 1) c.fail(`the unpacked axis ${axis} has no static size`);
    const n = c.node.name;
    const parts = c.b.addMulti('Split', `${n}/split`, [x, c.b.int64(`${n}.sizes`, Array(count).fill(1))], count, { axis: attr.int(axis) });
    return parts.map((p, k) => result(c, c.b.add('Squeeze', k === 0 ? n : `${n}:${k}`, [p, c.b.int64(`${n}.axes${k}`, [axis])])));
  },
};

/** ONNX TensorProto.DataType codes of the IR types a Cast writes. */
const ONNX_TYPE_CODES: Partial<Record<DType, number>> = { float32: 1, int64: 7, bool: 9 };

/** The element type of the node's computed inputs (constants follow it). */
function computedDtype(c: OpContext): DType | undefined {
  const v = c.inputs.find((x): x is Extract<TfValue, { kind: 'value' }> => x.kind === 'value');
  return v ? c.b.dtype(v.name) : undefined;
}

function sameTypeOperands(c: OpContext): [string, string, DType] {
  const dtype = computedDtype(c);
  if (!dtype) c.fail('both operands are constants');
  return [plainOperand(c, 0, dtype), plainOperand(c, 1, dtype), dtype!];
}
