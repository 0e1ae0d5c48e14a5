import { type Graph } from '../ir/index.js';
import { GraphExtender, runOnce } from './ort-run.js';
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
  /** True when the layer holds NaN or infinite values (its sums are not finite). */
  nonFinite: boolean;
}

export interface HealthReport {
  batch: number;
  seed: number;
  layers: LayerHealth[];
  /** Smallest and largest per-layer standard deviation, and the worst subnormal fraction. */
  minStd: number;
  maxStd: number;
  maxSubnormalFraction: number;
  /** Layers holding NaN or infinite values. */
  nonFiniteLayers: number;
}

/** Healthy: no NaN/Inf, no subnormals, every layer's spread within these bounds. */
export const HEALTHY_STD_RANGE: [number, number] = [1e-3, 1e3];

export function isHealthy(r: HealthReport): boolean {
  return r.nonFiniteLayers === 0 && r.maxSubnormalFraction === 0 && r.minStd >= HEALTHY_STD_RANGE[0] && r.maxStd <= HEALTHY_STD_RANGE[1];
}

export interface HealthOptions {
  batch?: number;
  /** Seed of the N(0,1) input. */
  seed?: number;
}

/**
 * Runs the model once in onnxruntime on a seeded N(0,1) input and reports each layer's activation
 * mean, standard deviation and subnormal fraction. The statistics are computed inside the graph
 * (reductions appended to every layer's output), so only a few scalars per layer come back.
 */
export async function activationHealth(graph: Graph, options: HealthOptions = {}): Promise<HealthReport> {
  const batch = options.batch ?? 1;
  const seed = options.seed ?? 1;
  const probe = new GraphExtender(graph, batch);
  const scalarMean = { keepdims: { type: 'int' as const, value: 0 } };
  const toFloat = { to: { type: 'int' as const, value: 1 } };
  const minNormal = probe.scalar('health.min_normal', FLOAT32_MIN_NORMAL);
  const zero = probe.scalar('health.zero', 0);
  const probes: { name: string; op: string; mean: string; meanSquare: string; subnormal: string }[] = [];
  for (const node of graph.nodes) {
    probe.keep(node);
    const x = node.outputs[0]!;
    if (probe.types.get(x)?.dtype !== 'float32') continue;
    const p = `health.${node.name}`;
    const abs = probe.add('Abs', `${p}.abs`, [x]);
    const tiny = probe.add('And', `${p}.tiny`, [probe.add('Less', `${p}.lt`, [abs, minNormal]), probe.add('Greater', `${p}.gt`, [abs, zero])]);
    probes.push({
      name: node.name,
      op: node.op,
      mean: probe.expose(probe.add('ReduceMean', `${p}.mean`, [x], scalarMean)),
      meanSquare: probe.expose(probe.add('ReduceMean', `${p}.ms`, [probe.add('Mul', `${p}.sq`, [x, x])], scalarMean)),
      subnormal: probe.expose(probe.add('ReduceMean', `${p}.sub`, [probe.add('Cast', `${p}.subf`, [tiny], toFloat)], scalarMean)),
    });
  }
  const data = seededNormal(seed, 'input', probe.input.dims.reduce((a, b) => a * b, 1), 1);
  const values = await runOnce(probe.graph, { ...probe.input, data }, probes.flatMap((p) => [p.mean, p.meanSquare, p.subnormal]));
  const layers: LayerHealth[] = probes.map((p) => {
    const mean = values.get(p.mean)![0]!;
    const meanSquare = values.get(p.meanSquare)![0]!;
    const nonFinite = !Number.isFinite(mean) || !Number.isFinite(meanSquare);
    return {
      name: p.name,
      op: p.op,
      mean,
      std: nonFinite ? Number.NaN : Math.sqrt(Math.max(0, meanSquare - mean * mean)),
      subnormalFraction: values.get(p.subnormal)![0]!,
      nonFinite,
    };
  });
  const finite = layers.filter((l) => !l.nonFinite);
  return {
    batch,
    seed,
    layers,
    // Loops, not spreads: spreading a long graph's layers overflows the call stack.
    minStd: finite.reduce((a, l) => Math.min(a, l.std), Infinity),
    maxStd: finite.reduce((a, l) => Math.max(a, l.std), -Infinity),
    maxSubnormalFraction: layers.reduce((a, l) => Math.max(a, l.subnormalFraction), 0),
    nonFiniteLayers: layers.length - finite.length,
  };
}
