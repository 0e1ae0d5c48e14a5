/**
 * The study a lab page runs: by default the six patterns' depth series at a size a phone finishes
 * in minutes, or any preset or study file with its engines replaced by the browser's. Planned by
 * study/plan.ts, so the page's trials have the CLI's keys, columns and estimates, and a browser's
 * rows sit beside a CLI run's of the same models.
 */
import { ortWebEngine, parseEngineList, registerEngine, tfjsWebEngine } from '../engines/index.js';
import { UserError } from '../errors.js';
import { STUDY_BUDGET, loadStudy, type Study, type StudyPlan } from '../study/index.js';
import { PATTERNS } from '../zoo/index.js';
import type { LabPlan } from './api.js';

export const LAB_DEPTHS = [10, 20, 30, 40, 50];
export const LAB_WIDTH = 32;
/** 112² keeps 28×28 body maps: standard/d50/w32 is 0.36 GMACs, a few hundred ms on a phone's wasm. */
export const LAB_RESOLUTION = 112;
/** The JavaScript ecosystem's native framework and onnxruntime's portable acceleration: the device's speed-up per pattern. */
export const DEFAULT_LAB_ENGINES = 'tfjs-web,ort-web';
const PAGE_ENGINES = [tfjsWebEngine, ortWebEngine];

export const LAB_STUDY: Study = {
  name: 'browser-depth',
  description: `6 patterns × depth ${LAB_DEPTHS[0]}–${LAB_DEPTHS.at(-1)} at width ${LAB_WIDTH}, ${LAB_RESOLUTION}² input, batch 1: the depth series at a size a phone finishes in minutes`,
  reference: 'ort:opt=disabled',
  sweeps: [
    {
      name: 'depth',
      models: PATTERNS.flatMap((p) => LAB_DEPTHS.map((d) => `${p}/d${d}/w${LAB_WIDTH}/r${LAB_RESOLUTION}`)),
      engines: DEFAULT_LAB_ENGINES.split(','),
      batches: [1],
      repetitions: 1,
      inputSeed: 1,
      budget: STUDY_BUDGET,
    },
  ],
};

/**
 * The study to serve, its engines replaced by the page's (a study file's `ort` is the CLI's run of
 * the same models). Counter and scenario sweeps measure what a page cannot, and are left out.
 */
export async function labStudy(nameOrPath: string | undefined, engines: string): Promise<{ study: Study; notes: string[] }> {
  for (const e of PAGE_ENGINES) registerEngine(e);
  const choices = parseEngineList(engines);
  const outside = choices.filter((c) => !PAGE_ENGINES.includes(c.engine));
  if (outside.length) throw new UserError(`the lab page runs ${PAGE_ENGINES.map((e) => e.name).join(' and ')} only, not ${outside.map((c) => c.label).join(', ')}`, `give --engines ${DEFAULT_LAB_ENGINES} (ort-web's options: threads=all|N, opt=disabled|basic|extended|all); run the CLI's engines with 'formbench study'`);
  // onnxruntime-web fixes its thread count when its wasm starts, once per page.
  if (new Set(choices.filter((c) => 'threads' in c.options).map((c) => c.options['threads'])).size > 1) throw new UserError(`--engines ${engines} asks for several thread counts; a page starts onnxruntime-web's wasm once, with one`, 'serve one thread count at a time (e.g. ort-web:threads=1), into the same --out');
  // A preset's notes are about the CLI engines it chose, which the page's replace.
  const study = nameOrPath === undefined ? LAB_STUDY : (await loadStudy(nameOrPath)).study;
  const notes: string[] = [];
  const kept = study.sweeps.filter((s) => !s.counters && !s.scenario);
  for (const s of study.sweeps) if (!kept.includes(s)) notes.push(`sweep ${s.name} left out: ${s.counters ? 'counters' : 'load scenarios'} are measured by 'formbench study', not in a browser`);
  if (!kept.length) throw new UserError(`study ${study.name} has no sweep a browser can run`, 'give a study with single-stream sweeps (no counters, no scenario)');
  const labels = choices.map((c) => c.label);
  const native = choices.find((c) => c.engine.role === 'native');
  return { study: { ...study, baseline: (native ?? choices[0]!).label, sweeps: kept.map((s) => ({ ...s, engines: labels })) }, notes };
}

/** The plan as the page gets it: the models by index, each trial with its input's shape and budget. */
export function labPlan(plan: StudyPlan): LabPlan {
  const models = [...new Set(plan.trials.map((t) => t.model.spec))];
  return {
    study: plan.study.name,
    description: plan.study.description,
    reference: plan.reference.label,
    models,
    trials: plan.trials.map((t) => {
      const shape = plan.resolved.get(t.model.spec)!.graph.inputs[0]!.type.shape;
      return {
        key: t.key,
        modelIndex: models.indexOf(t.model.spec),
        model: t.model.spec,
        pattern: t.model.pattern,
        depth: t.model.depth,
        width: t.model.width,
        batch: t.batch,
        engine: t.choice.label,
        engineName: t.choice.engine.name,
        engineRole: t.choice.engine.role,
        options: t.choice.options,
        inputSeed: t.inputSeed,
        inputDims: shape.map((d, i) => (i === 0 ? t.batch : Number(d))),
        budget: t.budget,
        estimatedSeconds: t.estimatedSeconds,
      };
    }),
  };
}
