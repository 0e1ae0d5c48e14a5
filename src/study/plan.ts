import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { analyzeGraph } from '../analysis/index.js';
import { parseEngineChoice, type Engine, type EngineChoice, type PlanningRate } from '../engines/index.js';
import type { TimingBudget } from '../measure/index.js';
import { resolveModel, type ModelIdentity, type ResolvedModel } from '../model/index.js';
import { isPatternSpec, parsePatternSpec } from '../zoo/index.js';
import { STUDY_BUDGET, type CounterPlan, type ScenarioPlan, type Study } from './definition.js';

/** What a stored row says about its model, known before anything runs. */
export interface ModelFacts extends Omit<ModelIdentity, 'model'> {
  /** The identity's `model`: resolved, so a zoo name is its canonical spec. */
  spec: ModelIdentity['model'];
  /** Static cost of one sample; a batch of b costs b times as much. */
  macsPerSample: number;
  flopsPerSample: number;
  params: number;
  weightBytes: number;
  activationBytesPerSample: number;
}

export interface PlannedTrial {
  /** Stable identity of the trial on one machine, used to resume. */
  key: string;
  sweep: string;
  model: ModelFacts;
  batch: number;
  choice: EngineChoice;
  repetition: number;
  inputSeed: number;
  budget: TimingBudget;
  /** FLOPs per byte moved at this batch (the analysis's byte model), for the roofline. */
  arithmeticIntensity: number;
  /** Count this trial's hardware or simulated counters too. */
  counters?: CounterPlan;
  /** A rough guess for the plan and the ETA, from MACs and a per-engine rate. */
  estimatedSeconds: number;
}

/** One scenario run a study makes: a model × batch × engine × concurrent sessions under a sweep's scenario. */
export interface PlannedScenario {
  /** Stable identity on one machine, used to resume (the scenario's settings are part of it). */
  key: string;
  sweep: string;
  model: ModelFacts;
  batch: number;
  choice: EngineChoice;
  sessions: number;
  scenario: ScenarioPlan;
  repetition: number;
  inputSeed: number;
  estimatedSeconds: number;
}

/** The columns a stored trial or scenario run takes from its plan: who measured what, on which engine. */
export function plannedColumns(plan: StudyPlan, run: Pick<PlannedTrial, 'sweep' | 'model' | 'batch' | 'choice'>, fingerprint: string) {
  const m = run.model;
  return {
    fingerprint,
    study: plan.study.name,
    sweep: run.sweep,
    model: m.spec,
    modelKind: m.kind,
    pattern: m.pattern,
    depth: m.depth,
    width: m.width,
    resolution: m.resolution,
    batch: run.batch,
    engine: run.choice.label,
    engineName: run.choice.engine.name,
    engineRole: run.choice.engine.role,
  };
}

/** A fidelity check the study makes: a native engine against its framework's idiomatic execution. */
export interface PlannedFidelity {
  spec: string;
  batch: number;
  choice: EngineChoice;
  inputSeed: number;
  budget: TimingBudget;
  estimatedSeconds: number;
}

export interface StudyPlan {
  study: Study;
  trials: PlannedTrial[];
  /** The scenario sweeps' runs (offline throughput, streams, server rates), apart from the single-stream trials. */
  scenarios: PlannedScenario[];
  /** One check per model a native engine runs in the study, at its smallest batch (see fidelityChecks). */
  fidelity: PlannedFidelity[];
  reference: EngineChoice;
  /** Engine label the speed-ups are relative to. */
  baseline: string;
  /** Every model of the plan, resolved once (planning needs their graphs; the run prepares them). */
  resolved: Map<string, ResolvedModel>;
}

/**
 * Expands a study into its trials, checking every model and engine before anything runs so a
 * typo fails in a second, not an hour in. A trial listed by two sweeps runs once.
 */
export function planStudy(study: Study): StudyPlan {
  const facts = new Map<string, ModelFacts>();
  const resolved = new Map<string, ResolvedModel>();
  const intensity = new Map<string, number>();
  const intensityAt = (model: ModelFacts, batch: number): number => {
    const k = `${model.spec}|${batch}`;
    if (!intensity.has(k)) intensity.set(k, analyzeGraph(resolved.get(model.spec)!.graph, { batch }).arithmeticIntensity);
    return intensity.get(k)!;
  };
  const trials: PlannedTrial[] = [];
  const scenarios: PlannedScenario[] = [];
  const seen = new Set<string>();
  for (const sweep of study.sweeps) {
    const choices = sweep.engines.map(parseEngineChoice);
    for (const spec of sweep.models) {
      if (!facts.has(spec)) {
        const r = resolveModel(spec);
        resolved.set(r.spec, r);
        facts.set(spec, modelFacts(r));
      }
      const model = facts.get(spec)!;
      for (const batch of sweep.batches) {
        for (const choice of choices) {
          for (let repetition = 0; repetition < sweep.repetitions; repetition++) {
            if (sweep.scenario) {
              for (const sessions of sweep.scenario.streams) {
                const key = scenarioKey(model.spec, batch, choice, sweep.inputSeed, repetition, sessions, sweep.scenario);
                if (seen.has(key)) continue;
                seen.add(key);
                scenarios.push({ key, sweep: sweep.name, model, batch, choice, sessions, scenario: sweep.scenario, repetition, inputSeed: sweep.inputSeed, estimatedSeconds: estimateScenarioSeconds(model.macsPerSample * batch, choice.engine, sessions, sweep.scenario) });
              }
              continue;
            }
            const key = trialKey(model.spec, batch, choice, sweep.inputSeed, repetition, sweep.counters);
            if (seen.has(key)) continue;
            seen.add(key);
            const estimatedSeconds = estimateSeconds(model.macsPerSample * batch, choice.engine, sweep.budget) + (sweep.counters ? estimateCounterSeconds(model.macsPerSample * batch, sweep.counters) : 0);
            trials.push({ key, sweep: sweep.name, model, batch, choice, repetition, inputSeed: sweep.inputSeed, budget: sweep.budget, arithmeticIntensity: intensityAt(model, batch), ...(sweep.counters ? { counters: sweep.counters } : {}), estimatedSeconds });
          }
        }
      }
    }
  }
  const reference = parseEngineChoice(study.reference);
  const runs = [...trials, ...scenarios];
  const baseline = study.baseline ? parseEngineChoice(study.baseline).label : (runs.find((t) => t.choice.engine.role === 'native')?.choice.label ?? runs[0]!.choice.label);
  return { study, trials, scenarios, fidelity: fidelityChecks([...trials, ...scenarios.map((s) => ({ ...s, budget: STUDY_BUDGET }))]), reference, baseline, resolved };
}

/**
 * Every speed-up over a native engine is only as right as that engine's fidelity, so a study
 * checks it on each model the engine runs, at the smallest batch it runs the model at (the
 * report gives other batches the engine's mean over its checks, labelled as such; `formbench
 * fidelity --batch` checks any batch). In the quick study, checking batch 8 as well took as long
 * as all its trials together. The two sides share one timing budget without its extension: a
 * paired ratio needs fewer runs than a latency.
 */
function fidelityChecks(trials: Pick<PlannedTrial, 'model' | 'batch' | 'choice' | 'inputSeed' | 'budget'>[]): PlannedFidelity[] {
  const checks = new Map<string, PlannedFidelity>();
  for (const t of trials) {
    if (t.choice.engine.role !== 'native') continue;
    const key = `${t.model.spec}|${t.choice.label}`;
    const known = checks.get(key);
    if (known && known.batch <= t.batch) continue;
    const budget = { ...t.budget, maxTimedBudgetMs: t.budget.timedBudgetMs };
    checks.set(key, { spec: t.model.spec, batch: t.batch, choice: t.choice, inputSeed: t.inputSeed, budget, estimatedSeconds: 2 * estimateSeconds(t.model.macsPerSample * t.batch, t.choice.engine, budget) });
  }
  return [...checks.values()];
}

function modelFacts(model: ResolvedModel): ModelFacts {
  const cost = analyzeGraph(model.graph, { batch: 1 });
  const pattern = isPatternSpec(model.spec) ? parsePatternSpec(model.spec) : undefined;
  const input = model.graph.inputs[0]?.type.shape;
  const resolution = pattern?.resolution ?? (typeof input?.[2] === 'number' ? input[2] : null);
  return {
    spec: model.spec,
    kind: pattern ? 'pattern' : model.source === 'zoo' ? 'network' : 'file',
    pattern: pattern?.pattern ?? null,
    depth: pattern?.depth ?? null,
    width: pattern?.width ?? null,
    resolution,
    macsPerSample: cost.macs,
    flopsPerSample: cost.flops,
    params: cost.params,
    weightBytes: cost.weightBytes,
    activationBytesPerSample: cost.activationBytes,
  };
}

/** A file model's identity includes its size and modification time: an edited file is a new model. */
function trialKey(spec: string, batch: number, choice: EngineChoice, inputSeed: number, repetition: number, counters?: CounterPlan): string {
  return hashIdentity(trialIdentity(spec, batch, choice, inputSeed, repetition, counters ? { counters } : {}));
}

/** A scenario run's identity: the trial's, with the scenario's settings and the sessions (a longer run is a new measurement). */
function scenarioKey(spec: string, batch: number, choice: EngineChoice, inputSeed: number, repetition: number, sessions: number, scenario: ScenarioPlan): string {
  const { streams: _all, ...settings } = scenario;
  return hashIdentity({ ...trialIdentity(spec, batch, choice, inputSeed, repetition, {}), scenario: settings, sessions });
}

const hashIdentity = (identity: object): string => createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 20);

function trialIdentity(spec: string, batch: number, choice: EngineChoice, inputSeed: number, repetition: number, extra: object): object {
  let file: string | undefined;
  try {
    if (!isPatternSpec(spec) && /\.(onnx|json)$/i.test(spec)) {
      const s = statSync(spec);
      file = `${s.size}:${s.mtimeMs}`;
    }
  } catch {
    // A missing file has already failed in resolveModel.
  }
  // Options at their defaults stay out of the identity, so that a new engine option (whose default
  // is what ran before) does not make every stored trial look new.
  const options = Object.entries(choice.options)
    .filter(([k, v]) => choice.engine.options[k]?.defaultValue() !== v)
    .sort(([a], [b]) => a.localeCompare(b));
  return { spec, file, batch, engine: choice.engine.name, options, inputSeed, repetition, ...extra };
}

/** For engines that give no planning rate: a middling CPU engine. */
const GENERIC_RATE: PlanningRate = { gmacsPerS: 10, startupS: 0.8 };

export function estimateSeconds(macs: number, engine: Engine, budget: TimingBudget): number {
  const rate = engine.planningRate ?? GENERIC_RATE;
  const runS = macs / (rate.gmacsPerS * 1e9);
  const warmupS = Math.min(budget.warmupBudgetMs / 1000, 10 * runS) + runS;
  const timedS = Math.max(budget.minRuns * runS, Math.min(budget.timedBudgetMs / 1000, 30 * runS));
  // Start-up, model load, and the reference engine's one run for the same model and batch.
  return rate.startupS + 2 * runS + warmupS + timedS;
}

/**
 * A scenario run: each session's start-up and load, its first run and its warm-up (at least three
 * runs), then the measured duration plus the run in flight at its end; a server search probes
 * up to ten rates of at least 662 queries each, about a minute apiece.
 */
function estimateScenarioSeconds(macs: number, engine: Engine, sessions: number, scenario: ScenarioPlan): number {
  const rate = engine.planningRate ?? GENERIC_RATE;
  const runS = (macs / (rate.gmacsPerS * 1e9)) * sessions;
  const perSession = rate.startupS + runS + Math.max(scenario.warmupMs / 1000, 3 * runS);
  const measuredS = scenario.name === 'server' && scenario.findPeak ? 10 * 60 : scenario.durationMs / 1000 + runS;
  return sessions * perSession + measuredS;
}

/**
 * Counting under valgrind's cache simulator runs the warm-up and the counted inferences at
 * roughly a thousandth of native speed, after Node and the engine start under the simulator.
 */
function estimateCounterSeconds(macs: number, plan: CounterPlan): number {
  if (plan.mode === 'perf') return 2 + (plan.inferences + 1) * (macs / 50e9);
  const simulatedGmacsPerS = 0.05;
  return 40 + (1 + plan.inferences) * (macs / 1e9 / simulatedGmacsPerS);
}
