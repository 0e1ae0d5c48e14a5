/**
 * Offline throughput as the report shows it: images per second against batch for each model and
 * engine (the `throughput` preset: the six patterns at depth 30, width 64, batch 1–32), and the
 * seed paper's batch finding restated as throughput: the native framework's per-image time grows
 * with batch while the accelerated engine's stays flat, so the accelerated engine's throughput
 * advantage widens with batch. A software GPU's figures are the CPU's: labelled, never counted.
 */
import { geometricMean } from '../measure/index.js';
import type { StoredScenario } from '../store/index.js';
import { PATTERNS } from '../zoo/index.js';
import type { GpuAdapter } from '../engines/engine.js';
import { engineLabel } from './gpu.js';
import { lineOf } from './lines.js';
import { FLAT_TOLERANCE } from './paper-claims.js';
import type { FigureSpec } from './render.js';
import type { Figure, Finding, Table } from './types.js';

/** One offline point: a model at a batch on an engine, the best of its session counts. */
export interface ThroughputPoint {
  model: string;
  pattern: string | null;
  batch: number;
  engine: string;
  role: string;
  /** A GPU engine's adapter: a software one is labelled and never counts as acceleration. */
  gpu?: GpuAdapter;
  imagesPerS: number;
  sessions: number;
  threads: string;
  scenarioKey: string;
}

/** The offline runs that measured (failed and mismatched ones are listed, never plotted); per batch the best session count. */
export function throughputPoints(rows: StoredScenario[]): ThroughputPoint[] {
  const best = new Map<string, ThroughputPoint>();
  for (const r of rows) {
    if (r.scenario !== 'offline' || r.status !== 'ok' || r.imagesPerS === null) continue;
    const engine = engineLabel(r);
    const k = `${r.model}|${r.batch}|${engine}`;
    if ((best.get(k)?.imagesPerS ?? -1) >= r.imagesPerS) continue;
    best.set(k, { model: r.model, pattern: r.pattern, batch: r.batch, engine, role: r.engineRole, ...(r.gpuAdapter ? { gpu: r.gpuAdapter } : {}), imagesPerS: r.imagesPerS, sessions: r.sessions, threads: r.threads, scenarioKey: r.scenarioKey });
  }
  return [...best.values()];
}

const fmt = (v: number | null, digits = 4): number | null => (v === null ? null : Number(v.toPrecision(digits)));
const x = (v: number) => `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;

/** Every scenario run of this machine (offline, multi-stream, server), failed ones with their reason. */
export function scenariosTable(rows: StoredScenario[]): Table {
  return {
    columns: ['scenario', 'model', 'batch', 'engine', 'sessions', 'threads', 'status', 'images/s', 'p50 ms', 'p90 ms', 'p99 ms', 'target q/s', 'achieved q/s', 'p99 bound ms', 'p99 met', 'peak q/s', 'overlap', 'load ms', 'first-run ms', 'warm median ms', 'peak RSS MiB', 'reason'],
    rows: rows.map((r) => [
      r.scenario,
      r.model,
      r.batch,
      engineLabel(r),
      r.sessions,
      r.threads,
      r.status,
      fmt(r.imagesPerS),
      fmt(r.p50Ms),
      fmt(r.p90Ms),
      fmt(r.p99Ms),
      fmt(r.targetRatePerS),
      fmt(r.achievedRatePerS),
      r.p99BoundMs,
      r.p99Met === null ? null : r.p99Met ? 'yes' : 'no',
      fmt(r.peakRatePerS),
      r.overlapFraction === null ? null : fmt(r.overlapFraction, 2),
      fmt(r.loadMs),
      fmt(r.firstRunMs),
      fmt(r.warmMedianMs),
      r.peakRssBytes === null ? null : Math.round(r.peakRssBytes / 2 ** 20),
      r.reason,
    ]),
  };
}


/** Images per second against batch, one panel per model (patterns in the paper's order), one line per engine. */
export function throughputFigure(points: ThroughputPoint[]): Figure | undefined {
  const models = [...new Set(points.map((p) => p.model))];
  if (points.length === 0 || !models.some((m) => new Set(points.filter((p) => p.model === m).map((p) => p.batch)).size > 1)) return undefined;
  const order = (m: string) => {
    const i = PATTERNS.indexOf(points.find((p) => p.model === m)?.pattern as (typeof PATTERNS)[number]);
    return i === -1 ? PATTERNS.length : i;
  };
  const panels = [...models].sort((a, b) => order(a) - order(b));
  const batches = [...new Set(points.map((p) => p.batch))].sort((a, b) => a - b);
  const values = points.map((p) => ({ model: p.model, batch: p.batch, engine: lineOf(p), imagesPerS: p.imagesPerS, sessions: p.sessions }));
  const engineField = { field: 'engine', type: 'nominal', title: 'engine' };
  return {
    id: 'throughput-vs-batch',
    title: 'Offline throughput vs batch',
    caption: `Offline throughput (images per second, every session running back to back for the measured duration) of each model against batch size ${batches.join(', ')}, per engine; where several session counts ran, the best. The seed paper found the native framework's per-image time growing with batch while the accelerated engine's stayed flat: here that is the gap between the lines at each batch. The smallest and largest batch carry their figures. Both axes log scale.`,
    spec: {
      data: { values },
      facet: { field: 'model', type: 'nominal', sort: panels, title: null },
      columns: 3,
      spec: {
        width: 200,
        height: 170,
        encoding: {
          x: { field: 'batch', type: 'quantitative', scale: { type: 'log', base: 2 }, axis: { values: batches }, title: 'batch (log₂)' },
          y: { field: 'imagesPerS', type: 'quantitative', scale: { type: 'log', nice: false, padding: 12 }, title: 'images/s (log)' },
          color: engineField,
        },
        layer: [
          { mark: { type: 'line', point: { size: 30 } }, encoding: { shape: engineField } },
          // Each panel's scale is its own and a log axis labels few ticks: the two ends the finding
          // compares carry their figures.
          ...([[batches[0], 'left', 4], [batches[batches.length - 1], 'right', -4]] as const).map(([batch, align, dx]) => ({
            transform: [{ filter: { field: 'batch', equal: batch } }],
            mark: { type: 'text', align, dx, dy: -9, fontSize: 10 },
            encoding: { text: { field: 'imagesPerS', type: 'quantitative', format: '.1f' } },
          })),
        ],
      },
      resolve: { scale: { y: 'independent' } },
      title: { text: 'Offline throughput vs batch', subtitle: [...new Set(values.map((v) => v.engine))].join(' vs ') },
    } as unknown as FigureSpec,
    table: {
      columns: ['model', 'batch', 'engine', 'images/s', 'sessions', 'threads'],
      rows: points.map((p) => [p.model, p.batch, p.engine, fmt(p.imagesPerS), p.sessions, p.threads]),
    },
  };
}

/** Throughput at the smallest and largest batch both engines ran, per model. */
interface BatchEnds {
  model: string;
  first: number;
  last: number;
  native: [ThroughputPoint, ThroughputPoint];
  accelerated: [ThroughputPoint, ThroughputPoint];
}

function batchEnds(points: ThroughputPoint[], native: string, accelerated: string): BatchEnds[] {
  return [...new Set(points.map((p) => p.model))].flatMap((model) => {
    const at = (engine: string, b: number) => points.find((p) => p.model === model && p.engine === engine && p.batch === b);
    const shared = [...new Set(points.filter((p) => p.model === model).map((p) => p.batch))].filter((b) => at(native, b) && at(accelerated, b)).sort((a, b) => a - b);
    if (shared.length < 2) return [];
    const first = shared[0]!;
    const last = shared.at(-1)!;
    return [{ model, first, last, native: [at(native, first)!, at(native, last)!], accelerated: [at(accelerated, first)!, at(accelerated, last)!] }];
  });
}

/**
 * The paper's batch finding as throughput, computed per model from the stored runs: per-image
 * time (1 / throughput) at the largest batch over the smallest, on the native and on the
 * accelerated engine, and the accelerated engine's throughput over the native one's at both ends.
 */
export function throughputFindings(points: ThroughputPoint[]): Finding[] {
  const usable = points.filter((p) => !p.gpu?.software);
  const native = usable.find((p) => p.role === 'native')?.engine;
  const accelerated = [...new Set(usable.filter((p) => p.role === 'accelerated' || p.role === 'gpu-accelerated').map((p) => p.engine))];
  if (!native) return [];
  return accelerated.flatMap((engine) => {
    const ends = batchEnds(usable, native, engine);
    if (ends.length === 0) return [];
    const perImageGrowth = (pair: [ThroughputPoint, ThroughputPoint]) => pair[0].imagesPerS / pair[1].imagesPerS;
    const speedup = (e: BatchEnds, i: 0 | 1) => e.accelerated[i].imagesPerS / e.native[i].imagesPerS;
    const nativeGrowth = geometricMean(ends.map((e) => perImageGrowth(e.native)));
    const accGrowth = geometricMean(ends.map((e) => perImageGrowth(e.accelerated)));
    const firstGain = geometricMean(ends.map((e) => speedup(e, 0)));
    const lastGain = geometricMean(ends.map((e) => speedup(e, 1)));
    const grew = ends.filter((e) => perImageGrowth(e.native) > 1 + FLAT_TOLERANCE).length;
    const flat = ends.filter((e) => Math.abs(perImageGrowth(e.accelerated) - 1) <= FLAT_TOLERANCE).length;
    const batches = `batch ${[...new Set(ends.map((e) => e.first))].join('/')} to ${[...new Set(ends.map((e) => e.last))].join('/')}`;
    const perModel = ends.map((e) => `${e.model}: ${e.native[0].imagesPerS.toFixed(1)} → ${e.native[1].imagesPerS.toFixed(1)} vs ${e.accelerated[0].imagesPerS.toFixed(1)} → ${e.accelerated[1].imagesPerS.toFixed(1)} images/s (${x(speedup(e, 0))} → ${x(speedup(e, 1))})`);
    return [
      {
        title: `Throughput vs batch: ${native} and ${engine}`,
        text:
          `Offline, from ${batches}, ${native}'s per-image time changes by ${x(nativeGrowth)} and ${engine}'s by ${x(accGrowth)} (geometric means over ${ends.length} model${ends.length === 1 ? '' : 's'}; above 1 it grows). ` +
          `${native}'s grows by more than ${FLAT_TOLERANCE * 100}% for ${grew} of ${ends.length}, and ${engine}'s stays within ±${FLAT_TOLERANCE * 100}% for ${flat} of ${ends.length}: ` +
          `${engine}'s throughput is ${x(firstGain)} ${native}'s at the smallest batch and ${x(lastGain)} at the largest. Per model, ${native} vs ${engine}: ${perModel.join('; ')}.`,
        value: lastGain / firstGain,
        trialKeys: [...new Set(ends.flatMap((e) => [...e.native, ...e.accelerated].map((p) => p.scenarioKey)))],
      },
    ];
  });
}
