import type { Command } from 'commander';
import { parseEngineChoice, parseEngineList, requireRunnable } from '../../engines/index.js';
import { defaultReference, INPUT_SEED, runBench, DEFAULT_BUDGET, type TrialRecord } from '../../measure/index.js';
import { makeTable, printJson } from '../format.js';
import { batchList, positiveInt } from '../options.js';
import { engineCell, gpuLines, softwareGpuSpeedupCell } from '../print-gpu.js';
import { lifecycleJson, lifecycleLines, lifecycleWarnings, progressLifecycle } from '../print-lifecycle.js';
import { benchScenario, type ScenarioFlags } from './bench-scenario.js';

interface BenchOptions extends ScenarioFlags {
  engines: string;
  batch: number[];
  baseline?: string;
  budgetS: number;
  ci: number;
  json?: boolean;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('time models on engines, each trial in its own worker process: medians, intervals, speed-ups')
    .argument('<specs...>', 'model specs or .onnx files')
    .option('--engines <list>', 'engines with options, e.g. ort,ort:opt=disabled', (v: string) => v, 'ort,ort:opt=disabled')
    .option('--batch <list>', 'batch sizes', batchList, [1])
    .option('--baseline <engine>', 'engine the speed-ups are relative to (default: the first)')
    .option('--budget-s <s>', 'time budget of the timed runs per trial, seconds', positiveInt, 10)
    .option('--ci <percent>', 'stop a trial once the 95% interval of its median is within ± this percent', positiveInt, 2)
    .option('--json', 'machine-readable output')
    // Scenarios (bench-scenario.ts): single-stream, the default, is the trials below.
    .option('--scenario <name>', 'single-stream (default), multi-stream, server or offline')
    .option('--streams <list>', 'concurrent sessions, each in its own worker process (offline, multi-stream, server; default 1)')
    .option('--rate <q/s>', 'server: Poisson arrival rate, queries per second')
    .option('--p99-ms <ms>', 'server: the p99 latency bound (default 20)')
    .option('--find-peak', 'server: search the highest rate whose p99 meets the bound')
    .option('--seed <n>', 'server: seed of the Poisson arrivals (default 1)')
    .action(benchCommand);
}

/** `formbench bench`: time models on engines, each trial in its own worker, side by side. */
async function benchCommand(specs: string[], o: BenchOptions): Promise<void> {
  if (await benchScenario(specs, o)) return;
  const engines = parseEngineList(o.engines);
  const baseline = o.baseline ? parseEngineChoice(o.baseline) : engines[0]!;
  await requireRunnable([baseline, ...engines]);
  const plan = {
    specs,
    engines,
    batches: o.batch,
    baseline,
    reference: defaultReference(),
    budget: { ...DEFAULT_BUDGET, timedBudgetMs: o.budgetS * 1000, targetCiRelative: o.ci / 100 },
    inputSeed: INPUT_SEED,
  };
  const progress = (t: TrialRecord, done: number, total: number) => {
    if (o.json) return;
    const what = t.summary ? `${t.summary.medianMs.toFixed(3)} ms median over ${t.summary.runs} runs` : t.reason;
    const memory = t.peakRssBytes !== undefined ? `, peak memory ${Math.round(t.peakRssBytes / 2 ** 20)} MiB (estimated ${Math.round(t.estimatedPeakBytes! / 2 ** 20)})` : '';
    process.stderr.write(`[${done}/${total}] ${t.model} ${t.engine} batch ${t.batch}: ${t.status}, ${what}${memory}${t.summary ? progressLifecycle(t) : ''}\n`);
  };
  const result = await runBench(plan, progress);
  if (o.json) {
    printJson({
      trials: result.trials.map((t) => ({
        model: t.model,
        engine: t.engine,
        options: t.options,
        batch: t.batch,
        status: t.status,
        ...(t.reason ? { reason: t.reason } : {}),
        medianMs: t.summary?.medianMs,
        p90Ms: t.summary?.p90Ms,
        ciMs: t.summary?.ciMs,
        runs: t.summary?.runs,
        loadMs: t.loadMs,
        firstRunMs: t.firstRunMs,
        ...(t.gpu ? { gpu: t.gpu } : {}),
        ...(t.placement ? { placement: t.placement } : {}),
        outputsMatch: t.outputs?.matches,
        maxAbsError: t.outputs?.maxAbsError,
        engineVersion: t.engineVersion,
        peakRssMb: t.peakRssBytes === undefined ? undefined : Math.round(t.peakRssBytes / 2 ** 20),
        estimatedPeakMb: t.estimatedPeakBytes === undefined ? undefined : Math.round(t.estimatedPeakBytes / 2 ** 20),
        peakRssBytes: t.peakRssBytes,
        ...lifecycleJson(t),
        samplesMs: t.samplesMs,
      })),
      speedups: result.speedups,
      health: result.health,
    });
    return;
  }
  for (const spec of [...new Set(result.trials.map((t) => t.model))]) {
    const table = makeTable(['engine', 'batch', 'median ms', '95% CI', 'p90 ms', 'ms/image', 'images/s', `speed-up vs ${baseline.label}`, 'outputs', 'runs'], ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left', 'right']);
    for (const t of result.trials.filter((x) => x.model === spec)) {
      const s = t.summary;
      if (!s) {
        table.push([engineCell(t), t.batch, { colSpan: 8, content: `failed: ${t.reason}` }]);
        continue;
      }
      const su = result.speedups.find((x) => x.model === spec && x.batch === t.batch && x.engine === t.engine);
      const base = result.trials.find((x) => x.model === spec && x.batch === t.batch && x.engine === baseline.label);
      table.push([
        engineCell(t),
        t.batch,
        s.medianMs.toFixed(3),
        s.ciRelative === undefined ? '-' : `±${(100 * s.ciRelative).toFixed(1)}%`,
        s.p90Ms.toFixed(3),
        (s.medianMs / t.batch).toFixed(3),
        ((1000 * t.batch) / s.medianMs).toFixed(1),
        t.engine === baseline.label ? 'baseline' : (softwareGpuSpeedupCell(t, base) ?? (su ? `${su.ratio.toFixed(2)}×${su.interval ? ` (${su.interval[0].toFixed(2)}–${su.interval[1].toFixed(2)})` : ''}` : '-')),
        t.outputs ? (t.outputs.matches ? 'match' : `MISMATCH (${t.outputs.relativeError.toExponential(1)})`) : 'unchecked',
        s.runs,
      ]);
    }
    console.log(`${spec}`);
    console.log(table.toString());
  }
  for (const line of gpuLines(result.trials)) console.log(line);
  for (const line of [...lifecycleLines(result.trials), ...lifecycleWarnings(result.trials)]) console.log(line);
  for (const h of result.health.filter((x) => !x.healthy)) {
    console.log(
      `Warning: ${h.model} has unhealthy activations on the bench input (subnormal ${(100 * h.maxSubnormalFraction).toFixed(2)}% at worst, ` +
        `layer std ${h.minStd.toPrecision(2)}…${h.maxStd.toPrecision(2)}): subnormal floats slow CPUs down and distort timings; see 'formbench check'.`,
    );
  }
  for (const t of result.trials.filter((x) => x.status === 'ok' && x.reason)) console.log(`Note: ${t.model} ${t.engine} batch ${t.batch}: ${t.reason}`);
  const outliers = result.trials.filter((t) => t.summary && t.summary.outliers >= 2 && t.summary.outliers > 0.05 * t.summary.runs);
  if (outliers.length > 0) {
    console.log(`Warning: more than 5% outliers in ${outliers.length} trial(s); this machine is noisy: re-run on a quiet system or raise --budget-s.`);
  }
}
