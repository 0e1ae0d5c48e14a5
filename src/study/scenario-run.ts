/**
 * A study's scenario sweeps: each planned run measured on the model the study prepared (the same
 * ONNX file its trials load), its sessions' outputs checked against the reference, and the result
 * turned into the row the `scenarios` table keeps.
 */
import { runMultiStream, runOffline, runServer, type ScenarioSetup } from '../measure/scenarios/index.js';
import type { Environment, PreparedModel } from '../measure/index.js';
import { scenarioFigures, type ScenarioResult, type StoredScenario } from '../store/index.js';
import { plannedColumns, type PlannedScenario, type StudyPlan } from './plan.js';

export function measureScenario(p: PlannedScenario, prepared: PreparedModel, reference?: { output: Float32Array; label: string }): Promise<ScenarioResult> {
  const s = p.scenario;
  const setup: ScenarioSetup = {
    spec: prepared.spec,
    onnxPath: prepared.onnxPath,
    graph: prepared.graph,
    choice: p.choice,
    batch: p.batch,
    sessions: p.sessions,
    inputSeed: p.inputSeed,
    durationMs: s.durationMs,
    warmupMs: s.warmupMs,
    ...(reference ? { reference } : {}),
  };
  if (s.name === 'offline') return runOffline(setup);
  if (s.name === 'multi-stream') return runMultiStream(setup);
  return runServer(setup, { ratePerS: s.ratePerS ?? 1, p99BoundMs: s.p99BoundMs!, seed: s.seed ?? 1, findPeak: s.findPeak === true, ...(s.findPeak && s.ratePerS !== undefined ? { startRatePerS: s.ratePerS } : {}) });
}

/** The stored row: the run's identity from the plan, its status, and the headline figures beside the whole result. */
export function scenarioRow(plan: StudyPlan, p: PlannedScenario, result: ScenarioResult, env: Environment, startedAt: Date): StoredScenario {
  return {
    scenarioKey: p.key,
    ...plannedColumns(plan, p, env.fingerprint),
    engineVersion: result.engineVersion ?? null,
    gpuAdapter: result.gpu ?? null,
    scenario: p.scenario.name,
    sessions: p.sessions,
    threads: result.threads.label,
    status: result.failed ? 'failed' : result.mismatch ? 'mismatch' : 'ok',
    reason: result.failed ?? result.mismatch ?? null,
    macsPerSample: p.model.macsPerSample,
    ...scenarioFigures(result),
    result,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  };
}
