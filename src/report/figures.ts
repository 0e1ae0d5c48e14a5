import { PATTERNS } from '../zoo/index.js';
import { counted, macCorrelations, missCorrelations } from './correlations.js';
import { depthSeries, widthSeries } from './data.js';
import { FIDELITY_COLUMNS, fidelityCells } from './fidelity.js';
import { describeAdapters, engineLabel, onHardwareGpu, onSoftwareGpu, SOFTWARE_GPU_WHY } from './gpu.js';
import { lineOf } from './lines.js';
import { precisionFigures } from './precision.js';
import { throughputFigure, throughputPoints } from './throughput.js';
import type { FigureSpec } from './render.js';
import type { Figure, LatencyPoint, ReportData, SpeedupPoint, Table } from './types.js';

const PATTERN_ORDER = [...PATTERNS] as string[];
const fmt = (v: number | null, digits = 3): number | null => (v === null ? null : Number(v.toPrecision(digits + 1)));
const ms = (p: LatencyPoint) => ({ ms: p.medianMs, lo: p.ciLowMs, hi: p.ciHighMs });

/** Every figure the data supports, in the report's order; a figure without data is left out. */
export function buildFigures(data: ReportData): Figure[] {
  return [
    ...[latencyVsDepth(data), latencyVsWidth(data), networkSpeedups(data), latencyVsMacs(data), speedupHeatmap(data), roofline(data), missesAlong(data, DEPTH_SWEEP), missesAlong(data, WIDTH_SWEEP), missesVsLatency(data)].filter(
      (f): f is Figure => f !== undefined,
    ),
    ...precisionFigures(data.rows),
    ...[throughputFigure(throughputPoints(data.scenarios))].filter((f): f is Figure => f !== undefined),
  ];
}

const latencyTable = (points: LatencyPoint[]): Table => ({
  columns: ['model', 'batch', 'engine', 'median ms', 'CI low ms', 'CI high ms', 'GMACs'],
  rows: points.map((p) => [p.model, p.batch, p.engine, fmt(p.medianMs), fmt(p.ciLowMs), fmt(p.ciHighMs), fmt(p.macs / 1e9)]),
});

const LINE_ORDER = ['native', 'accelerated', 'gpu-accelerated', 'portable'];

/** The lines of some points in the paper's order (native, CPU, GPU), software GPUs last. */
export function linesOf(points: LatencyPoint[]): string[] {
  const rank = (p: LatencyPoint): number => {
    if (p.gpu?.software) return LINE_ORDER.length;
    const i = LINE_ORDER.indexOf(p.role);
    return i === -1 ? LINE_ORDER.length - 1 : i;
  };
  return [...new Map([...points].sort((a, b) => rank(a) - rank(b)).map((p) => [lineOf(p), p])).keys()];
}

/** A latency figure's caption sentence on its GPU lines: which adapter, and why a software GPU is no acceleration. */
function gpuLinesCaption(points: LatencyPoint[]): string {
  const hardware = [...new Set(points.filter((p) => p.gpu?.software === false).map((p) => p.engine))];
  const software = [...new Set(points.filter((p) => p.gpu?.software).map((p) => p.engine))];
  const adapters = describeAdapters(points.filter((p) => p.gpu?.software === false).map((p) => p.gpu));
  return [
    hardware.length ? ` GPU-specific acceleration, the third line: ${hardware.join(', ')} on ${adapters.join('; ')}.` : '',
    software.length ? ` ${software.join(', ')}: ${SOFTWARE_GPU_WHY}; not GPU acceleration.` : '',
  ].join('');
}

/**
 * Each line's dash by its role, so that a figure reads the same whatever the engines' names:
 * native dashed, CPU acceleration solid (as the README's figure), GPU dotted, others dash-dot.
 */
const DASH_OF_ROLE: Record<string, number[]> = { native: [6, 3], accelerated: [1, 0], 'gpu-accelerated': [2, 2] };
const SOFTWARE_GPU_DASH = [1, 4];
const OTHER_DASH = [8, 3, 2, 3];

export function lineDashes(points: LatencyPoint[], lines: string[]): number[][] {
  return lines.map((line) => {
    const p = points.find((q) => lineOf(q) === line);
    return p?.gpu?.software ? SOFTWARE_GPU_DASH : (DASH_OF_ROLE[p?.role ?? ''] ?? OTHER_DASH);
  });
}

/** Lines per pattern (colour) and engine (dash), with the median's 95% interval as error bars. */
const LATENCY_AXIS = { field: 'ms', title: 'median latency (ms, log)' };

function lineLayers(x: { field: string; title: string; scale?: object; axisValues: number[] }, yAxis = LATENCY_AXIS, errorBars = true, engines?: string[], dashes?: number[][]): object[] {
  const xEnc = { field: x.field, type: 'quantitative', title: x.title, scale: x.scale ?? { zero: false }, axis: { values: x.axisValues } };
  const y = { field: yAxis.field, type: 'quantitative', scale: { type: 'log', nice: false }, title: yAxis.title };
  const color = { field: 'pattern', type: 'nominal', sort: PATTERN_ORDER, title: 'pattern' };
  const engine = { field: 'engine', type: 'nominal', title: 'engine', ...(engines ? { sort: engines } : {}) };
  return [
    { mark: { type: 'line', point: { size: 30 } }, encoding: { x: xEnc, y, color, strokeDash: engines && dashes ? { ...engine, scale: { domain: engines, range: dashes } } : engine, shape: engine } },
    ...(errorBars ? [{ transform: [{ filter: 'datum.lo != null' }], mark: { type: 'errorbar', ticks: true }, encoding: { x: xEnc, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color } }] : []),
  ];
}

/** A sweep of the design space the paper plots along: depth at a fixed width, or width at a fixed depth. */
interface Sweep {
  field: 'depth' | 'width';
  /** The points of the sweep (see depthSeries, widthSeries). */
  series: (points: LatencyPoint[]) => LatencyPoint[];
  title: string;
  scale?: object;
  /** The other axis, which the sweep holds fixed. */
  fixed: 'depth' | 'width';
  /** The seed paper's figure of last-level cache misses along the sweep. */
  missesFigure: number;
}

const DEPTH_SWEEP: Sweep = { field: 'depth', series: depthSeries, title: 'depth (blocks)', fixed: 'width', missesFigure: 3 };
const WIDTH_SWEEP: Sweep = { field: 'width', series: widthSeries, title: 'width (channels, log₂)', scale: { type: 'log', base: 2 }, fixed: 'depth', missesFigure: 4 };

/** The sweep's values in the points, ascending: the x axis's ticks. */
const sweepValues = (sweep: Sweep, points: LatencyPoint[]): number[] => [...new Set(points.map((p) => p[sweep.field]!))].sort((a, b) => a - b);
const sweepAxis = (sweep: Sweep, points: LatencyPoint[]) => ({ field: sweep.field, title: sweep.title, scale: sweep.scale, axisValues: sweepValues(sweep, points) });

function latencyVsDepth(data: ReportData): Figure | undefined {
  const points = depthSeries(data.points);
  if (points.length === 0) return undefined;
  const depths = sweepValues(DEPTH_SWEEP, points);
  const batches = [...new Set(points.map((p) => p.batch))].sort((a, b) => a - b);
  const engines = linesOf(points);
  const values = points.map((p) => ({ pattern: p.pattern, depth: p.depth, batch: `batch ${p.batch}`, engine: lineOf(p), ...ms(p) }));
  return {
    id: 'latency-vs-depth',
    title: 'Latency vs depth',
    caption: `Median latency of the six design patterns at width ${points[0]!.width} and ${points[0]!.resolution}×${points[0]!.resolution} input, depth ${depths[0]}–${depths.at(-1)}, one panel per batch size; ${engines.join(' vs ')} (the seed paper's Figure 1). Error bars: 95% interval of the median.${gpuLinesCaption(points)}`,
    spec: {
      data: { values },
      facet: { column: { field: 'batch', type: 'ordinal', sort: batches.map((b) => `batch ${b}`), title: null } },
      spec: { width: 210, height: 240, layer: lineLayers(sweepAxis(DEPTH_SWEEP, points), LATENCY_AXIS, true, engines, lineDashes(points, engines)) },
      resolve: { scale: { y: 'independent' } },
      title: { text: 'Latency vs depth', subtitle: `${engines.join(' vs ')}, width ${points[0]!.width}` },
    } as unknown as FigureSpec,
    table: latencyTable(points),
  };
}

function latencyVsWidth(data: ReportData): Figure | undefined {
  const points = widthSeries(data.points);
  if (points.length === 0) return undefined;
  const widths = sweepValues(WIDTH_SWEEP, points);
  const engines = linesOf(points);
  const values = points.map((p) => ({ pattern: p.pattern, width: p.width, engine: lineOf(p), ...ms(p) }));
  return {
    id: 'latency-vs-width',
    title: 'Latency vs width',
    caption: `Median latency of the six design patterns at depth ${points[0]!.depth}, ${points[0]!.resolution}×${points[0]!.resolution} input, batch ${points[0]!.batch}, width ${widths[0]}–${widths.at(-1)} (the seed paper's Figure 2), one panel per engine with a shared axis: ${engines.join(', ')}.${gpuLinesCaption(points)}`,
    spec: {
      data: { values },
      facet: { column: { field: 'engine', type: 'nominal', sort: engines, title: null } },
      spec: { width: 260, height: 240, layer: lineLayers(sweepAxis(WIDTH_SWEEP, points), LATENCY_AXIS, true, engines, lineDashes(points, engines)) },
      title: { text: 'Latency vs width', subtitle: `depth ${points[0]!.depth}, batch ${points[0]!.batch}` },
    } as unknown as FigureSpec,
    table: latencyTable(points),
  };
}

/** Where the store holds fidelity checks, each speed-up has its baseline's fidelity ratio beside it. */
const speedupTable = (s: SpeedupPoint[], data: ReportData): Table => {
  const withFidelity = data.fidelity.length > 0;
  return {
    columns: ['model', 'batch', 'engine', 'baseline', 'speed-up', 'low', 'high', ...(withFidelity ? FIDELITY_COLUMNS : [])],
    rows: s.map((x) => [x.model, x.batch, x.engine, x.baseline, fmt(x.speedup), fmt(x.low), fmt(x.high), ...(withFidelity ? fidelityCells(x) : [])]),
  };
};

/** A caption's last sentence where the baseline's fidelity was checked: what the column means. */
const fidelityCaption = (s: SpeedupPoint[], data: ReportData): string =>
  s.some((x) => x.baselineFidelity) ? ` The table's 'baseline fidelity' is ${data.baseline}'s time over its framework's idiomatic execution of the same network: the factor by which each speed-up is inflated.` : '';

function networkSpeedups(data: ReportData): Figure | undefined {
  const s = data.speedups.filter((x) => x.kind !== 'pattern' && x.batch === 1);
  if (s.length === 0) return undefined;
  const order = [...new Set([...s].sort((a, b) => a.speedup - b.speedup).map((x) => x.model))];
  const values = s.map((x) => ({ model: x.model, engine: x.engine, speedup: x.speedup, low: x.low, high: x.high }));
  const x = { field: 'model', type: 'nominal', sort: order, title: null, axis: { labelAngle: -35 } };
  return {
    id: 'network-speedups',
    title: 'Speed-up of the networks',
    caption: `Speed-up over ${data.baseline} (its median latency / the engine's) of each reference or user network at batch 1 (the seed paper's Figure 5). Bars above the line at 1 are faster than ${data.baseline}; error bars combine both medians' 95% intervals.${fidelityCaption(s, data)}`,
    spec: {
      data: { values },
      width: { step: 34 },
      height: 260,
      layer: [
        { mark: 'bar', encoding: { x, xOffset: { field: 'engine' }, y: { field: 'speedup', type: 'quantitative', title: `speed-up over ${data.baseline} (×)` }, color: { field: 'engine', type: 'nominal', title: 'engine' } } },
        { transform: [{ filter: 'datum.low != null' }], mark: { type: 'errorbar', ticks: true, color: '#222' }, encoding: { x, xOffset: { field: 'engine' }, y: { field: 'low', type: 'quantitative', title: `speed-up over ${data.baseline} (×)` }, y2: { field: 'high' } } },
        { data: { values: [{ one: 1 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#444' }, encoding: { y: { field: 'one', type: 'quantitative' } } },
      ],
      title: { text: 'Speed-up of the networks', subtitle: `over ${data.baseline}, batch 1` },
    } as unknown as FigureSpec,
    table: speedupTable(s, data),
  };
}

/** Latency (`ms`) against x, both log scales, coloured by model family, one panel per engine (`panel`, which names its correlations). */
function latencyScatter(o: { values: object[]; columns: number; width: number; x: { field: string; title: string }; families: string[]; tooltip: object[]; title: object }): FigureSpec {
  return {
    data: { values: o.values },
    facet: { field: 'panel', type: 'nominal', title: null, header: { labelLimit: 0 } },
    columns: o.columns,
    spec: {
      width: o.width,
      height: 240,
      mark: { type: 'point', filled: true, opacity: 0.75, size: 36 },
      encoding: {
        x: { field: o.x.field, type: 'quantitative', scale: { type: 'log', nice: false }, title: o.x.title },
        y: { field: LATENCY_AXIS.field, type: 'quantitative', scale: { type: 'log', nice: false }, title: LATENCY_AXIS.title },
        color: { field: 'family', type: 'nominal', sort: o.families, title: 'model' },
        tooltip: o.tooltip,
      },
    },
    title: o.title,
  } as unknown as FigureSpec;
}

function latencyVsMacs(data: ReportData): Figure | undefined {
  if (data.points.length < 3) return undefined;
  const corr = new Map(macCorrelations(data.points).map((c) => [c.engine, c]));
  const panel = (engine: string) => {
    const c = corr.get(engine)!;
    return `${engine}: r = ${c.pearson?.toFixed(3) ?? 'n/a'}, ρ = ${c.spearman?.toFixed(3) ?? 'n/a'}, n = ${c.n}`;
  };
  // A correlation needs a few points: an engine measured on one or two models (e.g. an
  // optimised path tried on one network) gets no panel of its own; its trials stay in the table.
  const MIN_POINTS = 3;
  const drawn = data.points.filter((p) => corr.get(p.engine)!.n >= MIN_POINTS);
  if (drawn.length === 0) return undefined;
  const values = drawn.map((p) => ({ panel: panel(p.engine), gmacs: p.macs / 1e9, ms: p.medianMs, family: p.pattern ?? (p.kind === 'network' ? 'reference network' : 'user model'), model: p.model, batch: p.batch }));
  return {
    id: 'latency-vs-macs',
    title: 'Latency vs MACs',
    caption: 'Every measured trial: latency against its multiply-accumulates (batch included), one panel per engine with at least 3 trials, with the Pearson correlation of the values and the Spearman correlation of their ranks. Points far from the trend are where MACs stop predicting latency.',
    spec: latencyScatter({
      values,
      columns: 2,
      width: 300,
      x: { field: 'gmacs', title: 'GMACs per run (log)' },
      families: [...PATTERN_ORDER, 'reference network', 'user model'],
      tooltip: [{ field: 'model' }, { field: 'batch' }, { field: 'ms', format: '.3f' }, { field: 'gmacs', format: '.3f' }],
      title: { text: 'Latency vs MACs', subtitle: 'r: Pearson correlation of the values; ρ: Spearman correlation of their ranks' },
    }),
    table: latencyTable(data.points),
  };
}

function speedupHeatmap(data: ReportData): Figure | undefined {
  const series = new Set(depthSeries(data.points).map((p) => p.model));
  const s = data.speedups.filter((x) => series.has(x.model));
  if (s.length === 0) return undefined;
  const batches = [...new Set(s.map((x) => x.batch))].sort((a, b) => a - b);
  const values = s.map((x) => ({ pattern: x.pattern, depth: x.depth, batch: `batch ${x.batch}`, engine: x.engine, speedup: x.speedup, label: `${x.speedup.toFixed(1)}×` }));
  const engines = [...new Set(s.map((x) => x.engine))];
  return {
    id: 'speedup-heatmap',
    title: 'Speed-up by pattern and depth',
    caption: `Speed-up over ${data.baseline} of each design pattern at each depth (width ${s[0]!.width}), one panel per batch size${engines.length > 1 ? ' and a row per engine' : ''}. Darker is a larger gain.${fidelityCaption(s, data)}`,
    spec: {
      data: { values },
      facet: { column: { field: 'batch', type: 'ordinal', sort: batches.map((b) => `batch ${b}`), title: null }, ...(engines.length > 1 ? { row: { field: 'engine', type: 'nominal', title: null } } : {}) },
      spec: {
        width: 170,
        height: 170,
        encoding: { x: { field: 'depth', type: 'ordinal', title: 'depth', axis: { labelAngle: 0 } }, y: { field: 'pattern', type: 'nominal', sort: PATTERN_ORDER, title: null } },
        layer: [
          { mark: 'rect', encoding: { color: { field: 'speedup', type: 'quantitative', scale: { scheme: 'blues', zero: false }, title: 'speed-up (×)' } } },
          { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'label' }, color: { condition: { test: `datum.speedup > ${heatmapTextThreshold(s)}`, value: 'white' }, value: '#222' } } },
        ],
      },
      title: { text: 'Speed-up by pattern and depth', subtitle: `${engines.join(', ')} over ${data.baseline}` },
    } as unknown as FigureSpec,
    table: speedupTable(s, data),
  };
}

/** White labels on the darker half of the colour scale. */
function heatmapTextThreshold(s: SpeedupPoint[]): number {
  const values = s.map((x) => x.speedup);
  return (Math.min(...values) + Math.max(...values)) / 2;
}

/** Where the counted misses come from, for captions: the CPU's counters or a named simulated cache. */
function missesSource(points: LatencyPoint[]): string {
  const p = points.find((x) => x.counters);
  if (!p?.counters) return '';
  return p.counters.simulated ? `simulated by valgrind's cache simulator (${p.counters.geometry ?? 'custom geometry'}; valgrind runs the AVX2, not AVX-512, code paths)` : 'counted by perf (the CPU\'s own counters)';
}

const missesSubtitle = (points: LatencyPoint[]): string => (points.some((p) => p.counters?.simulated) ? `simulated: ${points.find((p) => p.counters)!.counters!.geometry ?? 'valgrind'}` : 'perf: the CPU\'s counters');

const MISSES_AXIS = { field: 'misses', title: 'last-level cache misses per inference (log)' };

const missesTable = (points: LatencyPoint[]): Table => ({
  columns: ['model', 'batch', 'engine', 'LLC misses / inference', 'instructions / inference', 'branch misses / inference', 'median ms', 'GMACs'],
  rows: points.map((p) => [p.model, p.batch, p.engine, p.counters!.llcMisses, p.counters!.instructions, p.counters!.branchMisses, fmt(p.medianMs), fmt(p.macs / 1e9)]),
});

/** Misses along a sweep of the design space: the seed paper's Figures 3 (depth) and 4 (width). */
function missesAlong(data: ReportData, sweep: Sweep): Figure | undefined {
  const points = sweep.series(counted(data.points));
  if (points.length === 0) return undefined;
  const first = points[0]!;
  const values = points.map((p) => ({ pattern: p.pattern, [sweep.field]: p[sweep.field], engine: p.engine, misses: p.counters!.llcMisses }));
  return {
    id: `llc-misses-vs-${sweep.field}`,
    title: `Last-level cache misses vs ${sweep.field}`,
    caption: `Last-level cache misses per inference of the six design patterns at ${sweep.fixed} ${first[sweep.fixed]}, ${first.resolution}×${first.resolution} input, batch ${first.batch}, ${missesSource(points)} (the seed paper's Figure ${sweep.missesFigure}).`,
    spec: {
      data: { values },
      width: 360,
      height: 260,
      layer: lineLayers(sweepAxis(sweep, points), MISSES_AXIS, false),
      title: { text: `Last-level cache misses vs ${sweep.field}`, subtitle: missesSubtitle(points) },
    } as unknown as FigureSpec,
    table: missesTable(points),
  };
}

function missesVsLatency(data: ReportData): Figure | undefined {
  const points = counted(data.points);
  if (points.length < 3) return undefined;
  const corr = new Map(missCorrelations(points).map((c) => [c.engine, c]));
  const panel = (engine: string) => {
    const c = corr.get(engine)!;
    return `${engine}: misses~latency r = ${c.missesLatency.pearson?.toFixed(2) ?? 'n/a'}, ρ = ${c.missesLatency.spearman?.toFixed(2) ?? 'n/a'}; misses~MACs ρ = ${c.missesMacs.spearman?.toFixed(2) ?? 'n/a'}`;
  };
  const values = points.map((p) => ({ panel: panel(p.engine), misses: p.counters!.llcMisses, ms: p.medianMs, family: p.pattern ?? 'network', model: p.model }));
  return {
    id: 'llc-misses-vs-latency',
    title: 'Latency vs last-level cache misses',
    caption: `Median latency against last-level cache misses per inference (${missesSource(points)}), one panel per engine, with the Pearson (r) and Spearman (ρ) correlations of misses with latency and with MACs.`,
    spec: latencyScatter({
      values,
      columns: 1,
      width: 420,
      x: { field: 'misses', title: 'LLC misses per inference (log)' },
      families: [...PATTERN_ORDER, 'network'],
      tooltip: [{ field: 'model' }, { field: 'ms', format: '.3f' }, { field: 'misses', format: '.3s' }],
      title: { text: 'Latency vs last-level cache misses' },
    }),
    table: missesTable(points),
  };
}

/**
 * Each trial as one point on this machine's roofline: the whole model's arithmetic intensity
 * against the GFLOP/s it reached (FLOPs = 2·MACs), under the roofs min(peak, intensity × bandwidth).
 */
function roofline(data: ReportData): Figure | undefined {
  const peaks = data.peaks;
  const measured = data.rows.filter((r) => r.status === 'ok' && r.medianMs !== null && r.arithmeticIntensity !== null && r.flops > 0);
  // The roofs are the CPU's: a hardware GPU's trials are not under them (a software GPU's are).
  const rows = measured.filter((r) => !onHardwareGpu(r));
  const gpuLeftOut = measured.length - rows.length;
  if (!peaks || rows.length === 0) return undefined;
  const points = rows.map((r) => ({ model: r.model, batch: r.batch, engine: engineLabel(r), intensity: r.arithmeticIntensity!, gflops: r.flops / (r.medianMs! * 1e6), fraction: r.flops / (r.medianMs! * 1e6) / Math.min(peaks.peakGflops, r.arithmeticIntensity! * peaks.bandwidthGBs) }));
  // Memory roofs: DRAM, and each cache the study streamed, since a batch-1 network's activations
  // often stay in cache and reach past the DRAM roof.
  const memoryRoofs = [{ name: `DRAM ${peaks.bandwidthGBs.toFixed(1)} GB/s`, bandwidthGBs: peaks.bandwidthGBs }, ...(peaks.caches ?? []).map((c) => ({ name: `${c.level} ${c.bandwidthGBs.toFixed(0)} GB/s`, bandwidthGBs: c.bandwidthGBs }))];
  const ridges = memoryRoofs.map((m) => peaks.peakGflops / m.bandwidthGBs);
  const lo = Math.min(...points.map((p) => p.intensity), ...ridges) / 2;
  const hi = Math.max(...points.map((p) => p.intensity), ...ridges) * 2;
  const roof = memoryRoofs.flatMap((m) => [lo, peaks.peakGflops / m.bandwidthGBs, hi].map((ai) => ({ roof: m.name, intensity: ai, gflops: Math.min(peaks.peakGflops, ai * m.bandwidthGBs) })));
  const x = { field: 'intensity', type: 'quantitative', scale: { type: 'log', nice: false, domain: [lo, hi] }, title: 'arithmetic intensity (FLOP per byte moved, log)' };
  const y = { field: 'gflops', type: 'quantitative', scale: { type: 'log', nice: false }, title: 'achieved GFLOP/s (log)' };
  return {
    id: 'roofline',
    title: 'Roofline',
    caption: `Every trial's achieved GFLOP/s (2·MACs per run ÷ median latency) against its model's arithmetic intensity at that batch, under this machine's roofline: ${peaks.peakGflops.toFixed(0)} GFLOP/s peak and ${peaks.bandwidthGBs.toFixed(1)} GB/s memory bandwidth, measured by the study (${peaks.method}). The byte model counts each layer's inputs, constants and outputs once, so cache reuse across layers can put a point above the DRAM roof${peaks.caches?.length ? ' (the dashed roofs are the caches\' streaming bandwidths)' : ''}; a point above the flat roof is a convolution that outran the MatMul the peak was measured with.${gpuLeftOut ? ` ${gpuLeftOut} trials on a hardware GPU are left out: these are the CPU's roofs.` : ''}${rows.some(onSoftwareGpu) ? ' Software-GPU trials run on the CPU, so they are under its roofs, labelled.' : ''}`,
    spec: {
      width: 460,
      height: 300,
      layer: [
        { data: { values: roof }, mark: { type: 'line', color: '#444', strokeWidth: 1.5 }, encoding: { x, y, strokeDash: { field: 'roof', type: 'nominal', title: 'memory roof', sort: memoryRoofs.map((m) => m.name) } } },
        { data: { values: points }, mark: { type: 'point', filled: true, opacity: 0.7, size: 40 }, encoding: { x, y, color: { field: 'engine', type: 'nominal', title: 'engine' }, tooltip: [{ field: 'model' }, { field: 'batch' }, { field: 'gflops', format: '.1f' }, { field: 'fraction', format: '.0%' }] } },
      ],
      title: { text: 'Roofline', subtitle: `peak ${peaks.peakGflops.toFixed(0)} GFLOP/s, bandwidth ${peaks.bandwidthGBs.toFixed(1)} GB/s` },
    } as unknown as FigureSpec,
    table: {
      columns: ['model', 'batch', 'engine', 'FLOP/byte', 'GFLOP/s', 'fraction of roof'],
      rows: points.map((p) => [p.model, p.batch, p.engine, fmt(p.intensity), fmt(p.gflops), fmt(p.fraction)]),
    },
  };
}
