import { attr, consumers, getInt, getInts, type Graph, type Node } from './graph.js';
import { inferShapes, leadingDimBindings } from './infer.js';

/**
 * Folds an explicit zero Pad of the spatial axes into the Conv (or a −∞/−FLT_MAX Pad into the
 * MaxPool) it alone feeds, and a ReduceMean over height and width that keeps them into a
 * GlobalAveragePool. Formats without asymmetric or per-op padding (.tflite: SAME/VALID only)
 * write such pads as operators of their own, and a model read back from such a file ran about
 * three times slower on onnxruntime than the same network written directly (README, .tflite and
 * LiteRT). The result computes the same values: the padding is the same, only its place changes.
 */
export function foldPadsIntoWindows(graph: Graph): Graph {
  const readers = consumers(graph);
  const types = inferShapes(graph, leadingDimBindings(graph, 1));
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const removed = new Set<Node>();
  for (const node of graph.nodes) {
    if (node.op !== 'Pad' || outputs.has(node.outputs[0]!)) continue;
    const next = readers.get(node.outputs[0]!) ?? [];
    if (next.length !== 1) continue;
    const target = next[0]!;
    const pads = graph.initializers.get(node.inputs[1] ?? '')?.integers();
    if (!pads || pads.length !== 8 || node.attrs['mode'] && node.attrs['mode'].type === 'string' && node.attrs['mode'].value !== 'constant') continue;
    // Only height and width padded (NCHW axes 2 and 3), none negative.
    if (pads.some((p) => p < 0) || pads[0] || pads[1] || pads[4] || pads[5]) continue;
    const fill = node.inputs[2] ? graph.initializers.get(node.inputs[2])?.float32()[0] : 0;
    const conv = target.op === 'Conv' && fill === 0;
    const maxPool = target.op === 'MaxPool' && fill !== undefined && fill <= -3.4e38 && getInt(target.attrs, 'ceil_mode', 0) === 0;
    if (!conv && !maxPool) continue;
    if (target.inputs[0] !== node.outputs[0]) continue;
    const old = getInts(target.attrs, 'pads') ?? [0, 0, 0, 0];
    target.attrs['pads'] = attr.ints([old[0]! + pads[2]!, old[1]! + pads[3]!, old[2]! + pads[6]!, old[3]! + pads[7]!]);
    target.inputs[0] = node.inputs[0]!;
    removed.add(node);
  }
  for (const node of graph.nodes) {
    if (node.op !== 'ReduceMean') continue;
    const axes = getInts(node.attrs, 'axes');
    if (getInt(node.attrs, 'keepdims', 1) !== 1 || !axes || axes.length !== 2 || !axes.includes(2) || !axes.includes(3)) continue;
    if (types.get(node.inputs[0]!)?.shape.length !== 4) continue;
    node.op = 'GlobalAveragePool';
    node.attrs = {};
  }
  return { ...graph, nodes: graph.nodes.filter((n) => !removed.has(n)) };
}
