import { attr, ConstTensor, inferShapes, type Graph, type Node } from '../ir/index.js';
import { seededNormal } from './random.js';
import { runOnce } from './ort-run.js';

export interface CalibrationOptions {
  /** Batch of the calibration input (seeded N(0,1) values at the model's resolution). */
  batch?: number;
  seed?: number;
  /** Gain per BatchNorm name (residual branches); default 1. */
  gains?: Map<string, number>;
}

/** Seed of the calibration input; distinct from the seeds trials use for their inputs. */
export const CALIBRATION_SEED = 0x5eed;

/**
 * Sets every BatchNorm's running statistics so that, on a seeded N(0,1) input, each BN outputs
 * zero mean and standard deviation `gain` per channel — so random-weight activations keep a
 * healthy scale through any depth instead of drifting towards subnormal floats.
 *
 * All BNs are calibrated in one forward pass: a calibration copy of the graph replaces each BN by
 * the same normalisation computed from the batch's own statistics (ReduceMean, Sub, Mul, Sqrt,
 * Div) and returns those statistics; because every BN then normalises exactly as the calibrated
 * inference-mode BN will, each layer sees the input it will see at inference.
 */
export async function calibrateBatchNorm(graph: Graph, options: CalibrationOptions = {}): Promise<Graph> {
  const bnNodes = graph.nodes.filter((n) => n.op === 'BatchNormalization');
  if (bnNodes.length === 0) return graph;
  const batch = options.batch ?? 1;
  const input = graph.inputs[0]!;
  const dims = input.type.shape.map((d, i) => (i === 0 ? batch : d)) as number[];
  const types = inferShapes(graph, typeof input.type.shape[0] === 'string' ? { [input.type.shape[0]]: batch } : {});

  const statsGraph: Graph = { ...graph, nodes: [], initializers: new Map(graph.initializers), outputs: [...graph.outputs] };
  const statNames = new Map<Node, { mean: string; variance: string }>();
  for (const node of graph.nodes) {
    if (node.op !== 'BatchNormalization') {
      statsGraph.nodes.push(node);
      continue;
    }
    const rank = types.get(node.inputs[0]!)!.shape.length;
    const axes = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== 1);
    const gain = options.gains?.get(node.name) ?? 1;
    const p = `${node.name}.calib`;
    const eps = `${p}.eps`;
    const gainName = `${p}.gain`;
    statsGraph.initializers.set(eps, ConstTensor.fromFloat32([], Float32Array.of(epsilonOf(node))));
    statsGraph.initializers.set(gainName, ConstTensor.fromFloat32([], Float32Array.of(gain)));
    const reduce = { axes: attr.ints(axes), keepdims: attr.int(1) };
    const n = (op: string, suffix: string, inputs: string[], attrs = {}): string => {
      statsGraph.nodes.push({ name: `${p}.${suffix}`, op, inputs, outputs: [`${p}.${suffix}`], attrs });
      return `${p}.${suffix}`;
    };
    const mean = n('ReduceMean', 'mean', [node.inputs[0]!], reduce);
    const centred = n('Sub', 'centred', [node.inputs[0]!, mean]);
    const variance = n('ReduceMean', 'var', [n('Mul', 'sq', [centred, centred])], reduce);
    const std = n('Sqrt', 'std', [n('Add', 'var_eps', [variance, eps])]);
    const normalised = n('Div', 'norm', [centred, std]);
    statsGraph.nodes.push({ name: `${p}.out`, op: 'Mul', inputs: [normalised, gainName], outputs: [node.outputs[0]!], attrs: {} });
    statNames.set(node, { mean, variance });
    const statShape = types.get(node.inputs[0]!)!.shape.map((d, i) => (i === 1 ? d : 1));
    for (const name of [mean, variance]) statsGraph.outputs.push({ name, type: { dtype: 'float32', shape: statShape } });
  }
  const data = seededNormal(options.seed ?? CALIBRATION_SEED, 'calibration-input', dims.reduce((a, b) => a * b, 1), 1);
  const stats = await runOnce(statsGraph, { name: input.name, dims, data }, [...statNames.values()].flatMap((s) => [s.mean, s.variance]));

  const initializers = new Map(graph.initializers);
  for (const [node, names] of statNames) {
    const channels = stats.get(names.mean)!.length;
    const gain = options.gains?.get(node.name) ?? 1;
    const [, scale, shift, mean, variance] = node.inputs as [string, string, string, string, string];
    initializers.set(scale, ConstTensor.fromFloat32([channels], new Float32Array(channels).fill(gain)));
    initializers.set(shift, ConstTensor.fromFloat32([channels], new Float32Array(channels)));
    initializers.set(mean, ConstTensor.fromFloat32([channels], Float32Array.from(stats.get(names.mean)!)));
    initializers.set(variance, ConstTensor.fromFloat32([channels], Float32Array.from(stats.get(names.variance)!)));
  }
  return { ...graph, initializers, metadata: { ...graph.metadata, 'formbench.calibrated': 'batchnorm' } };
}

function epsilonOf(node: Node): number {
  const e = node.attrs['epsilon'];
  return e && e.type === 'float' ? e.value : 1e-5;
}
