/**
 * FP16 conversion: weights and compute in float16, the model's inputs and outputs kept float32
 * behind Casts so that every engine still feeds and reads float32. Whether onnxruntime then
 * computes in float16 depends on its CPU kernels: where one lacks a float16 version it inserts
 * casts back to float32 around it (see the kernel precision of its profile).
 */
import { consumersOf, DT, encodeModel, floatValues, NameSource, preOptimize, tensorMsg, type ModelMsg, type NodeMsg, type TensorMsg } from './onnx-model.js';
import { toHalf } from './half.js';

/** Inputs that stay float32 whatever the compute type (ONNX types them apart from T). */
const FLOAT32_INPUTS: Record<string, number[]> = { Resize: [1, 2], Upsample: [1] };

export interface Fp16Summary {
  /** Initializers stored as float16. */
  convertedTensors: number;
  /** Casts added at the model's inputs and outputs. */
  boundaryCasts: number;
}

export async function convertToFp16(fp32: Uint8Array): Promise<{ onnx: Uint8Array; summary: Fp16Summary }> {
  const { model, summary } = fp16Model(await preOptimize(fp32));
  return { onnx: encodeModel(model), summary };
}

export function fp16Model(model: ModelMsg): { model: ModelMsg; summary: Fp16Summary } {
  const graph = model.graph!;
  const names = new NameSource(graph);
  const keepFloat = new Set<string>();
  for (const n of graph.node ?? []) for (const i of FLOAT32_INPUTS[n.op_type ?? ''] ?? []) if (n.input?.[i]) keepFloat.add(n.input[i]!);
  let convertedTensors = 0;
  const half = (t: TensorMsg): TensorMsg => {
    if (t.data_type !== DT.float || keepFloat.has(t.name ?? '')) return t;
    convertedTensors++;
    return tensorMsg(t.name ?? '', (t.dims ?? []).map(Number), DT.float16, toHalf(floatValues(t)));
  };

  const nodes: NodeMsg[] = (graph.node ?? []).map((n) => ({
    ...n,
    input: [...(n.input ?? [])],
    output: [...(n.output ?? [])],
    attribute: (n.attribute ?? []).map((a) => {
      if (n.op_type === 'Constant' && a.name === 'value' && a.t) return { ...a, t: half(a.t) };
      if (n.op_type === 'Cast' && a.name === 'to' && Number(a.i) === DT.float) return { ...a, i: DT.float16 };
      return a;
    }),
  }));
  const consumers = consumersOf({ node: nodes });
  const head: NodeMsg[] = [];
  const tail: NodeMsg[] = [];
  const cast = (input: string, output: string, to: number): NodeMsg => ({ name: names.fresh(`${output}_Cast`), op_type: 'Cast', input: [input], output: [output], attribute: [{ name: 'to', type: 2, i: to }] });
  const isFloat = (v: { type?: { tensor_type?: { elem_type?: number } } }) => v.type?.tensor_type?.elem_type === DT.float;
  for (const input of graph.input ?? []) {
    if (!isFloat(input)) continue;
    const name = input.name!;
    const halfName = names.fresh(`${name}_fp16`);
    head.push(cast(name, halfName, DT.float16));
    for (const n of consumers.get(name) ?? []) n.input = n.input!.map((v) => (v === name ? halfName : v));
  }
  for (const output of graph.output ?? []) {
    if (!isFloat(output)) continue;
    const name = output.name!;
    const halfName = names.fresh(`${name}_fp16`);
    for (const n of nodes) {
      n.output = n.output!.map((v) => (v === name ? halfName : v));
      n.input = n.input!.map((v) => (v === name ? halfName : v));
    }
    tail.push(cast(halfName, name, DT.float));
  }
  return {
    model: { ...model, graph: { ...graph, node: [...head, ...nodes, ...tail], initializer: (graph.initializer ?? []).map(half), value_info: [] } as typeof graph },
    summary: { convertedTensors, boundaryCasts: head.length + tail.length },
  };
}
