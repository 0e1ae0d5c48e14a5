/**
 * A study travels to the workers as data: the document a study file would hold, which every
 * worker validates with the study files' own schema (study/file.ts parseStudy) and plans itself.
 * Only what every machine can rebuild from a name travels: zoo models and packaged networks, not
 * files (a path on the submitting machine means nothing on a worker, and a worker opens no path
 * it is sent).
 */
import { UserError } from '../errors.js';
import { isOnnxPath } from '../model/index.js';
import type { Study } from '../study/index.js';

/** The study as a study-file document that parseStudy accepts and plans to the same trial keys. */
export function studyDocument(study: Study): Record<string, unknown> {
  return {
    name: study.name,
    description: study.description,
    ...(study.baseline ? { baseline: study.baseline } : {}),
    reference: study.reference,
    sweeps: study.sweeps.map((w) => ({
      name: w.name,
      models: w.models,
      engines: w.engines,
      batches: w.batches,
      repetitions: w.repetitions,
      inputs: { seed: w.inputSeed },
      budget: {
        timedSeconds: w.budget.timedBudgetMs / 1000,
        maxTimedSeconds: (w.budget.maxTimedBudgetMs ?? w.budget.timedBudgetMs) / 1000,
        warmupSeconds: w.budget.warmupBudgetMs / 1000,
        ciPercent: w.budget.targetCiRelative * 100,
        minRuns: w.budget.minRuns,
        maxRuns: w.budget.maxRuns,
      },
      ...(w.counters ? { counters: w.counters.mode === 'perf' ? 'perf' : { simulate: w.counters.geometry, inferences: w.counters.inferences, timeoutSeconds: w.counters.timeoutMs / 1000 } } : {}),
    })),
  };
}

/** Why a model spec cannot run on a fleet, if it cannot. */
export function fleetModelRefusal(spec: string): string | undefined {
  if (spec.startsWith('nsfwjs:')) return undefined;
  if (isOnnxPath(spec) || /\.json$/i.test(spec) || /^[/.~]|\\|(^|\/)\.\.(\/|$)/.test(spec)) return `model '${spec}' is a file: a fleet runs zoo models and packaged networks only, which every worker rebuilds from their name`;
  return undefined;
}

/** A study a fleet cannot run, refused before anything is queued (and again by every worker). */
export function checkFleetStudy(study: Study, source: string): void {
  for (const sweep of study.sweeps) {
    const refusal = sweep.models.map(fleetModelRefusal).find(Boolean);
    if (refusal) throw new UserError(`${source}: ${refusal}`, 'run file models with a local study, or give zoo specs such as standard/d10/w32');
    if (sweep.scenario) throw new UserError(`${source}: sweep '${sweep.name}' is a ${sweep.scenario.name} scenario, which a fleet does not run`, 'run scenario sweeps with a local study; a fleet runs single-stream trials');
  }
}
