import { inferShapes, type Graph } from '../ir/index.js';
import { runOnce } from './ort-run.js';
import { seededNormal } from './random.js';

/** Smallest positive normal float32; nonzero values below it are subnormal (slow on CPUs). */
export const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

export interface LayerHealth {
  name: string;
  op: string;
  mean: number;
  std: number;
  /** Fraction of values that are nonzero and smaller in magnitude than the smallest normal float. */
  subnormalFraction: number;
  /** Count of NaN or infinite values. */
  nonFinite: number;
}

export interface HealthReport {
  batch: number;
  seed: number;
  layers: LayerHealth[];
  /** Smallest and largest per-layer standard deviation, and the worst subnormal fraction. */
  minStd: number;
  maxStd: number;
  maxSubnormalFraction: number;
  nonFinite: number;
}

/** Healthy: no NaN/Inf, no subnormals, every layer's spread within these bounds. */
export const HEALTHY_STD_RANGE: [number, number] = [1e-3, 1e3];

export function isHealthy(r: HealthReport): boolean {
  return r.nonFinite === 0 && r.maxSubnormalFraction === 0 && r.minStd >= HEALTHY_STD_RANGE[0] && r.maxStd <= HEALTHY_STD_RANGE[1];
}

export interface HealthOptions {
  batch?: number;
  /** Seed of the N(0,1) input. */
  seed?: number;
}

/**
 * Runs the model once in onnxruntime on a seeded N(0,1) input with every layer's output exposed,
 * and reports each layer's activation mean, standard deviation and subnormal fraction.
 */
export async function activationHealth(graph: Graph, options: HealthOptions = {}): Promise<HealthReport> {
  const batch = options.batch ?? 1;
  const seed = options.seed ?? 1;
  const input = graph.inputs[0]!;
  const batchSymbol = input.type.shape[0];
  const types = inferShapes(graph, typeof batchSymbol === 'string' ? { [batchSymbol]: batch } : {});
  const dims = input.type.shape.map((d, i) => (i === 0 ? batch : d)) as number[];
  const probed = graph.nodes.filter((n) => types.get(n.outputs[0]!)?.dtype === 'float32');
  const declared = new Set(graph.outputs.map((o) => o.name));
  const withOutputs: Graph = {
    ...graph,
    outputs: [
      ...graph.outputs,
      ...probed.filter((n) => !declared.has(n.outputs[0]!)).map((n) => ({ name: n.outputs[0]!, type: types.get(n.outputs[0]!)! })),
    ],
  };
  const data = seededNormal(seed, 'input', dims.reduce((a, b) => a * b, 1), 1);
  const values = await runOnce(withOutputs, { name: input.name, dims, data }, probed.map((n) => n.outputs[0]!));
  const layers = probed.map((n) => ({ name: n.name, op: n.op, ...summarize(values.get(n.outputs[0]!)!) }));
  return {
    batch,
    seed,
    layers,
    minStd: Math.min(...layers.map((l) => l.std)),
    maxStd: Math.max(...layers.map((l) => l.std)),
    maxSubnormalFraction: Math.max(0, ...layers.map((l) => l.subnormalFraction)),
    nonFinite: layers.reduce((a, l) => a + l.nonFinite, 0),
  };
}

function summarize(v: Float32Array): Omit<LayerHealth, 'name' | 'op'> {
  let sum = 0;
  let sumSq = 0;
  let finite = 0;
  let subnormal = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) continue;
    finite++;
    sum += x;
    sumSq += x * x;
    if (x !== 0 && Math.abs(x) < FLOAT32_MIN_NORMAL) subnormal++;
  }
  const mean = finite > 0 ? sum / finite : Number.NaN;
  const variance = finite > 0 ? Math.max(0, sumSq / finite - mean * mean) : Number.NaN;
  return { mean, std: Math.sqrt(variance), subnormalFraction: v.length ? subnormal / v.length : 0, nonFinite: v.length - finite };
}
