/**
 * The report: figures (Vega-Lite → SVG and PNG), their tables (CSV, Markdown) and a self-contained
 * HTML page, all computed from the results store alone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { ResultStore } from '../store/index.js';
import { reportData, reportFingerprint } from './data.js';
import { fidelityTable, fidelityWarning } from './fidelity.js';
import { buildFigures } from './figures.js';
import { computeFindings } from './findings.js';
import { gpuTrialsTable, softwareGpuNotice } from './gpu.js';
import { noiseWarning, reportPage, type RenderedFigure } from './html.js';
import { hasLifecycle, lifecycleTable, lifecycleWarnings } from './lifecycle.js';
import { machinesView } from './machines.js';
import { predictionAccuracyTable, predictionSpeedupTable } from './predictions.js';
import { paperClaims, paperClaimsTable, type PaperClaim } from './paper-claims.js';
import { renderSvg, svgToPng } from './render.js';
import { scenariosTable } from './throughput.js';
import { tableToCsv, tableToMarkdown } from './tables.js';
import type { Figure, Finding, Table } from './types.js';

export { macCorrelations } from './correlations.js';
export { isNoisy, reportData, reportFingerprint } from './data.js';
export { fidelityWarning, FIDELITY_WARNING_RATIO } from './fidelity.js';
export { buildFigures } from './figures.js';
export { computeFindings } from './findings.js';
export { engineLabel, gpuTrialsTable, softwareGpuNotice } from './gpu.js';
export { lifecycleTable, lifecycleWarnings } from './lifecycle.js';
export { machinesView, type MachinesView, type MachineSummary } from './machines.js';
export { paperClaims, paperClaimsTable, type ClaimVerdict, type PaperClaim } from './paper-claims.js';
export { renderSvg, svgToPng, type FigureSpec } from './render.js';
export type { BaselineFidelity, Figure, Finding, LatencyPoint, ReportData, SpeedupPoint, Table } from './types.js';

export interface WrittenReport {
  htmlPath: string;
  figurePaths: string[];
  findings: Finding[];
  /** The seed paper's claims with their verdicts on this machine. */
  claims: PaperClaim[];
  /** A warning about noisy trials, if any. */
  warning?: string;
  /** A warning about native engines slower than their framework's idiomatic execution, if any. */
  fidelityWarning?: string;
  /** Where trials ran on a software GPU: that they were left out of speed-ups and findings, and why. */
  softwareGpuNotice?: string;
  /** Trials whose memory grew over their timed runs (a leak), or whose CPU throttled. */
  lifecycleWarnings: string[];
}

export async function writeReport(store: ResultStore, outDir: string, options: { baseline?: string; baselineRequired?: boolean } = {}): Promise<WrittenReport> {
  const rows = await store.trials();
  const scenarios = await store.scenarios();
  if (rows.length === 0 && scenarios.length === 0) throw new UserError(`the store in ${outDir} has no trials yet`, 'run the study first; the report is written from stored trials');
  const data = reportData(rows, options.baseline, await store.fidelity(reportFingerprint([...rows, ...scenarios])), { baselineRequired: options.baselineRequired ?? false, scenarios });
  const environments = await store.environments();
  const environment = environments.find((e) => e.fingerprint === data.fingerprint);
  const machines = machinesView(rows, environments);
  const peaks = await store.peaks(data.fingerprint);
  if (peaks) data.peaks = peaks;
  mkdirSync(join(outDir, 'figures'), { recursive: true });
  mkdirSync(join(outDir, 'tables'), { recursive: true });
  const figurePaths: string[] = [];
  const render = async (figure: Figure): Promise<RenderedFigure> => {
    const svg = await renderSvg(figure.spec);
    const svgPath = join(outDir, 'figures', `${figure.id}.svg`);
    const pngPath = join(outDir, 'figures', `${figure.id}.png`);
    writeFileSync(svgPath, svg);
    writeFileSync(pngPath, svgToPng(svg));
    writeTable(outDir, figure.id, figure.table);
    figurePaths.push(svgPath, pngPath);
    return { ...figure, svg };
  };
  const figures: RenderedFigure[] = [];
  for (const figure of buildFigures(data)) figures.push(await render(figure));
  const machineFigures: RenderedFigure[] = [];
  for (const figure of machines?.figures ?? []) machineFigures.push(await render(figure));
  if (machines) writeTable(outDir, 'machines', machines.table);
  const checks = await store.calibration().checks(data.fingerprint);
  const predictions = checks.length ? { accuracy: predictionAccuracyTable(checks), speedups: predictionSpeedupTable(checks, data.rows), checkedAt: checks.map((c) => c.checkedAt).sort().at(-1)! } : undefined;
  if (predictions) {
    writeTable(outDir, 'prediction-accuracy', predictions.accuracy);
    writeTable(outDir, 'prediction-speedups', predictions.speedups);
  }
  const findings = computeFindings(data);
  const claims = paperClaims(data);
  writeTable(outDir, 'paper-claims', paperClaimsTable(claims));
  if (data.fidelity.length) writeTable(outDir, 'fidelity', fidelityTable(data.fidelity));
  if (data.rows.some((r) => r.gpuAdapter)) writeTable(outDir, 'gpu-trials', gpuTrialsTable(data.rows));
  if (hasLifecycle(data.rows)) writeTable(outDir, 'lifecycle', lifecycleTable(data.rows));
  if (data.scenarios.length) writeTable(outDir, 'scenarios', scenariosTable(data.scenarios));
  const htmlPath = join(outDir, 'report.html');
  writeFileSync(htmlPath, reportPage({ data, figures, findings, claims, ...(environment ? { environment } : {}), ...(machines ? { machines: { view: machines, figures: machineFigures } } : {}), ...(predictions ? { predictions } : {}), generatedAt: new Date().toISOString() }));
  const slowNative = fidelityWarning(data);
  const softwareGpu = softwareGpuNotice(data.rows);
  return { htmlPath, figurePaths, findings, claims, lifecycleWarnings: lifecycleWarnings(data.rows), ...(data.noisy.length ? { warning: noiseWarning(data) } : {}), ...(slowNative ? { fidelityWarning: slowNative } : {}), ...(softwareGpu ? { softwareGpuNotice: softwareGpu } : {}) };
}

function writeTable(outDir: string, id: string, table: Table): void {
  writeFileSync(join(outDir, 'tables', `${id}.csv`), tableToCsv(table));
  writeFileSync(join(outDir, 'tables', `${id}.md`), tableToMarkdown(table));
}
