/**
 * The precision part of a report: each lower-precision trial beside the FP32 trial of the same
 * model, batch and engine (options equal but for `precision`), so that a speed-up is always the
 * engine's own FP32 against its own FP16, BF16 or INT8, never one engine against another.
 */
import type { KernelPrecision } from '../engines/engine.js';
import { geometricMean, median, medianOf, speedup } from '../measure/index.js';
import type { ModelIdentity } from '../model/identity.js';
import { describeAdapter } from '../engines/webgpu-adapter.js';
import { modelIdentity } from '../store/schema.js';
import type { StoredTrial } from '../store/index.js';
import { PATTERNS } from '../zoo/index.js';
import { onSoftwareGpu, SOFTWARE_GPU } from './gpu.js';
import type { FigureSpec } from './render.js';
import type { Figure, Finding, Table } from './types.js';

export interface PrecisionPoint extends ModelIdentity {
  batch: number;
  engineName: string;
  /** The engine name as shown: `ort-webgpu (software GPU)` on a software adapter. */
  engine: string;
  precision: string;
  /** e.g. `ort int8`: the engine and the precision asked of it. */
  label: string;
  fp32Ms: number;
  ms: number;
  /** FP32 median / this median: above 1, the lower precision is faster. */
  speedup: number;
  /** From both medians' 95% intervals, where both have one. */
  low: number | null;
  high: number | null;
  /** Against the FP32 reference engine's output. */
  relativeError: number | null;
  top1Agreement: number | null;
  /** Share of kernel time in kernels of the requested kind (integer for INT8, float16 for FP16); null where not profiled. */
  lowPrecisionShare: number | null;
  /** Conv/Gemm/MatMul kernels by the precision they computed in, where profiled. */
  macKernels: Partial<Record<KernelPrecision, number>> | null;
  trialKeys: string[];
}

/** The kernel class a precision's kernels should land in, in ort's profile (see ort-kernel-precision.ts). */
const KERNEL_CLASS: Record<string, KernelPrecision> = { int8: 'integer', fp16: 'float16', bf16: 'bfloat16', 'bf16-autocast': 'bfloat16' };

/** The options but `precision`, in a fixed order: a key that an FP32 trial and its lower-precision partners share. */
const withoutPrecision = (options: Record<string, string>): string => JSON.stringify(Object.entries(options).filter(([k]) => k !== 'precision').sort(([a], [b]) => a.localeCompare(b)));

/** A successful trial's median as speedup() takes it. */
const storedMedian = (r: StoredTrial) => medianOf({ medianMs: r.medianMs!, ciLowMs: r.ciLowMs, ciHighMs: r.ciHighMs });

/** Pairs every successful lower-precision trial with its FP32 partner; unpaired ones are left out. */
export function precisionPoints(rows: StoredTrial[]): PrecisionPoint[] {
  const ok = rows.filter((r) => r.status === 'ok' && r.medianMs !== null);
  // The adapter too: a GPU engine's FP16 on one adapter is never compared with its FP32 on another.
  const partnerKey = (r: StoredTrial) => `${r.model}|${r.batch}|${r.engineName}|${withoutPrecision(r.options)}|${r.gpuAdapter ? describeAdapter(r.gpuAdapter) : ''}`;
  const fp32 = new Map<string, StoredTrial>();
  for (const r of ok) if (r.precision === 'fp32') fp32.set(partnerKey(r), r);
  return ok.flatMap((r) => {
    const base = r.precision === 'fp32' ? undefined : fp32.get(partnerKey(r));
    if (!base) return [];
    const kernels = r.kernelPrecision;
    const cls = KERNEL_CLASS[r.precision];
    const s = speedup(storedMedian(base), storedMedian(r));
    const engine = onSoftwareGpu(r) ? `${r.engineName} (${SOFTWARE_GPU})` : r.engineName;
    return [
      {
        ...modelIdentity(r),
        batch: r.batch,
        engineName: r.engineName,
        precision: r.precision,
        engine,
        label: `${engine} ${r.precision}`,
        fp32Ms: base.medianMs!,
        ms: r.medianMs!,
        speedup: s.ratio,
        low: s.interval?.[0] ?? null,
        high: s.interval?.[1] ?? null,
        relativeError: r.outputRelativeError,
        top1Agreement: r.outputTop1Agreement,
        lowPrecisionShare: kernels ? kernels.classes.filter((c) => c.precision === cls).reduce((a, c) => a + c.share, 0) : null,
        macKernels: kernels?.macKernels ?? null,
        trialKeys: [base.trialKey, r.trialKey],
      },
    ];
  });
}

const fmt = (v: number | null, digits = 3): number | null => (v === null ? null : Number(v.toPrecision(digits + 1)));
const macKernelText = (m: Record<string, number> | null): string | null => (m ? Object.entries(m).map(([p, n]) => `${n} ${p}`).join(', ') : null);

const precisionTable = (points: PrecisionPoint[]): Table => ({
  columns: ['model', 'batch', 'engine', 'precision', 'FP32 ms', 'ms', 'speed-up', 'low', 'high', 'relative error', 'top-1 agreement', 'low-precision kernel share', 'Conv/Gemm/MatMul kernels'],
  rows: points.map((p) => [
    p.model,
    p.batch,
    p.engine,
    p.precision,
    fmt(p.fp32Ms),
    fmt(p.ms),
    fmt(p.speedup),
    fmt(p.low),
    fmt(p.high),
    fmt(p.relativeError, 2),
    p.top1Agreement,
    fmt(p.lowPrecisionShare, 2),
    macKernelText(p.macKernels),
  ]),
});

const groupOf = (p: PrecisionPoint): string => (p.kind === 'pattern' ? `depth ${p.depth}` : 'networks');
const itemOf = (p: PrecisionPoint): string => (p.kind === 'pattern' ? p.pattern! : p.model);

function precisionSpeedups(points: PrecisionPoint[]): Figure | undefined {
  if (points.length === 0) return undefined;
  const batches = [...new Set(points.map((p) => p.batch))].sort((a, b) => a - b);
  const shown = points.filter((p) => p.batch === batches[0]);
  const groups = [...new Set(shown.map(groupOf))].sort((a, b) => (a === 'networks' ? 1 : b === 'networks' ? -1 : Number(a.slice(6)) - Number(b.slice(6))));
  const items = [...PATTERNS, ...new Set(shown.filter((p) => p.kind !== 'pattern').map((p) => p.model))];
  // A point without an interval gets a zero-length interval rule.
  const values = shown.map((p) => ({ group: groupOf(p), item: itemOf(p), label: p.label, speedup: p.speedup, low: p.low ?? p.speedup, high: p.high ?? p.speedup }));
  const x = { field: 'item', type: 'nominal', sort: items, title: null, axis: { labelAngle: -35 } };
  const y = { field: 'speedup', type: 'quantitative', scale: { type: 'log', nice: false }, title: 'speed-up over FP32 on the same engine (×, log)' };
  return {
    id: 'precision-speedups',
    title: 'Speed-up of lower precision over FP32',
    caption: `Each bar: the engine's FP32 median latency / its median at the lower precision, same model and batch (${batches[0]}), so a bar compares an engine only with itself. Above the dashed line at 1 the lower precision is faster; below it the engine's lower-precision kernels (or the conversions around them) cost more than FP32. Error bars combine both medians' 95% intervals. The table beside the figure lists which kernels actually ran in the lower precision.`,
    spec: {
      data: { values },
      facet: { column: { field: 'group', type: 'nominal', sort: groups, title: null } },
      spec: {
        width: { step: 16 },
        height: 240,
        layer: [
          // Bars grow from 1× (a log scale has no zero): up when faster than FP32, down when slower.
          { mark: 'bar', encoding: { x, xOffset: { field: 'label' }, y, y2: { datum: 1 }, color: { field: 'label', type: 'nominal', title: 'engine, precision' } } },
          // A plain rule, not Vega-Lite's errorbar: that composite mark forks the data, and the
          // facets' independent x scales then lose the bars' offsets.
          { mark: { type: 'rule', color: '#222' }, encoding: { x, xOffset: { field: 'label' }, y: { ...y, field: 'low' }, y2: { field: 'high' } } },
          { mark: { type: 'rule', strokeDash: [4, 3], color: '#444' }, encoding: { y: { datum: 1, type: 'quantitative' } } },
        ],
      },
      resolve: { scale: { x: 'independent' } },
      title: { text: 'Speed-up of lower precision over FP32', subtitle: `per design pattern and depth, and per network; batch ${batches[0]}` },
    } as unknown as FigureSpec,
    table: precisionTable(points),
  };
}

function errorVsSpeedup(points: PrecisionPoint[]): Figure | undefined {
  const measured = points.filter((p) => p.relativeError !== null && p.relativeError > 0);
  if (measured.length === 0) return undefined;
  const values = measured.map((p) => ({ label: p.label, model: p.model, family: p.kind === 'pattern' ? p.pattern : 'network', speedup: p.speedup, error: p.relativeError }));
  return {
    id: 'precision-error-vs-speedup',
    title: 'Output error vs speed-up',
    caption: 'Each point is one lower-precision trial: its speed-up over FP32 on the same engine against the largest absolute difference of its outputs from the FP32 reference engine, relative to the largest reference output. Lower right is the good corner: faster at little error. The random-weight pattern networks have no trained classes, so the error, not top-1 agreement, is what they can show.',
    spec: {
      data: { values },
      width: 420,
      height: 280,
      layer: [
        {
          mark: { type: 'point', filled: true, size: 60, opacity: 0.8 },
          encoding: {
            x: { field: 'speedup', type: 'quantitative', scale: { type: 'log' }, title: 'speed-up over FP32 (×, log)' },
            y: { field: 'error', type: 'quantitative', scale: { type: 'log' }, title: 'relative output error vs FP32 (log)' },
            color: { field: 'label', type: 'nominal', title: 'engine, precision' },
            shape: { field: 'family', type: 'nominal', title: 'model' },
            tooltip: [{ field: 'model' }, { field: 'label' }, { field: 'speedup', format: '.2f' }, { field: 'error', format: '.2e' }],
          },
        },
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#444' }, encoding: { x: { datum: 1, type: 'quantitative' } } },
      ],
      title: { text: 'Output error vs speed-up', subtitle: 'lower precision against FP32 on the same engine' },
    } as unknown as FigureSpec,
    table: precisionTable(measured),
  };
}

export function precisionFigures(rows: StoredTrial[]): Figure[] {
  const points = precisionPoints(rows);
  return [precisionSpeedups(points), errorVsSpeedup(points)].filter((f): f is Figure => f !== undefined);
}

const x = (v: number) => `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;
const keysOf = (ps: PrecisionPoint[]) => [...new Set(ps.flatMap((p) => p.trialKeys))];

/** Per engine and precision: the average speed-up, its best and worst pattern, the error, and whether the kernels really ran in it. */
export function precisionFindings(rows: StoredTrial[]): Finding[] {
  const points = precisionPoints(rows);
  return [...new Set(points.map((p) => p.label))].flatMap((label) => {
    const ps = points.filter((p) => p.label === label);
    const findings = [speedupFinding(label, ps)];
    const kernels = kernelFinding(label, ps);
    if (kernels) findings.push(kernels);
    return findings;
  });
}

function speedupFinding(label: string, ps: PrecisionPoint[]): Finding {
  const g = geometricMean(ps.map((p) => p.speedup));
  const patterns = [...new Set(ps.filter((p) => p.pattern).map((p) => p.pattern!))].map((pattern) => ({ pattern, g: geometricMean(ps.filter((p) => p.pattern === pattern).map((p) => p.speedup)) }));
  const best = patterns.reduce<(typeof patterns)[number] | undefined>((a, b) => (a && a.g >= b.g ? a : b), undefined);
  const worst = patterns.reduce<(typeof patterns)[number] | undefined>((a, b) => (a && a.g <= b.g ? a : b), undefined);
  const errors = ps.map((p) => p.relativeError).filter((e): e is number => e !== null);
  const slower = ps.filter((p) => p.high !== null && p.high < 1).length;
  const text =
    `${label} is ${x(g)} as fast as FP32 on ${ps[0]!.engineName} (geometric mean over ${ps.length} models)` +
    (best && worst && best !== worst ? `; by pattern from ${x(worst.g)} (${worst.pattern}) to ${x(best.g)} (${best.pattern})` : '') +
    (slower ? `; slower than FP32 beyond doubt in ${slower} of ${ps.length}` : '') +
    (errors.length ? `. Relative output error against FP32: median ${median(errors).toExponential(1)}, largest ${Math.max(...errors).toExponential(1)}.` : '.');
  return { title: `Precision: ${label} over FP32`, text, value: g, trialKeys: keysOf(ps) };
}

/** Whether the profiled kernels ran in the precision asked for: a fallback is a finding, not a speed-up. */
function kernelFinding(label: string, ps: PrecisionPoint[]): Finding | undefined {
  const profiled = ps.filter((p) => p.lowPrecisionShare !== null && p.macKernels !== null);
  if (profiled.length === 0) return undefined;
  const cls = KERNEL_CLASS[ps[0]!.precision]!;
  const mac = profiled.reduce((a, p) => a + Object.values(p.macKernels!).reduce((s, n) => s + n, 0), 0);
  const low = profiled.reduce((a, p) => a + (p.macKernels![cls] ?? 0), 0);
  const share = median(profiled.map((p) => p.lowPrecisionShare!));
  const fellBack = low === 0;
  return {
    title: fellBack ? `Precision: ${label} fell back to other kernels` : `Precision: which kernels ${label} ran`,
    text:
      `In ${ps[0]!.engineName}'s profile of ${profiled.length} ${label} trials, ${low} of ${mac} Conv/Gemm/MatMul kernels computed in ${cls}; ` +
      `${cls} kernels took a median ${(100 * share).toFixed(1)}% of kernel time.` +
      (fellBack ? ` The requested precision did not reach the kernels on this CPU, so its speed-up (or slow-down) is that of conversions around float32 kernels.` : ''),
    value: low / (mac || 1),
    trialKeys: keysOf(profiled),
  };
}
