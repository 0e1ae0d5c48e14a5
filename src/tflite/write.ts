import { Builder, type Offset } from 'flatbuffers';
import type { OptionField, TfliteModel, TfliteOperator, TfliteTensor } from './model.js';
import { F, FILE_IDENTIFIER } from './schema.js';

/**
 * Serialises a `TfliteModel` with the flatbuffers runtime's Builder, table by table as
 * schema.fbs declares them. Flatbuffers are written back to front, so children (strings,
 * vectors, sub-tables) are made before the table that points at them.
 */
export function writeTflite(model: TfliteModel): Uint8Array {
  const b = new Builder(1024 + model.buffers.reduce((a, x) => a + x.byteLength + 32, 0));

  const opcodeKeys: string[] = [];
  const opcodeIndex = (op: TfliteOperator): number => {
    const key = op.custom ? `custom:${op.custom}` : String(op.builtin);
    let i = opcodeKeys.indexOf(key);
    if (i < 0) i = opcodeKeys.push(key) - 1;
    return i;
  };
  const operatorIndices = model.operators.map(opcodeIndex);

  const buffers = model.buffers.map((data) => {
    // Buffer.data is declared force_align 16: XNNPACK reads weights in place.
    let dataOffset: Offset | undefined;
    if (data.byteLength > 0) {
      dataOffset = alignedByteVector(b, data, 16);
    }
    b.startObject(3);
    if (dataOffset !== undefined) b.addFieldOffset(F.Buffer.data, dataOffset, 0);
    return b.endObject();
  });

  const tensors = model.tensors.map((t) => writeTensor(b, t));
  const operators = model.operators.map((op, i) => writeOperator(b, op, operatorIndices[i]!));

  const subgraphName = b.createString('main');
  const tensorsVec = tableVector(b, tensors);
  const inputsVec = int32Vector(b, model.inputs);
  const outputsVec = int32Vector(b, model.outputs);
  const operatorsVec = tableVector(b, operators);
  b.startObject(F.SubGraph.count);
  b.addFieldOffset(F.SubGraph.tensors, tensorsVec, 0);
  b.addFieldOffset(F.SubGraph.inputs, inputsVec, 0);
  b.addFieldOffset(F.SubGraph.outputs, outputsVec, 0);
  b.addFieldOffset(F.SubGraph.operators, operatorsVec, 0);
  b.addFieldOffset(F.SubGraph.name, subgraphName, 0);
  const subgraph = b.endObject();

  const codes = opcodeKeys.map((key) => {
    const custom = key.startsWith('custom:') ? b.createString(key.slice(7)) : undefined;
    const code = custom === undefined ? Number(key) : 32;
    b.startObject(F.OperatorCode.count);
    // Readers take the larger of the two codes; the old byte field tops out at 127.
    b.addFieldInt8(F.OperatorCode.deprecated_builtin_code, Math.min(code, 127), 0);
    if (custom !== undefined) b.addFieldOffset(F.OperatorCode.custom_code, custom, 0);
    b.addFieldInt32(F.OperatorCode.version, 1, 1);
    b.addFieldInt32(F.OperatorCode.builtin_code, code, 0);
    return b.endObject();
  });

  const signature = writeSignature(b, model);
  const description = b.createString(model.description);
  const codesVec = tableVector(b, codes);
  const subgraphsVec = tableVector(b, [subgraph]);
  const buffersVec = tableVector(b, buffers);
  const signaturesVec = tableVector(b, [signature]);
  b.startObject(F.Model.count);
  b.addFieldInt32(F.Model.version, model.version, 0);
  b.addFieldOffset(F.Model.operator_codes, codesVec, 0);
  b.addFieldOffset(F.Model.subgraphs, subgraphsVec, 0);
  b.addFieldOffset(F.Model.description, description, 0);
  b.addFieldOffset(F.Model.buffers, buffersVec, 0);
  b.addFieldOffset(F.Model.signature_defs, signaturesVec, 0);
  b.finish(b.endObject(), FILE_IDENTIFIER);
  return b.asUint8Array();
}

function writeTensor(b: Builder, t: TfliteTensor): Offset {
  const name = b.createString(t.name);
  const shape = int32Vector(b, t.shape);
  let quant: Offset | undefined;
  if (t.quantization) {
    const scale = float32Vector(b, t.quantization.scale);
    b.startVector(8, t.quantization.zeroPoint.length, 8);
    for (let i = t.quantization.zeroPoint.length - 1; i >= 0; i--) b.addInt64(BigInt(t.quantization.zeroPoint[i]!));
    const zeroPoint = b.endVector();
    b.startObject(7);
    b.addFieldOffset(F.Quantization.scale, scale, 0);
    b.addFieldOffset(F.Quantization.zero_point, zeroPoint, 0);
    b.addFieldInt32(F.Quantization.quantized_dimension, t.quantization.axis, 0);
    quant = b.endObject();
  }
  b.startObject(F.Tensor.count);
  b.addFieldOffset(F.Tensor.shape, shape, 0);
  b.addFieldInt8(F.Tensor.type, t.type, 0);
  b.addFieldInt32(F.Tensor.buffer, t.buffer, 0);
  b.addFieldOffset(F.Tensor.name, name, 0);
  if (quant !== undefined) b.addFieldOffset(F.Tensor.quantization, quant, 0);
  return b.endObject();
}

function writeOperator(b: Builder, op: TfliteOperator, opcodeIndex: number): Offset {
  const inputs = int32Vector(b, op.inputs);
  const outputs = int32Vector(b, op.outputs);
  const options = op.options ? writeOptions(b, op.options.fields) : undefined;
  b.startObject(F.Operator.count);
  b.addFieldInt32(F.Operator.opcode_index, opcodeIndex, 0);
  b.addFieldOffset(F.Operator.inputs, inputs, 0);
  b.addFieldOffset(F.Operator.outputs, outputs, 0);
  if (op.options && options !== undefined) {
    b.addFieldInt8(F.Operator.builtin_options_type, op.options.type, 0);
    b.addFieldOffset(F.Operator.builtin_options, options, 0);
  }
  return b.endObject();
}

function writeOptions(b: Builder, fields: OptionField[]): Offset {
  const vectors = new Map<number, Offset>();
  for (const f of fields) if (f.kind === 'int32s') vectors.set(f.slot, int32Vector(b, f.value));
  const slots = fields.reduce((a, f) => Math.max(a, f.slot + 1), 0);
  b.startObject(slots);
  for (const f of fields) {
    // Defaults are written too (forceDefaults is off, so a default-valued scalar is simply absent).
    if (f.kind === 'int8' || f.kind === 'bool') b.addFieldInt8(f.slot, f.value, 0);
    else if (f.kind === 'int32') b.addFieldInt32(f.slot, f.value, 0);
    else if (f.kind === 'float32') b.addFieldFloat32(f.slot, f.value, 0);
    else b.addFieldOffset(f.slot, vectors.get(f.slot)!, 0);
  }
  return b.endObject();
}

function writeSignature(b: Builder, model: TfliteModel): Offset {
  const maps = (indices: number[]) =>
    indices.map((i) => {
      const name = b.createString(model.tensors[i]!.name);
      b.startObject(F.TensorMap.count);
      b.addFieldOffset(F.TensorMap.name, name, 0);
      b.addFieldInt32(F.TensorMap.tensor_index, i, 0);
      return b.endObject();
    });
  const inputs = tableVector(b, maps(model.inputs));
  const outputs = tableVector(b, maps(model.outputs));
  const key = b.createString('serving_default');
  b.startObject(F.SignatureDef.count);
  b.addFieldOffset(F.SignatureDef.inputs, inputs, 0);
  b.addFieldOffset(F.SignatureDef.outputs, outputs, 0);
  b.addFieldOffset(F.SignatureDef.signature_key, key, 0);
  b.addFieldInt32(F.SignatureDef.subgraph_index, 0, 0);
  return b.endObject();
}

/**
 * A byte vector aligned to `alignment`, copied in one block: the Builder's own createByteVector
 * aligns to 1, and adding megabytes of weights byte by byte takes seconds. This reaches the
 * Builder's buffer and write position the way createByteVector itself does.
 */
function alignedByteVector(b: Builder, data: Uint8Array, alignment: number): Offset {
  b.startVector(1, data.byteLength, alignment);
  const inner = b as unknown as { bb: { setPosition(p: number): void; bytes(): Uint8Array }; space: number };
  inner.space -= data.byteLength;
  inner.bb.setPosition(inner.space);
  inner.bb.bytes().set(data, inner.space);
  return b.endVector();
}

function tableVector(b: Builder, offsets: Offset[]): Offset {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}

function int32Vector(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
  return b.endVector();
}

function float32Vector(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]!);
  return b.endVector();
}
