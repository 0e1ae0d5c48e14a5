import { ConstTensor, type Graph, type Node } from '../ir/index.js';
import { seededNormal } from './random.js';
import { GraphExtender, runOnce } from './ort-run.js';

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
 * Sets every BatchNorm so that, on a seeded N(0,1) input, it outputs root-mean-square `gain`:
 * mean 0 and one variance for all channels, equal to its input's mean square over the whole
 * layer. Random-weight activations then keep a healthy scale through any depth instead of
 * drifting towards subnormal floats or overflow.
 *
 * Why one scale per layer rather than per-channel mean and variance: at depth, a plain stack's
 * channels become nearly constant across pixels, so per-channel statistics of one calibration
 * input divide by tiny spreads, and any other input's differences are amplified block after
 * block (measured: per-layer std up to 10⁶ after 50 factorized or depthwise-separable blocks).
 * A per-layer scale keeps the network as well-conditioned as He initialisation intends.
 *
 * All BatchNorms are calibrated in one onnxruntime pass: a copy of the graph replaces each BN by
 * the same normalisation computed from the batch itself, and returns each layer's mean square;
 * every BN thus sees the input it will see at inference.
 */
export async function calibrateBatchNorm(graph: Graph, options: CalibrationOptions = {}): Promise<Graph> {
  const bnNodes = graph.nodes.filter((n) => n.op === 'BatchNormalization');
  if (bnNodes.length === 0) return graph;
  const batch = options.batch ?? 1;
  const gainOf = (node: Node) => options.gains?.get(node.name) ?? 1;

  const calibration = new GraphExtender(graph, batch);
  const meanSquares = new Map<Node, string>();
  for (const node of graph.nodes) {
    if (node.op !== 'BatchNormalization') {
      calibration.keep(node);
      continue;
    }
    const x = node.inputs[0]!;
    const p = `${node.name}.calib`;
    const meanSquare = calibration.add('ReduceMean', `${p}.ms`, [calibration.add('Mul', `${p}.sq`, [x, x])], { keepdims: { type: 'int', value: 1 } });
    const eps = calibration.scalar(`${p}.eps`, epsilonOf(node));
    const rms = calibration.add('Sqrt', `${p}.rms`, [calibration.add('Add', `${p}.ms_eps`, [meanSquare, eps])]);
    const normalised = calibration.add('Div', `${p}.norm`, [x, rms]);
    calibration.add('Mul', `${p}.out`, [normalised, calibration.scalar(`${p}.gain`, gainOf(node))], {}, node.outputs[0]);
    meanSquares.set(node, calibration.expose(meanSquare));
  }
  const input = calibration.input;
  const data = seededNormal(options.seed ?? CALIBRATION_SEED, 'calibration-input', input.dims.reduce((a, b) => a * b, 1), 1);
  const stats = await runOnce(calibration.graph, { ...input, data }, [...meanSquares.values()]);

  const initializers = new Map(graph.initializers);
  for (const [node, name] of meanSquares) {
    const [, scale, shift, mean, variance] = node.inputs as [string, string, string, string, string];
    const channels = graph.initializers.get(scale)!.elementCount;
    const filled = (v: number) => ConstTensor.fromFloat32([channels], new Float32Array(channels).fill(v));
    initializers.set(scale, filled(gainOf(node)));
    initializers.set(shift, filled(0));
    initializers.set(mean, filled(0));
    initializers.set(variance, filled(stats.get(name)![0]!));
  }
  return { ...graph, initializers, metadata: { ...graph.metadata, 'formbench.calibrated': 'batchnorm-layer-rms' } };
}

function epsilonOf(node: Node): number {
  const e = node.attrs['epsilon'];
  return e && e.type === 'float' ? e.value : 1e-5;
}
