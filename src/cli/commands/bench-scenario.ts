/**
 * `formbench bench --scenario multi-stream|server|offline`: the options the scenarios take,
 * checked before any worker starts, and their tables. Single-stream is bench itself.
 */
import { parseEngineList, requireRunnable } from '../../engines/index.js';
import { UserError } from '../../errors.js';
import { defaultReference, INPUT_SEED, referenceOutput, withPreparedModel } from '../../measure/index.js';
import { DEFAULT_P99_BOUND_MS, runMultiStream, runOffline, runServer, SCENARIOS, SESSION_WARMUP_MS, type ClosedLoopResult, type PercentileClaim, type ScenarioName, type ScenarioSetup, type ServerResult, type ServerRun } from '../../measure/scenarios/index.js';
import { makeTable, printJson } from '../format.js';

/** What bench's scenario flags hold as commander parsed them (strings, checked here). */
export interface ScenarioFlags {
  scenario?: string;
  streams?: string;
  rate?: string;
  p99Ms?: string;
  findPeak?: boolean;
  seed?: string;
  /** bench's own flag: speed-ups belong to single-stream trials. */
  baseline?: string;
}

export interface ScenarioOptions {
  scenario: ScenarioName;
  streams: number[];
  ratePerS?: number;
  p99BoundMs: number;
  findPeak: boolean;
  seed: number;
}


const positive = (flag: string, raw: string, integer: boolean, hint: string): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UserError(`${flag} ${raw} is not a positive ${integer ? 'whole number' : 'number'}`, hint);
  return n;
};

/** The scenario flags checked together: one readable error for any bad or misplaced one. */
export function scenarioOptions(f: ScenarioFlags): ScenarioOptions {
  const scenario = (f.scenario ?? 'single-stream') as ScenarioName;
  if (!SCENARIOS.includes(scenario)) throw new UserError(`unknown scenario '${f.scenario}'`, `scenarios: ${SCENARIOS.join(', ')}`);
  const only = (flag: string, given: boolean, allowed: ScenarioName[]) => {
    if (given && !allowed.includes(scenario)) throw new UserError(`${flag} is for --scenario ${allowed.join(' or ')}, not ${scenario}`, `add --scenario ${allowed[0]}`);
  };
  only('--rate', f.rate !== undefined, ['server']);
  only('--find-peak', f.findPeak === true, ['server']);
  only('--p99-ms', f.p99Ms !== undefined, ['server']);
  only('--streams', f.streams !== undefined, ['offline', 'multi-stream', 'server']);
  only('--seed', f.seed !== undefined, ['server']);
  if (f.baseline !== undefined && scenario !== 'single-stream') throw new UserError(`--baseline is for the single-stream trials, not --scenario ${scenario}`, 'scenarios report each engine on its own; drop --baseline');
  const streams = f.streams === undefined ? [1] : f.streams.split(',').map((s) => positive('--streams', s.trim(), true, 'give concurrent sessions as whole numbers from 1, e.g. --streams 1,2'));
  const ratePerS = f.rate === undefined ? undefined : positive('--rate', f.rate, false, 'give the arrival rate in queries per second, e.g. --rate 50');
  if (scenario === 'server' && ratePerS === undefined && !f.findPeak) throw new UserError('--scenario server needs --rate <queries/s> or --find-peak', 'e.g. --rate 50, or --find-peak to search the highest rate that meets --p99-ms');
  const p99BoundMs = f.p99Ms === undefined ? DEFAULT_P99_BOUND_MS : positive('--p99-ms', f.p99Ms, false, `give the p99 latency bound in ms (default ${DEFAULT_P99_BOUND_MS})`);
  const seed = f.seed === undefined ? 1 : Number(f.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UserError(`--seed ${f.seed} is not a whole number from 0`, 'the seed of the Poisson arrivals, e.g. --seed 1');
  return { scenario, streams, ...(ratePerS !== undefined ? { ratePerS } : {}), p99BoundMs, findPeak: f.findPeak === true, seed };
}

/**
 * Runs a scenario other than single-stream and prints it; answers false for single-stream,
 * which bench runs as it always has. Every flag is checked before any worker starts.
 */
export async function benchScenario(specs: string[], o: ScenarioFlags & { engines: string; batch: number[]; budgetS: number; json?: boolean }): Promise<boolean> {
  const options = scenarioOptions(o);
  if (options.scenario === 'single-stream') return false;
  const engines = parseEngineList(o.engines);
  await requireRunnable(engines);
  const results: (ClosedLoopResult | ServerResult)[] = [];
  for (const spec of specs) {
    await withPreparedModel(
      spec,
      async (prepared) => {
        for (const batch of o.batch) {
          // Every session's outputs are checked against the reference engine, as a trial's are.
          const reference = defaultReference();
          const output = await referenceOutput(reference, prepared.onnxPath, prepared.spec, batch, INPUT_SEED);
          for (const choice of engines)
            for (const sessions of options.streams) {
              const setup: ScenarioSetup = { spec: prepared.spec, onnxPath: prepared.onnxPath, graph: prepared.graph, choice, batch, sessions, inputSeed: INPUT_SEED, durationMs: o.budgetS * 1000, warmupMs: SESSION_WARMUP_MS, ...(output ? { reference: { output, label: reference.label } } : {}) };
              if (!o.json) process.stderr.write(`${options.scenario}: ${prepared.spec} ${choice.label} batch ${batch}, ${sessions} session(s)…\n`);
              results.push(await runOne(setup, options, o.json ? undefined : probeLine));
            }
        }
      },
      o.batch,
    );
  }
  if (o.json) printJson({ scenario: options.scenario, ...(options.scenario === 'server' ? { p99BoundMs: options.p99BoundMs, seed: options.seed } : {}), results });
  else printScenario(options, o.budgetS, results);
  return true;
}

/** A find-peak probe as it ends, on stderr: a search at low rates takes minutes. */
function probeLine(run: ServerRun): void {
  const p99 = run.percentiles.find((c) => c.q === 0.99);
  const what = run.stoppedEarly ?? (p99?.supported ? `p99 ${ms(p99.valueMs)} ms` : (p99?.reason ?? ''));
  process.stderr.write(`  probe ${run.targetRatePerS.toFixed(1)} q/s: ${run.p99Met ? 'met' : 'not met'} (${what})\n`);
}

function runOne(setup: ScenarioSetup, o: ScenarioOptions, onProbe?: (run: ServerRun) => void): Promise<ClosedLoopResult | ServerResult> {
  if (o.scenario === 'server') {
    return runServer(setup, { ratePerS: o.ratePerS ?? 1, p99BoundMs: o.p99BoundMs, seed: o.seed, findPeak: o.findPeak, ...(o.findPeak && o.ratePerS !== undefined ? { startRatePerS: o.ratePerS } : {}), ...(onProbe ? { onProbe } : {}) });
  }
  return o.scenario === 'offline' ? runOffline(setup) : runMultiStream(setup);
}

const ms = (x: number) => x.toFixed(3);

/** A supported percentile as value (95% interval); a refused one as 'refused', never a number. */
function claimCell(c: PercentileClaim | undefined): string {
  if (!c) return '-';
  if (!c.supported) return 'refused';
  return `${ms(c.valueMs)}${c.ciMs ? ` (${ms(c.ciMs[0])}–${ms(c.ciMs[1])})` : ''}`;
}

function overlapCell(r: ClosedLoopResult | ServerResult, run?: { concurrency?: ClosedLoopResult['concurrency'] }): string {
  const c = run?.concurrency;
  if (!c || c.overlapFraction === undefined) return '-';
  return `${(100 * c.overlapFraction).toFixed(0)}%${c.spansIntersect ? '' : ' (apart)'}`;
}

function printScenario(o: ScenarioOptions, budgetS: number, results: (ClosedLoopResult | ServerResult)[]): void {
  const refusals = new Set<string>();
  const claims = (ps: PercentileClaim[] | undefined) => {
    for (const c of ps ?? []) if (!c.supported) refusals.add(c.reason);
    return [0.5, 0.9, 0.99].map((q) => claimCell(ps?.find((c) => c.q === q)));
  };
  for (const model of [...new Set(results.map((r) => r.model))]) {
    const own = results.filter((r) => r.model === model);
    console.log(`${model} · ${o.scenario}${o.scenario === 'server' ? ` · p99 bound ${o.p99BoundMs} ms` : ''}`);
    if (o.scenario === 'offline' || o.scenario === 'multi-stream') {
      const latency = o.scenario === 'multi-stream';
      const table = makeTable(['engine', 'batch', 'sessions', 'threads', 'images/s', 'per session', ...(latency ? ['p50 ms (95% CI)', 'p90 ms', 'p99 ms'] : []), 'overlap', 'queries']);
      for (const r of own as ClosedLoopResult[]) {
        if (r.failed) {
          table.push([r.engine, r.batch, r.sessions, r.threads.label, { colSpan: latency ? 7 : 4, content: `failed: ${r.failed}` }]);
          continue;
        }
        table.push([r.engine, r.batch, r.sessions, r.threads.label, r.imagesPerS!.toFixed(1), r.perSessionImagesPerS!.map((x) => x.toFixed(1)).join(' + '), ...(latency ? claims(r.percentiles) : []), overlapCell(r, r), r.queries!]);
      }
      console.log(table.toString());
      const ok = (own as ClosedLoopResult[]).filter((r) => r.imagesPerS !== undefined);
      const best = ok.sort((a, b) => b.imagesPerS! - a.imagesPerS!)[0];
      if (best) console.log(`Peak throughput: ${best.imagesPerS!.toFixed(1)} images/s at batch ${best.batch} with ${best.threads.label} (${best.engine}).`);
    } else {
      for (const r of own as ServerResult[]) {
        if (r.failed) {
          console.log(`${r.engine} batch ${r.batch}, ${r.sessions} session(s): failed: ${r.failed}`);
          continue;
        }
        const runs: ServerRun[] = r.peak ? r.peak.runs : [r.run!];
        const table = makeTable(['engine', 'batch', 'threads', 'target q/s', 'achieved q/s', 'p50 ms (95% CI)', 'p90 ms', 'p99 ms', `p99 ≤ ${o.p99BoundMs} ms`, 'overlap', 'queries']);
        for (const run of runs) {
          const met = run.stoppedEarly ? 'no (stopped early)' : run.p99Met === undefined ? 'unknown (p99 refused)' : run.p99Met ? 'yes' : 'no';
          table.push([r.engine, r.batch, r.threads.label, run.targetRatePerS.toFixed(1), run.achievedRatePerS.toFixed(1), ...claims(run.stoppedEarly ? undefined : run.percentiles), met, overlapCell(r, run), run.queries]);
        }
        console.log(table.toString());
        const late = runs.map((x) => x.arrivalLateMs);
        console.log(`Arrivals were queued a median ${ms(Math.max(...late.map((l) => l.median)))} ms (at most ${ms(Math.max(...late.map((l) => l.max)))} ms) after their schedule: the harness's timers, counted in every latency.`);
        if (r.peak) {
          const p = r.peak;
          const why = p.stoppedBy === 'tolerance' ? 'bracket within 5%' : p.stoppedBy === 'max-probes' ? 'probe limit reached' : 'down to the lowest rate probed';
          console.log(
            p.peakRatePerS !== undefined
              ? `Peak rate: ${p.peakRatePerS.toFixed(1)} queries/s with p99 ≤ ${o.p99BoundMs} ms (${r.engine}, batch ${r.batch}, ${r.threads.label})${p.failedRatePerS !== undefined ? `; ${p.failedRatePerS.toFixed(1)} queries/s did not meet it` : ''}; ${p.probes.length} probes, ${why}.`
              : `Peak rate: none found: no probed rate met p99 ≤ ${o.p99BoundMs} ms (${why}; no probe below ${p.minRatePerS.toFixed(1)} q/s, where its 662 queries would take over ${Math.max(60, budgetS)} s).`,
          );
        }
      }
    }
    for (const r of own) {
      if (r.mismatch) console.log(`Mismatch: ${r.engine} batch ${r.batch}: ${r.mismatch}; its figures above are not to be trusted.`);
      if (r.threads.oversubscribed) console.log(`Note: ${r.engine} batch ${r.batch}: ${r.threads.label}: more threads than cores, the sessions compete for them.`);
      const c = 'concurrency' in r ? r.concurrency : (r as ServerResult).run?.concurrency;
      if (r.sessions > 1 && c && (!c.spansIntersect || (c.overlapFraction ?? 0) < 0.5)) console.log(`Warning: ${r.engine} batch ${r.batch}: the ${r.sessions} sessions ran together only ${(100 * (c.overlapFraction ?? 0)).toFixed(0)}% of the time: they were not really concurrent.`);
    }
  }
  for (const reason of refusals) console.log(`Refused: ${reason}; run longer (--budget-s) or at a higher rate for this claim.`);
}
