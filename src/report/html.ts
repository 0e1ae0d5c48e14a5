import type { Environment } from '../measure/index.js';
import { NOISY_CI } from './data.js';
import { checkedEngines, fidelityTable, fidelityWarning } from './fidelity.js';
import { engineLabel, gpuTrialsTable, softwareGpuNotice } from './gpu.js';
import { hasLifecycle, lifecycleTable, lifecycleWarnings } from './lifecycle.js';
import { scenariosTable } from './throughput.js';
import type { MachinesView } from './machines.js';
import type { PaperClaim } from './paper-claims.js';
import { escapeHtml, tableToHtml, tableToMarkdown } from './tables.js';
import type { Figure, Finding, ReportData, Table } from './types.js';

export interface RenderedFigure extends Figure {
  svg: string;
}

export interface PageInput {
  data: ReportData;
  figures: RenderedFigure[];
  findings: Finding[];
  claims: PaperClaim[];
  environment?: Environment;
  /** Where the store holds two machines or more: the cross-machine view and its rendered figures. */
  machines?: { view: MachinesView; figures: RenderedFigure[] };
  /** Where `formbench predict --validate` stored held-out checks on this machine: their accuracy. */
  predictions?: { accuracy: Table; speedups: Table; checkedAt: string };
  generatedAt: string;
}

const STYLE = `
body { font: 15px/1.5 system-ui, "DejaVu Sans", sans-serif; color: #1d1d1d; max-width: 1180px; margin: 2em auto; padding: 0 1.2em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } .meta { color: #555; }
figure { margin: 1.2em 0; overflow-x: auto; } figcaption { color: #444; max-width: 60em; }
table { border-collapse: collapse; font-size: 13px; margin: .6em 0; } th, td { border: 1px solid #ddd; padding: 2px 8px; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
details { margin: .4em 0 1em; } summary { cursor: pointer; color: #2a5db0; } pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: 12px; }
.warning { background: #fff4d6; border-left: 4px solid #e0a800; padding: .5em .8em; }
.finding { margin: .8em 0; } .finding b { display: block; } .failed { color: #a00; }
.verdict-reproduced { color: #1a7f37; font-weight: 600; } .verdict-not-reproduced { color: #a00; font-weight: 600; } .verdict-not-measured { color: #666; }
td .rule, td .detail { color: #555; font-size: 12px; display: block; }
`;

/**
 * After layout, count the figures that rendered with a real size: a headless browser reads the
 * count from the body's data attribute, so the check sees the page as a user's browser does.
 */
const RENDER_CHECK = `
addEventListener('load', () => {
  const figures = document.querySelectorAll('figure svg');
  let drawn = 0;
  for (const svg of figures) { const box = svg.getBBox(); if (box.width > 50 && box.height > 50 && svg.querySelectorAll('path, line, rect').length > 5) drawn++; }
  document.body.dataset.figuresRendered = drawn + '/' + figures.length;
});`;

export function reportPage(p: PageInput): string {
  const { data } = p;
  const counts = { ok: 0, failed: 0, mismatch: 0 };
  for (const r of data.rows) counts[r.status]++;
  const problems = data.rows.filter((r) => r.status !== 'ok');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>formbench report: ${escapeHtml(data.study)}</title><style>${STYLE}</style></head>
<body data-figures-rendered="pending">
<h1>formbench: ${escapeHtml(data.study)}</h1>
<p class="meta">Generated ${escapeHtml(p.generatedAt)} from ${data.rows.length} stored trials (${counts.ok} ok, ${counts.failed} failed, ${counts.mismatch} with mismatched outputs)${data.scenarios.length ? ` and ${data.scenarios.length} scenario runs (${data.scenarios.filter((s) => s.status === 'ok').length} ok)` : ''} on machine ${escapeHtml(data.fingerprint)}.${data.otherMachineRows ? ` ${data.otherMachineRows} trials from other machines in the same store are not in this machine's figures${p.machines ? '; <a href="#machines">Machines</a> compares every machine' : ''}.` : ''} Speed-ups are relative to <b>${escapeHtml(data.baseline)}</b>. Every number here comes from the results store.</p>
${data.noisy.length ? `<p class="warning"><b>Warning:</b> ${noiseWarning(data)}</p>` : ''}
${fidelityNotice(data)}
${softwareGpuNotice(data.rows) ? `<p class="warning"><b>Software GPU:</b> ${escapeHtml(softwareGpuNotice(data.rows)!)}</p>` : ''}
${lifecycleWarnings(data.rows).map((w) => `<p class="warning"><b>Warning:</b> ${escapeHtml(w)}</p>`).join('\n')}
${environmentSection(p.environment)}
${p.machines ? machinesSection(p.machines) : ''}
<h2>Findings</h2>
${p.findings.length ? p.findings.map(findingHtml).join('\n') : '<p>Not enough successful trials for findings: at least two engines must have measured the same models.</p>'}
${claimsSection(p.claims, data)}
${data.fidelity.length ? fidelitySection(data) : ''}
${data.rows.some((r) => r.gpuAdapter) ? gpuSection(data) : ''}
${hasLifecycle(data.rows) ? lifecycleSection(data) : ''}
${data.scenarios.length ? scenariosSection(data) : ''}
${p.predictions ? predictionsSection(p.predictions) : ''}
<h2>Figures</h2>
${p.figures.map(figureHtml).join('\n')}
${problems.length ? problemsSection(problems) : ''}
<h2>Method</h2>
${precisionLine(data)}
<p>Each trial runs in its own worker process: the model is loaded (load time recorded apart), warmed up until the median of the last 5 runs is within 5% of the 5 before, then timed until the 95% confidence interval of the median (from order statistics) is within the target or the time budget is spent. Every sample is stored. Outputs are compared with the reference engine; trials whose outputs disagree are marked and left out of the figures. Speed-up = baseline median ÷ engine median, its interval from the two medians' intervals. MACs count the multiply-accumulates of convolutions and matrix products (batch included); FLOPs = 2·MACs.</p>
<script>${RENDER_CHECK}</script>
</body></html>
`;
}

/** How many trials met their interval target, and which did not (the protocol stores why). */
function precisionLine(data: ReportData): string {
  const ok = data.rows.filter((r) => r.status === 'ok');
  const imprecise = ok.filter((r) => r.reason?.startsWith('imprecise'));
  if (ok.length === 0) return '';
  const list = imprecise.slice(0, 10).map((r) => `${escapeHtml(r.model)} batch ${r.batch} on ${escapeHtml(engineLabel(r))}: ${escapeHtml(r.reason!.replace(/^imprecise: /, ''))}`);
  return `<p class="precision">${ok.length - imprecise.length} of ${ok.length} successful trials reached their interval target${imprecise.length ? `; ${imprecise.length} did not, even with the budget extended to its cap:</p><ul>${list.map((l) => `<li>${l}</li>`).join('')}${imprecise.length > 10 ? '<li>…</li>' : ''}</ul>` : '.</p>'}`;
}

/** hyperfine-style: say what is wrong and what to do about it. */
export function noiseWarning(data: ReportData): string {
  const names = data.noisy.slice(0, 5).map((r) => `${r.model} batch ${r.batch} on ${engineLabel(r)}`);
  return `${data.noisy.length} of ${data.rows.filter((r) => r.status === 'ok').length} trials have a 95% interval of the median wider than ±${NOISY_CI * 100}% (${names.join('; ')}${data.noisy.length > 5 ? '; …' : ''}): the machine was busy or the budget too small. Re-run on a quiet system, or raise budget.timedSeconds in a study file; their error bars show the spread.`;
}

/** The fidelity warning where a check is above the threshold; one line saying none was stored where none was. */
function fidelityNotice(data: ReportData): string {
  if (data.fidelity.length === 0) return `<p class="meta">No fidelity check was stored: whether ${escapeHtml(data.baseline)} runs as fast as its framework's own idiomatic execution is not measured here (<code>formbench fidelity</code> measures it).</p>`;
  const warning = fidelityWarning(data);
  return warning ? `<p class="warning"><b>Warning:</b> ${escapeHtml(warning)}</p>` : '';
}

function fidelitySection(data: ReportData): string {
  const perEngine = checkedEngines(data.fidelity).map((engine) => `<h3>${escapeHtml(engine)}</h3>\n${tableToHtml(fidelityTable(data.fidelity.filter((c) => c.engine === engine), true))}`);
  return `<h2 id="fidelity">Fidelity of the native engines</h2>
<p>Each check times an engine interleaved with its framework's own idiomatic execution of the same network (same weights, same input, same process). Ratio = the engine's median ÷ the idiomatic median, with its 95% interval: above 1, formbench runs the framework slower than its users would, and every speed-up over that engine is inflated by that factor. Files: <a href="tables/fidelity.csv">CSV</a>, <a href="tables/fidelity.md">Markdown</a>.</p>
${perEngine.join('\n')}`;
}

function claimsSection(claims: PaperClaim[], data: ReportData): string {
  if (claims.length === 0) return '';
  const software = data.rows.filter((r) => r.gpuAdapter?.software).length;
  const rows = claims.map(
    (c) => `<tr><td>${escapeHtml(c.claim)}<span class="rule">Rule: ${escapeHtml(c.rule)}</span></td><td>${escapeHtml(c.paper)}</td><td>${escapeHtml(c.measured ?? '—')}<span class="detail">${escapeHtml(c.detail)}</span></td><td class="verdict-${c.verdict.replace(/ /g, '-')}">${escapeHtml(c.verdict)}</td><td>${c.trialKeys.length ? `<details><summary>${c.trialKeys.length} trials</summary><pre>${escapeHtml(c.trialKeys.join(' '))}</pre></details>` : '—'}</td></tr>`,
  );
  return `<h2 id="paper-claims">The seed paper's claims beside this machine's</h2>
<p>Each published claim of Abbasi et al., "Does Form Follow Function?" (TinyML 2021), checked against this store's trials by the rule under it; 'not measured' where the store lacks the trials a claim needs.${software ? ` The ${software} software-GPU trials are not part of this comparison: their times are the CPU's.` : ''} Files: <a href="tables/paper-claims.csv">CSV</a>, <a href="tables/paper-claims.md">Markdown</a>.</p>
<table><thead><tr><th>claim</th><th>paper</th><th>this machine</th><th>verdict</th><th>trials</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`;
}

function gpuSection(data: ReportData): string {
  return `<h2 id="gpu-trials">GPU trials</h2>
<p>Each GPU trial with its WebGPU adapter (driver, vendor and architecture, the API under WebGPU, and whether it is a hardware GPU or a software one running on the CPU), its median beside its first inference (allocation and shader compilation, timed apart and left out of the median), the time on the device from timestamp queries where the adapter has them, and where its convolutions and matrix products ran. Files: <a href="tables/gpu-trials.csv">CSV</a>, <a href="tables/gpu-trials.md">Markdown</a>.</p>
${tableToHtml(gpuTrialsTable(data.rows))}`;
}

function scenariosSection(data: ReportData): string {
  return `<h2 id="scenarios">Scenarios</h2>
<p>Runs beyond one warm stream (MLPerf LoadGen's scenarios): <i>offline</i>, every session back to back for the measured duration (images per second of all sessions together); <i>multi-stream</i>, each session a stream issuing its next query when the last answered; <i>server</i>, Poisson arrivals at a target rate queued to the first free session, latency including the queueing, and the p99 bound met or not (a peak search keeps its best passing probe). Percentiles are stated only where the sample supports them (64 queries for p90, 662 for p99), empty otherwise. Threads: each session's intra-op threads × the sessions, on this machine's cores; overlap: the share of time two or more sessions ran at once. Every session's first output was checked against the reference engine. Files: <a href="tables/scenarios.csv">CSV</a>, <a href="tables/scenarios.md">Markdown</a>.</p>
${tableToHtml(scenariosTable(data.scenarios))}`;
}

function predictionsSection(p: NonNullable<PageInput['predictions']>): string {
  return `<h2 id="predictions">Latency predictions</h2>
<p>How well this machine's calibration (<code>formbench calibrate</code>) predicts what it measures, from the held-out networks of <code>formbench predict --validate</code> (last run ${escapeHtml(p.checkedAt)}): pattern networks off the sampling grid and reference networks, each predicted and then measured with the bench protocol. A prediction counts as within ±10% when |predicted ÷ measured − 1| ≤ 0.1; ρ is the rank correlation of predicted and measured latency. Files: <a href="tables/prediction-accuracy.csv">CSV</a>, <a href="tables/prediction-accuracy.md">Markdown</a>.</p>
${tableToHtml(p.accuracy)}
${p.speedups.rows.length ? `<p>The speed-up of each accelerated engine over each native one, predicted (both predictions) against measured (both measurements), on the networks both were checked on. Files: <a href="tables/prediction-speedups.csv">CSV</a>, <a href="tables/prediction-speedups.md">Markdown</a>.</p>\n${tableToHtml(p.speedups)}` : ''}`;
}

function lifecycleSection(data: ReportData): string {
  return `<h2 id="lifecycle">Trial lifecycle</h2>
<p>Each trial's load (session creation) and first inference (allocation, and on a GPU shader compilation), timed apart from the steady-state median; the most resident memory its worker and the worker's children (the torch engine's Python) were seen to hold, beside the estimate that admitted it; the growth of that memory over the timed runs (a leak is flagged above 10% and 32 MiB); CPU time of the tree ÷ wall time over the timed runs (about the number of busy threads: spinning threads show here); the CPU frequency before and after the timed runs where the OS reports it (a drop over 10% is throttling); and the package energy per inference from Linux powercap/RAPL where readable. An empty cell is a figure this machine did not offer, never 0. Files: <a href="tables/lifecycle.csv">CSV</a>, <a href="tables/lifecycle.md">Markdown</a>.</p>
${tableToHtml(lifecycleTable(data.rows))}`;
}

function environmentSection(env: Environment | undefined): string {
  if (!env) return '';
  return `<h2>Machine</h2>
<p>${escapeHtml(env.cpuModel)}, ${env.logicalCores} logical cores, ${env.memoryGiB === null ? 'memory not reported' : `${env.memoryGiB} GiB`}; ISA: ${escapeHtml(env.isa.join(', ') || 'unknown')}; ${escapeHtml(env.os)}; Node ${escapeHtml(env.nodeVersion)}.</p>`;
}

function machinesSection(m: NonNullable<PageInput['machines']>): string {
  return `<h2 id="machines">Machines in this store</h2>
<p>This store holds trials of ${m.view.machines.length} machines (a fingerprint each: a CLI machine, a fleet's machine class, or a browser). The rest of this report is the most recent one's; here each is drawn on its own, and then form against device: each pattern's speed-up on each machine over its own native engine, and each machine's latency against ${escapeHtml(m.view.reference.label)}. Files: <a href="tables/machines.csv">CSV</a>, <a href="tables/machines.md">Markdown</a>.</p>
${tableToHtml(m.view.table)}
${m.figures.map(figureHtml).join('\n')}`;
}

function findingHtml(f: Finding): string {
  return `<div class="finding"><b>${escapeHtml(f.title)}</b>${escapeHtml(f.text)}
<details><summary>${f.trialKeys.length} trials behind this</summary><pre>${escapeHtml(f.trialKeys.join(' '))}</pre></details></div>`;
}

function figureHtml(f: RenderedFigure): string {
  return `<section id="${f.id}"><h3>${escapeHtml(f.title)}</h3>
<figure>${f.svg}<figcaption>${escapeHtml(f.caption)} Files: <a href="figures/${f.id}.svg">SVG</a>, <a href="figures/${f.id}.png">PNG</a>, <a href="tables/${f.id}.csv">CSV</a>.</figcaption></figure>
<details><summary>Table: the numbers behind this figure</summary>${tableToHtml(f.table)}
<p>Markdown:</p><pre>${escapeHtml(tableToMarkdown(f.table))}</pre></details></section>`;
}

function problemsSection(rows: ReportData['rows']): string {
  const items = rows.map((r) => `<tr><td>${escapeHtml(r.model)}</td><td class="num">${r.batch}</td><td>${escapeHtml(engineLabel(r))}</td><td class="failed">${escapeHtml(r.status)}</td><td>${escapeHtml(r.reason ?? '')}</td></tr>`);
  return `<h2>Trials not plotted</h2>
<table><thead><tr><th>model</th><th>batch</th><th>engine</th><th>status</th><th>reason</th></tr></thead><tbody>${items.join('\n')}</tbody></table>`;
}
