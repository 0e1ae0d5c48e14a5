/**
 * Several machines in one store (a desktop CLI run beside a phone's browser run, or a fleet's
 * classes): the same figure per machine, and "form vs device", how each pattern fares on each.
 * Each machine is compared with itself first (its own native engine), then with a reference
 * machine on the models both measured; nothing here mixes two machines' rows into one point.
 */
import type { Environment } from '../measure/index.js';
import { geometricMean } from '../measure/index.js';
import type { StoredTrial } from '../store/index.js';
import { PATTERNS } from '../zoo/index.js';
import { depthSeries, mergeRepetitions, speedupsOver } from './data.js';
import { lineDashes, linesOf } from './figures.js';
import { lineOf } from './lines.js';
import type { FigureSpec } from './render.js';
import type { Figure, LatencyPoint, Table } from './types.js';

const PATTERN_ORDER = [...PATTERNS] as string[];
const round = (v: number, digits = 3): number => Number(v.toPrecision(digits));

export interface MachineSummary {
  fingerprint: string;
  /** What the figures call it: the CPU (or the browser), cores and memory, and a short fingerprint where two read alike. */
  label: string;
  ok: number;
  failed: number;
  engines: string[];
  /** The machine's native engine (role `native`), where it ran one. */
  native?: string;
  /** A browser's or other device's own description (environments.device), as stored. */
  device?: string;
}

export interface MachinesView {
  machines: MachineSummary[];
  /** The machine the latency ratios are taken against: the one with the most successful trials. */
  reference: MachineSummary;
  figures: Figure[];
  table: Table;
}

/** The view where the store holds successful trials of two machines or more; undefined otherwise. */
export function machinesView(rows: StoredTrial[], environments: Environment[]): MachinesView | undefined {
  const byMachine = new Map<string, StoredTrial[]>();
  for (const r of rows) byMachine.set(r.fingerprint, [...(byMachine.get(r.fingerprint) ?? []), r]);
  const measured = [...byMachine].filter(([, rs]) => rs.some(isPlotted));
  if (measured.length < 2) return undefined;
  const labels = machineLabels(measured.map(([fp]) => fp), environments);
  const points = new Map(measured.map(([fp, rs]) => [fp, mergeRepetitions(rs.filter(isPlotted))]));
  const machines = measured.map(([fp, rs]): MachineSummary => {
    const env = environments.find((e) => e.fingerprint === fp);
    const native = points.get(fp)!.find((p) => p.role === 'native')?.engine;
    return {
      fingerprint: fp,
      label: labels.get(fp)!,
      ok: rs.filter((r) => r.status === 'ok').length,
      failed: rs.filter((r) => r.status !== 'ok').length,
      engines: [...new Set(points.get(fp)!.map((p) => p.engine))],
      ...(native ? { native } : {}),
      ...(env?.device ? { device: env.device } : {}),
    };
  });
  const reference = [...machines].sort((a, b) => b.ok - a.ok)[0]!;
  const figures = [perMachineDepth(machines, points), speedupPerMachine(machines, points), latencyAgainstReference(machines, reference, points)].filter((f): f is Figure => f !== undefined);
  return { machines, reference, figures, table: machinesTable(machines) };
}

const isPlotted = (r: StoredTrial): boolean => r.status === 'ok' && r.medianMs !== null;

/** `AMD EPYC 7B13 · 2 cores · 24 GiB`; a fingerprint's first characters are added where two machines would read alike. */
function machineLabels(fingerprints: string[], environments: Environment[]): Map<string, string> {
  const plain = new Map(
    fingerprints.map((fp) => {
      const e = environments.find((x) => x.fingerprint === fp);
      if (!e) return [fp, `machine ${fp.slice(0, 8)}`];
      const memory = e.memoryGiB !== null && e.memoryGiB > 0 ? ` · ${e.memoryGiB} GiB` : '';
      const fleetClass = classOf(e.device);
      return [fp, `${fleetClass ? `class ${fleetClass} · ` : ''}${e.cpuModel} · ${e.logicalCores} cores${memory}`];
    }),
  );
  const alike = (label: string): string[] => [...plain].filter(([, l]) => l === label).map(([fp]) => fp);
  return new Map(
    [...plain].map(([fp, l]) => {
      const twins = alike(l);
      if (twins.length === 1) return [fp, l];
      // The shortest prefix (6 characters at least) that no twin shares.
      let n = 6;
      while (new Set(twins.map((t) => t.slice(0, n))).size < twins.length) n++;
      return [fp, `${l} (${fp.slice(0, n)})`];
    }),
  );
}

/** A fleet's machine class as its export describes it (`{"fleet":"split","class":"alpha"}`), if the device says one. */
function classOf(device: string | undefined): string | undefined {
  if (!device) return undefined;
  try {
    const parsed: unknown = JSON.parse(device);
    const c = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['class'] : undefined;
    return typeof c === 'string' && c ? c : undefined;
  } catch {
    return undefined;
  }
}

function machinesTable(machines: MachineSummary[]): Table {
  return {
    columns: ['machine', 'fingerprint', 'trials ok', 'trials failed', 'engines', 'native engine', 'device'],
    rows: machines.map((m) => [m.label, m.fingerprint, m.ok, m.failed, m.engines.join(', '), m.native ?? null, m.device ?? null]),
  };
}

/** The seed paper's Figure 1 once per machine: its depth series at its smallest batch. */
function perMachineDepth(machines: MachineSummary[], points: Map<string, LatencyPoint[]>): Figure | undefined {
  const series = machines.flatMap((m) => {
    const s = depthSeries(points.get(m.fingerprint)!);
    const batch = Math.min(...s.map((p) => p.batch));
    return s.filter((p) => p.batch === batch).map((p) => ({ m, p }));
  });
  if (series.length === 0) return undefined;
  const values = series.map(({ m, p }) => ({ machine: m.label, pattern: p.pattern, depth: p.depth, batch: p.batch, width: p.width, engine: lineOf(p), ms: p.medianMs, lo: p.ciLowMs, hi: p.ciHighMs }));
  const depths = [...new Set(values.map((v) => v.depth!))].sort((a, b) => a - b);
  // Dashed native, solid CPU acceleration, as in the single-machine figures.
  const lines = linesOf(series.map(({ p }) => p));
  const dashes = lineDashes(series.map(({ p }) => p), lines);
  const x = { field: 'depth', type: 'quantitative', title: 'depth (blocks)', scale: { zero: false }, axis: { values: depths } };
  const y = { field: 'ms', type: 'quantitative', scale: { type: 'log', nice: false }, title: 'median latency (ms, log)' };
  const color = { field: 'pattern', type: 'nominal', sort: PATTERN_ORDER, title: 'pattern' };
  return {
    id: 'machines-latency-vs-depth',
    title: 'Latency vs depth on each machine',
    caption: `The depth series of the six design patterns on each machine in this store, at each machine's smallest batch, one panel per machine with its own latency axis (the seed paper's Figure 1, per device). Line dash: engine. Error bars: 95% interval of the median.`,
    spec: {
      data: { values },
      facet: { field: 'machine', type: 'nominal', title: null, sort: machines.map((m) => m.label), header: { labelLimit: 0 } },
      columns: Math.min(3, machines.length),
      spec: {
        width: 230,
        height: 220,
        layer: [
          { mark: { type: 'line', point: { size: 28 } }, encoding: { x, y, color, strokeDash: { field: 'engine', type: 'nominal', title: 'engine', scale: { domain: lines, range: dashes } }, shape: { field: 'engine', type: 'nominal', sort: lines } } },
          { transform: [{ filter: 'datum.lo != null' }], mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color } },
        ],
      },
      resolve: { scale: { y: 'independent' } },
      title: { text: 'Latency vs depth on each machine', subtitle: machines.map((m) => m.label).join(' | ') },
    } as unknown as FigureSpec,
    table: { columns: ['machine', 'model', 'batch', 'engine', 'median ms', 'CI low ms', 'CI high ms'], rows: series.map(({ m, p }) => [m.label, p.model, p.batch, p.engine, round(p.medianMs), p.ciLowMs === null ? null : round(p.ciLowMs), p.ciHighMs === null ? null : round(p.ciHighMs)]) },
  };
}

interface PatternCell {
  machine: string;
  column: string;
  pattern: string;
  value: number;
  pairs: number;
}

const heatmapSpec = (cells: PatternCell[], columns: string[], title: string, subtitle: string, valueTitle: string, scheme: string): FigureSpec => {
  const mid = (Math.min(...cells.map((c) => c.value)) + Math.max(...cells.map((c) => c.value))) / 2;
  return {
    data: { values: cells.map((c) => ({ ...c, label: `${c.value.toFixed(2)}×` })) },
    width: { step: 150 },
    height: { step: 30 },
    // A column's name on several lines, split where the label has ' · ', so that no label is cut.
    encoding: { x: { field: 'column', type: 'nominal', sort: columns, title: null, axis: { labelAngle: 0, labelLimit: 0, labelExpr: "split(datum.label, ' · ')" } }, y: { field: 'pattern', type: 'nominal', sort: PATTERN_ORDER, title: null } },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'value', type: 'quantitative', scale: { scheme, zero: false }, title: valueTitle } } },
      { mark: { type: 'text', fontSize: 11 }, encoding: { text: { field: 'label' }, color: { condition: { test: `datum.value > ${mid}`, value: 'white' }, value: '#222' } } },
    ],
    title: { text: title, subtitle },
  } as unknown as FigureSpec;
};

const cellsTable = (cells: PatternCell[], valueColumn: string): Table => ({
  columns: ['machine', 'compared', 'pattern', valueColumn, 'model × batch pairs'],
  rows: cells.map((c) => [c.machine, c.column, c.pattern, round(c.value), c.pairs]),
});

/** Form vs device, within each machine: each accelerated engine's speed-up over that machine's native engine, per pattern. */
function speedupPerMachine(machines: MachineSummary[], points: Map<string, LatencyPoint[]>): Figure | undefined {
  const cells: PatternCell[] = [];
  for (const m of machines) {
    if (!m.native) continue;
    // A software GPU's times are the CPU's: never an acceleration (report/gpu.ts).
    const speedups = speedupsOver(points.get(m.fingerprint)!.filter((p) => !p.gpu?.software), m.native).filter((s) => s.kind === 'pattern');
    for (const engine of new Set(speedups.map((s) => s.engine))) {
      for (const pattern of PATTERN_ORDER) {
        const s = speedups.filter((x) => x.engine === engine && x.pattern === pattern);
        if (s.length) cells.push({ machine: m.label, column: `${engine} · on ${m.label}`, pattern, value: geometricMean(s.map((x) => x.speedup)), pairs: s.length });
      }
    }
  }
  if (cells.length === 0) return undefined;
  const columns = [...new Set(cells.map((c) => c.column))];
  const without = machines.filter((m) => !m.native).map((m) => m.label);
  return {
    id: 'form-vs-device-speedup',
    title: 'Speed-up of each pattern on each machine',
    caption: `Form vs device: on each machine, each engine's speed-up over that machine's own native engine (its median ÷ the engine's, geometric mean over the pattern's models and batches measured on both). Darker is a larger gain.${without.length ? ` Not shown, having no native engine: ${without.join('; ')} (see the latency ratios below).` : ''}`,
    spec: heatmapSpec(cells, columns, 'Speed-up of each pattern on each machine', 'over each machine\'s native engine', 'speed-up (×)', 'blues'),
    table: cellsTable(cells, 'speed-up (×)'),
  };
}

/**
 * Form vs device, across machines: a machine's latency ÷ the reference machine's on the same model
 * and batch, each machine at its fastest engine for that model (a device is judged by the best
 * it offers), geometric mean per pattern.
 */
function latencyAgainstReference(machines: MachineSummary[], reference: MachineSummary, points: Map<string, LatencyPoint[]>): Figure | undefined {
  const fastest = (fp: string): Map<string, LatencyPoint> => {
    const best = new Map<string, LatencyPoint>();
    for (const p of points.get(fp)!.filter((q) => q.kind === 'pattern' && !q.gpu?.software)) {
      const k = `${p.model}|${p.batch}`;
      if (!best.has(k) || best.get(k)!.medianMs > p.medianMs) best.set(k, p);
    }
    return best;
  };
  const ref = fastest(reference.fingerprint);
  const cells: PatternCell[] = [];
  const enginesUsed = new Map<string, Set<string>>([[reference.label, new Set()]]);
  for (const m of machines.filter((x) => x !== reference)) {
    const mine = fastest(m.fingerprint);
    for (const pattern of PATTERN_ORDER) {
      const pairs = [...mine].filter(([k, p]) => p.pattern === pattern && ref.has(k));
      if (pairs.length === 0) continue;
      for (const [k, p] of pairs) {
        enginesUsed.set(m.label, (enginesUsed.get(m.label) ?? new Set()).add(p.engine));
        enginesUsed.set(reference.label, (enginesUsed.get(reference.label) ?? new Set()).add(ref.get(k)!.engine));
      }
      cells.push({ machine: m.label, column: m.label, pattern, value: geometricMean(pairs.map(([k, p]) => p.medianMs / ref.get(k)!.medianMs)), pairs: pairs.length });
    }
  }
  if (cells.length === 0) return undefined;
  const engines = [...enginesUsed].map(([label, e]) => `${label}: ${[...e].join(', ')}`).join('; ');
  return {
    id: 'form-vs-device-latency',
    title: `Latency of each pattern against ${reference.label}`,
    caption: `Form vs device, across machines: each machine's median latency ÷ that of ${reference.label} (the machine with the most trials) on the same model and batch, each at its fastest engine for that model, geometric mean over the pattern's models measured on both. Above 1: slower than the reference; a pattern whose ratio stands apart suits that device better or worse than the others do. Fastest engines used: ${engines}.`,
    spec: heatmapSpec(cells, [...new Set(cells.map((c) => c.column))], `Latency of each pattern against ${reference.label}`, 'machine ÷ reference, same models, fastest engine of each', 'latency ratio (×)', 'oranges'),
    table: cellsTable(cells, 'latency ÷ reference (×)'),
  };
}
