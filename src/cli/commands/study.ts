import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { requireRunnable } from '../../engines/index.js';
import { checkOnnxFits } from '../../model/index.js';
import { currentEnvironment, ensureMachinePeaks, estimateTrialMemory, WORKER_MEMORY_ENV, workerMemoryCapBytes, type Environment } from '../../measure/index.js';
import { writeReport } from '../../report/index.js';
import { ResultStore, STORE_FILE } from '../../store/index.js';
import { describeAdapter } from '../../engines/index.js';
import { ALLOW_SOFTWARE_GPU_FLAG, checkSoftwareGpu, loadStudy, planStudy, runStudy, type ScenarioPlan, type StudyPlan } from '../../study/index.js';
import { PRESET_NAMES } from '../../study/presets.js';
import { duration, progressReporter } from '../progress.js';
import { FLEET_MODES } from '../fleet-options.js';
import { positiveSeconds } from '../fleet-options.js';
import { Option } from 'commander';
import { UserError } from '../../errors.js';
import { positiveInt } from '../options.js';

interface StudyOptions {
  out?: string;
  dryRun?: boolean;
  resume?: boolean;
  report: boolean;
  json?: boolean;
  allowSoftwareGpu?: boolean;
  fleet?: string;
  mode?: string;
  retries?: number;
  trialExpiryS?: number;
}

/** Exit status of a study stopped by Ctrl-C (128 + SIGINT), as shells expect. */
const INTERRUPTED_EXIT = 130;

export function registerStudyCommand(program: Command): void {
  program
    .command('study')
    .description('run a study (a preset or a YAML file) into a results store, then write its report')
    .argument('<study>', `preset (${PRESET_NAMES.join(', ')}) or a YAML study file`)
    .option('--out <dir>', 'results folder (default: ./formbench-results/<study name>)')
    .option('--dry-run', 'print the plan only')
    .option('--resume', 'skip trials already stored for this machine (always on: re-running a study resumes it)')
    .option('--no-report', 'do not write the report at the end')
    .option('--json', 'machine-readable events, one JSON object per line')
    .option(ALLOW_SOFTWARE_GPU_FLAG, 'let GPU engines run on a software adapter (SwiftShader, on the CPU): for correctness; its trials are labelled software GPU, never GPU acceleration')
    .option('--fleet <url>', "submit the study to a fleet's PostgreSQL database (postgres://…) for 'formbench worker' to run, instead of running it here")
    .addOption(new Option('--mode <mode>', 'with --fleet: split (default: machines of a class share the trials) or each (every machine runs them all)').choices([...FLEET_MODES]))
    .addOption(new Option('--retries <n>', 'with --fleet: how many more times a failing trial is tried before it is stored as failed (default 2)').argParser(positiveIntOrZero))
    .addOption(new Option('--trial-expiry-s <seconds>', "with --fleet: how long a taken trial may go unanswered before the queue gives it to another worker (default: from the budget)").argParser(positiveSeconds))
    .action(async (study: string, o: StudyOptions) => {
      if (o.fleet) return (await import('../fleet-study.js')).fleetStudyCommand(study, { ...o, fleet: o.fleet });
      const fleetOnly = (['mode', 'retries', 'trialExpiryS'] as const).filter((k) => o[k] !== undefined);
      if (fleetOnly.length) throw new UserError(`--${fleetOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for a study submitted with --fleet`, 'add --fleet postgres://…, or drop the option to run the study here');
      return studyCommand(study, o);
    });
}

const positiveIntOrZero = (value: string): number => (value.trim() === '0' ? 0 : positiveInt(value));

/** `formbench study`: plan, show the plan, run what is not stored yet, then write the report. */
async function studyCommand(nameOrPath: string, o: StudyOptions): Promise<void> {
  const { study, notes } = await loadStudy(nameOrPath);
  const plan = planStudy(study);
  // No machine can run a model whose ONNX file cannot exist: a mistake in the study, like a typo.
  for (const r of plan.resolved.values()) if (r.zoo) checkOnnxFits(r.graph);
  const out = resolve(o.out ?? join('formbench-results', study.name));
  const env = currentEnvironment();
  const storePath = join(out, STORE_FILE);
  // A software adapter taken for "the GPU" would be reported as GPU acceleration: refused unless
  // asked, before a store exists (a dry run too: it plans what the run would do).
  const choices = [...plan.trials, ...plan.scenarios].map((t) => t.choice);
  const softwareGpu = await checkSoftwareGpu([plan.reference, ...choices], o.allowSoftwareGpu === true);
  notes.push(...softwareGpu.map((u) => `${u.engine} runs on a software GPU, ${describeAdapter(u.adapter)} (${ALLOW_SOFTWARE_GPU_FLAG}): its trials check correctness and are labelled software GPU; their times are the CPU's`));
  // Nothing that can run: one error with every engine's reason, before a store is created.
  if (!o.dryRun) await requireRunnable([...new Map(choices.map((c) => [c.label, c])).values()]);
  // A dry run reads an existing store (to count what is done) but never creates one.
  const store = o.dryRun && !existsSync(storePath) ? undefined : await ResultStore.open(storePath);
  try {
    const stored = store ? await store.storedTrials(env.fingerprint) : new Map<string, string>();
    const storedScenarios = store ? await store.storedScenarios(env.fingerprint) : new Map<string, string>();
    const done = (status: string | undefined) => status === 'ok' || status === 'mismatch';
    const toRun = plan.trials.filter((t) => !done(stored.get(t.key)));
    const scenariosToRun = plan.scenarios.filter((r) => !done(storedScenarios.get(r.key)));
    const summary = planSummary(plan, out, toRun, scenariosToRun, notes, overCap(plan, [...toRun, ...scenariosToRun]));
    if (o.json) process.stdout.write(JSON.stringify({ type: 'plan', ...summary }) + '\n');
    else printPlan(plan, summary, env.fingerprint);
    if (o.dryRun || !store) return;

    const controller = new AbortController();
    const onInterrupt = () => {
      controller.abort();
      process.stderr.write('\ninterrupted: every finished trial is stored; run the same command again to resume\n');
    };
    process.once('SIGINT', onInterrupt);
    process.once('SIGTERM', onInterrupt);
    await measurePeaksOnce(store, env, o.json === true);
    const mode = o.json ? 'json' : process.stderr.isTTY ? 'bar' : 'lines';
    const progress = progressReporter(mode);
    let outcome = '';
    await runStudy(plan, store, env, {
      signal: controller.signal,
      onEvent: (e) => {
        progress(e);
        if (e.type === 'done') outcome = `${e.ran} trials run (${e.failed} failed, ${e.mismatched} mismatched), ${e.skipped} already stored, in ${duration(e.wallSeconds)}`;
      },
    });
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    if (controller.signal.aborted) {
      process.exitCode = INTERRUPTED_EXIT;
      return;
    }
    if (!o.json) process.stderr.write(`${outcome}\n`);
    if (!o.report) return;
    const report = await writeReport(store, out, plan.study.baseline ? { baseline: plan.baseline } : {});
    if (o.json) process.stdout.write(JSON.stringify({ type: 'report', html: report.htmlPath, figures: report.figurePaths }) + '\n');
    else {
      for (const f of report.findings) process.stdout.write(`- ${f.text}\n`);
      if (report.claims.length) process.stdout.write("the seed paper's claims on this machine:\n");
      for (const c of report.claims) process.stdout.write(`- ${c.verdict}: ${c.claim} (paper ${c.paper}; here ${c.measured ?? c.detail})\n`);
      if (report.fidelityWarning) process.stderr.write(`warning: ${report.fidelityWarning}\n`);
      if (report.warning) process.stderr.write(`warning: ${report.warning}\n`);
      if (report.softwareGpuNotice) process.stderr.write(`note: ${report.softwareGpuNotice}\n`);
      for (const w of report.lifecycleWarnings) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(`report: ${report.htmlPath}\n`);
    }
  } finally {
    store?.close();
  }
}

/** Peaks are measured once per machine; say so while it runs, as it takes a few seconds. */
async function measurePeaksOnce(store: ResultStore, env: Environment, json: boolean): Promise<void> {
  const onMeasuring = () => {
    if (!json) process.stderr.write("measuring this machine's peak FP32 GFLOP/s and memory bandwidth for the roofline...\n");
  };
  const { peaks, measured } = await ensureMachinePeaks(store, env, onMeasuring);
  if (measured && !json) process.stderr.write(`  peak ${peaks.peakGflops.toFixed(0)} GFLOP/s, bandwidth ${peaks.bandwidthGBs.toFixed(1)} GB/s\n`);
}

/**
 * The trials to run whose estimated peak memory is over the worker cap. The run refuses each when
 * it comes up and stores it as failed with the estimate, rather than refusing the whole study:
 * the rest of a long study is worth having, and the failed rows say, in the report and to a
 * later run (which retries failed trials), what did not fit on this machine.
 */
function overCap(plan: StudyPlan, toRun: readonly (StudyPlan['trials'][number] | StudyPlan['scenarios'][number])[]) {
  const capBytes = workerMemoryCapBytes();
  // A scenario's sessions each run in a worker of their own, under the same cap as a trial's.
  const trials = toRun
    .map((t) => ({ model: t.model.spec, batch: t.batch, engine: t.choice.label, estimatedGiB: estimateTrialMemory(plan.resolved.get(t.model.spec)!.graph, t.batch, t.choice).totalBytes / 2 ** 30 }))
    .filter((t) => t.estimatedGiB * 2 ** 30 > capBytes);
  return { capGiB: capBytes / 2 ** 30, trials };
}

function planSummary(plan: StudyPlan, out: string, toRun: StudyPlan['trials'], scenariosToRun: StudyPlan['scenarios'], notes: string[], overMemoryCap: ReturnType<typeof overCap>) {
  const runs = plan.trials.length + plan.scenarios.length;
  return {
    study: plan.study.name,
    description: plan.study.description,
    out,
    sweeps: plan.study.sweeps.map((s) => ({ name: s.name, models: s.models.length, batches: s.batches, engines: s.engines, repetitions: s.repetitions, ...(s.scenario ? { scenario: s.scenario } : {}) })),
    trials: runs,
    scenarioRuns: plan.scenarios.length,
    alreadyStored: runs - toRun.length - scenariosToRun.length,
    toRun: toRun.length + scenariosToRun.length,
    fidelityChecks: plan.fidelity.length,
    estimatedSeconds: Math.round([...toRun, ...scenariosToRun, ...plan.fidelity].reduce((s, t) => s + t.estimatedSeconds, 0)),
    baseline: plan.baseline,
    reference: plan.reference.label,
    overMemoryCap,
    notes,
  };
}

function printPlan(plan: StudyPlan, s: ReturnType<typeof planSummary>, fingerprint: string): void {
  const lines = [
    `study ${s.study}: ${s.description}`,
    ...plan.study.sweeps.map((w) => `  ${w.name}: ${w.models.length} model${w.models.length > 1 ? 's' : ''} × batch ${w.batches.join(',')} × ${w.engines.join(', ')}${w.repetitions > 1 ? ` × ${w.repetitions} repetitions` : ''}${w.scenario ? ` · ${scenarioLabel(w.scenario)}` : ''}`),
    ...s.notes.map((n) => `  note: ${n}`),
    `  ${s.trials} trials${s.scenarioRuns ? ` (${s.scenarioRuns} of them scenario runs)` : ''}: ${s.alreadyStored} already stored for this machine (${fingerprint}), ${s.toRun} to run, estimated ${duration(s.estimatedSeconds)}`,
    `  speed-ups over ${s.baseline}; outputs checked against ${s.reference}; results in ${s.out}`,
    ...overCapLines(s.overMemoryCap),
    ...(s.fidelityChecks ? [`  ${s.fidelityChecks} fidelity checks: each native engine against its framework's idiomatic execution, per model at its smallest batch (stored ones are skipped)`] : []),
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

/** 'offline, 1 session, 3 s per point', 'server at 50 queries/s, p99 ≤ 20 ms'. */
function scenarioLabel(s: ScenarioPlan): string {
  const sessions = `${s.streams.join(',')} session${s.streams.length === 1 && s.streams[0] === 1 ? '' : 's'}`;
  const what = s.name === 'server' ? `server ${s.findPeak ? 'peak-rate search' : `at ${s.ratePerS} queries/s`}, p99 ≤ ${s.p99BoundMs} ms` : s.name;
  return `${what}, ${sessions}, ${s.durationMs / 1000} s per point`;
}

/** The first few trials over the cap, each with its estimate. */
function overCapLines({ capGiB, trials }: ReturnType<typeof overCap>): string[] {
  if (trials.length === 0) return [];
  const SHOWN = 5;
  return [
    `  ${trials.length} trial${trials.length > 1 ? 's' : ''} over the worker memory cap of ${capGiB.toFixed(2)} GiB (${WORKER_MEMORY_ENV} sets it): refused when it comes up, stored as failed`,
    ...trials.slice(0, SHOWN).map((t) => `    ${t.model} batch ${t.batch} on ${t.engine}: about ${t.estimatedGiB.toFixed(2)} GiB`),
    ...(trials.length > SHOWN ? [`    and ${trials.length - SHOWN} more`] : []),
  ];
}
