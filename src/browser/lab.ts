/**
 * The lab page: fetch the plan, describe the device, skip the trials the server already stores
 * for it (reopening the page resumes), then run each trial as a CLI trial runs (a fresh session,
 * its load timed, the first inference apart, then measure/protocol.ts's warm-up and interval
 * target with performance.now() as the clock, every sample kept) and post it the moment it is
 * measured. The server compares the outputs with the reference's and stores the row.
 */
import { timeRuns } from '../measure/protocol.js';
import type { DeviceAnswer, LabGraphModel, LabPlan, LabResult, LabTrial, ResultAnswer } from '../serve/api.js';
import { seededNormal } from '../weights/random.js';
import { drawChart, type ChartPoint } from './chart.js';
import { describeDevice } from './device.js';
import { createPageSession, loadOrtWeb, type PageSession } from './ort-web.js';
import { createTfjsSession, loadTfjsWasm } from './tfjs-web.js';

const token = new URLSearchParams(location.search).get('token') ?? '';
const $ = <T extends Element>(selector: string) => document.querySelector(selector) as T;

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

async function post<T>(path: string, body: unknown): Promise<T> {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-formbench-token': token }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

function setState(state: 'running' | 'done' | 'error', status: string): void {
  document.body.dataset['labState'] = state;
  $('#status').textContent = status;
}

function planRows(plan: LabPlan): Map<string, HTMLTableRowElement> {
  const body = $('#plan tbody');
  const rows = new Map<string, HTMLTableRowElement>();
  plan.trials.forEach((t, i) => {
    const tr = document.createElement('tr');
    for (const [text, cls] of [[String(i + 1), ''], [t.model, ''], [String(t.batch), 'num'], [t.engine, ''], ['', 'num'], ['', 'num'], ['planned', 'state']] as const) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    body.appendChild(tr);
    rows.set(t.key, tr);
  });
  return rows;
}

function mark(row: HTMLTableRowElement, state: string, medianMs?: number | null, runs?: number): void {
  row.className = state;
  const cells = row.querySelectorAll('td');
  if (medianMs !== undefined) cells[4]!.textContent = medianMs === null ? '' : medianMs.toFixed(2);
  if (runs !== undefined) cells[5]!.textContent = String(runs);
  cells[6]!.textContent = state;
}

const duration = (s: number) => (s < 90 ? `${Math.round(s)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

/** How the page runs one engine: its runtime started once (with the page's threads), a session per trial from the model's bytes. */
interface PageEngine {
  version(): Promise<string>;
  /** The model's bytes as this engine loads them, fetched once per model. */
  fetchModel(index: number): Promise<unknown>;
  load(model: unknown, options: Record<string, string>): Promise<PageSession>;
}

async function fetchOk(path: string): Promise<Response> {
  const r = await fetch(path);
  // The server's reason (a model with no GraphModel form) becomes the trial's.
  if (!r.ok) throw new Error(((await r.json().catch(() => ({}))) as { error?: string }).error ?? `${path}: ${r.status}`);
  return r;
}

function pageEngines(threads: number): Record<string, PageEngine> {
  const ort = loadOrtWeb(threads);
  return {
    'ort-web': {
      version: async () => ((await ort).env.versions.web ?? (await ort).env.versions.common),
      fetchModel: async (index) => new Uint8Array(await (await fetchOk(`/api/models/${index}`)).arrayBuffer()),
      load: async (model, options) => createPageSession(await ort, model as Uint8Array, options),
    },
    'tfjs-web': {
      version: () => loadTfjsWasm(),
      fetchModel: async (index) => ({ model: (await (await fetchOk(`/api/models/${index}/tfjs`)).json()) as LabGraphModel, weights: await (await fetchOk(`/api/models/${index}/tfjs-weights`)).arrayBuffer() }),
      load: async (m) => {
        await loadTfjsWasm();
        const { model, weights } = m as { model: LabGraphModel; weights: ArrayBuffer };
        return createTfjsSession(model, weights);
      },
    },
  };
}

/** One trial, as measure/worker.ts runs it in a CLI worker; an error (fetching the model too) is a failed trial with its first line. */
async function runTrial(engine: PageEngine, t: LabTrial, model: () => Promise<unknown>, fingerprint: string): Promise<LabResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const common = { fingerprint, trialKey: t.key, startedAt };
  try {
    const bytes = await model();
    const engineVersion = await engine.version();
    const loadStart = performance.now();
    const session = await engine.load(bytes, t.options);
    const loadMs = performance.now() - loadStart;
    try {
      const input = seededNormal(t.inputSeed, 'input', t.inputDims.reduce((a, b) => a * b, 1), 1);
      const firstStart = performance.now();
      const output = Float32Array.from(await session.run(input, t.inputDims));
      const firstRunMs = performance.now() - firstStart;
      const timing = await timeRuns(() => session.run(input, t.inputDims), t.budget, undefined, () => performance.now());
      return { ...common, engineVersion, status: 'ok', wallMs: performance.now() - t0, loadMs, firstRunMs, warmupRuns: timing.warmupRuns, samplesMs: timing.samplesMs, stoppedBy: timing.stoppedBy, output: Array.from(output, (v) => (Number.isFinite(v) ? v : null)) };
    } finally {
      await session.release();
    }
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 1000) || 'the engine failed without a message';
    return { ...common, status: 'failed', wallMs: performance.now() - t0, reason };
  }
}

async function main(): Promise<void> {
  setState('running', 'reading the plan…');
  const plan = await getJson<LabPlan>('/api/plan');
  $('#study').textContent = plan.study;
  $('#description').textContent = `${plan.description}; outputs checked against ${plan.reference} (computed by the server)`;
  const rows = planRows(plan);
  // One count for the page (serve refuses several): wasm threads need cross-origin isolation (SharedArrayBuffer).
  const asked = plan.trials.find((t) => 'threads' in t.options)?.options['threads'] ?? 'all';
  const threads = !globalThis.crossOriginIsolated ? 1 : asked === 'all' ? navigator.hardwareConcurrency || 1 : Number(asked);
  const device = await describeDevice(threads);
  const me = await post<DeviceAnswer>('/api/device', device);
  const gpu = device.webgpu ? `${device.webgpu.vendor} ${device.webgpu.architecture}${device.webgpu.isFallbackAdapter ? ' (software fallback)' : ''}` : 'none';
  $('#device').textContent = `${me.label} · ${device.hardwareConcurrency} logical cores · memory ${device.deviceMemoryGiB ?? '?'} GiB · cross-origin isolated: ${device.crossOriginIsolated ? 'yes' : 'no'} (${threads} wasm thread${threads === 1 ? "" : "s"}) · performance.now() resolution ${(device.timerResolutionMs * 1000).toFixed(1)} µs · WebGPU adapter: ${gpu} · fingerprint ${me.fingerprint}`;
  const stored = new Set(me.stored.map((s) => s.key));
  const pending = plan.trials.filter((t) => !stored.has(t.key));
  const points: ChartPoint[] = [];
  const trialOf = new Map(plan.trials.map((t) => [t.key, t]));
  for (const s of me.stored) {
    const t = trialOf.get(s.key)!;
    mark(rows.get(s.key)!, s.status === 'ok' ? 'stored earlier' : 'stored earlier (mismatch)', s.medianMs, s.runs ?? undefined);
    if (s.medianMs !== null && t.depth !== null) points.push({ pattern: t.pattern ?? t.model, engine: t.engine, native: t.engineRole === 'native', depth: t.depth, medianMs: s.medianMs });
  }
  const progress = $<HTMLProgressElement>('#progress');
  progress.max = Math.max(1, plan.trials.length);
  progress.value = plan.trials.length - pending.length;
  const chart = $<SVGSVGElement>('#chart');
  drawChart(chart, points);
  const engines = pageEngines(threads);
  /** Each model's bytes per engine, fetched when its first trial runs (the server prepares it then, before any timing). */
  const fetched = new Map<string, Promise<unknown>>();
  let estimatedLeftS = pending.reduce((s, t) => s + t.estimatedSeconds, 0);
  let estimatedDoneS = 0;
  const started = performance.now();
  for (const [i, t] of pending.entries()) {
    const row = rows.get(t.key)!;
    mark(row, 'running');
    setState('running', `trial ${i + 1} of ${pending.length}: ${t.model}, batch ${t.batch}, ${t.engine}`);
    const engine = engines[t.engineName];
    if (!engine) throw new Error(`this page has no engine ${t.engineName}`);
    const key = `${t.engineName}|${t.modelIndex}`;
    const model = () => {
      if (!fetched.has(key)) fetched.set(key, engine.fetchModel(t.modelIndex));
      return fetched.get(key)!;
    };
    const result = await runTrial(engine, t, model, me.fingerprint);
    // A model is kept only while its trials run: a long study's models would fill a phone's memory.
    for (const k of fetched.keys()) if (!k.endsWith(`|${t.modelIndex}`)) fetched.delete(k);
    const answer = await post<ResultAnswer>('/api/results', result);
    mark(row, answer.status, answer.medianMs, result.status === 'ok' ? result.samplesMs.length : 0);
    if (answer.reason) row.title = answer.reason;
    if (answer.medianMs !== null && t.depth !== null) points.push({ pattern: t.pattern ?? t.model, engine: t.engine, native: t.engineRole === 'native', depth: t.depth, medianMs: answer.medianMs });
    drawChart(chart, points);
    progress.value += 1;
    estimatedLeftS -= t.estimatedSeconds;
    estimatedDoneS += t.estimatedSeconds;
    // The plan's rates are rough; this device's own pace so far scales what is left.
    const pace = estimatedDoneS > 0 ? (performance.now() - started) / 1000 / estimatedDoneS : 1;
    $('#eta').textContent = `${plan.trials.length - pending.length + i + 1} of ${plan.trials.length} stored · about ${duration(Math.max(0, estimatedLeftS * pace))} left`;
  }
  setState('done', `done: ${pending.length} trials measured and stored here, ${stored.size} stored earlier`);
  document.body.dataset['labDone'] = String(pending.length);
}

main().catch((e: unknown) => setState('error', `stopped: ${e instanceof Error ? e.message : String(e)}`));
