/**
 * Predictions for user models: each engine's stored model (refused for another machine or engine
 * version, fit.ts), applied to the kernels that engine would run, and the predicted speed-up of
 * every accelerated engine over the native one (the seed paper's question, before measuring).
 */
import { availabilityOf, type EngineChoice } from '../engines/index.js';
import { UserError } from '../errors.js';
import type { Graph } from '../ir/index.js';
import { resolveModel } from '../model/index.js';
import type { CalibrationTables } from '../store/index.js';
import { loadEngineModel } from './fit.js';
import { predictGraph, type EngineLatencyModel, type Prediction, type SpeedScale } from './model.js';
import { speedCheck, speedScaleAt, type SpeedCheck } from './speed-check.js';

export interface LoadedModel {
  choice: EngineChoice;
  model: EngineLatencyModel;
  /** The machine's drift since the calibration, where it was checked: predictions are scaled by it. */
  speed?: SpeedCheck;
}

/** How an engine's predictions are scaled: by the speed check's drift near each one's latency, or not at all without a check. */
export function speedOf(l: LoadedModel): SpeedScale {
  const check = l.speed;
  return check ? (unscaledMs) => speedScaleAt(check, unscaledMs) : 1;
}

/** Runs the speed check of every loaded engine (speed-check.ts) and keeps it with its model. */
export async function checkSpeeds(tables: CalibrationTables, loaded: readonly LoadedModel[], fingerprint: string): Promise<LoadedModel[]> {
  const out: LoadedModel[] = [];
  for (const l of loaded) out.push({ ...l, speed: await speedCheck(l.choice, await tables.probes(fingerprint, l.choice.label, l.model.engineVersion)) });
  return out;
}

/** The stored model of each engine, for this machine and the engine versions installed. */
export async function loadModels(tables: CalibrationTables, engines: readonly EngineChoice[], fingerprint: string): Promise<LoadedModel[]> {
  const rows = await tables.models();
  const loaded: LoadedModel[] = [];
  for (const choice of engines) {
    const availability = await availabilityOf(choice.engine);
    if (!availability.available) throw new UserError(`${choice.label} is not available: ${availability.reason}`, 'predict with an engine that runs here (formbench engines lists them)');
    const probes = await tables.probes(fingerprint, choice.label, availability.version);
    loaded.push({ choice, model: loadEngineModel(rows, await tables.fusionRules(fingerprint, choice.label), choice.label, fingerprint, availability.version, probes) });
  }
  return loaded;
}

export interface PredictedSpeedup {
  engine: string;
  /** The native engine it is relative to. */
  over: string;
  /** Native latency ÷ this engine's. */
  ratio: number;
}

export interface ModelPrediction {
  model: string;
  batch: number;
  predictions: Prediction[];
  speedups: PredictedSpeedup[];
}

/** Native ÷ accelerated predicted latency for every (native, accelerated) pair among the engines. */
export function predictedSpeedups(loaded: readonly LoadedModel[], predictions: readonly Prediction[]): PredictedSpeedup[] {
  const role = new Map(loaded.map((l) => [l.choice.label, l.choice.engine.role]));
  const natives = predictions.filter((p) => role.get(p.engine) === 'native');
  return predictions.filter((p) => role.get(p.engine) !== 'native').flatMap((a) => natives.map((n) => ({ engine: a.engine, over: n.engine, ratio: n.latencyMs / a.latencyMs })));
}

export function predictModelGraph(spec: string, graph: Graph, loaded: readonly LoadedModel[], batch: number): ModelPrediction {
  const predictions = loaded.map((l) => predictGraph(l.model, graph, batch, speedOf(l)));
  return { model: spec, batch, predictions, speedups: predictedSpeedups(loaded, predictions) };
}

/** Predicts a spec or .onnx file (resolved as every command resolves models) on each loaded engine. */
export function predictSpec(spec: string, loaded: readonly LoadedModel[], batch: number): ModelPrediction {
  const resolved = resolveModel(spec);
  return predictModelGraph(resolved.spec, resolved.graph, loaded, batch);
}
