import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { engineChoice, parseEngineChoice } from '../engines/index.js';
import { UserError } from '../errors.js';
import { parseGeometry } from '../measure/index.js';
import { DEFAULT_COUNTED_INFERENCES, DEFAULT_COUNTER_TIMEOUT_MS, STUDY_BUDGET, type CounterPlan, type Study, type Sweep } from './definition.js';

/**
 * User studies as YAML. The smallest useful file names the study, its models and its engines;
 * everything else has a default. Unknown keys are errors, so a typo never silently does nothing.
 */
const positiveInt = z.number().int().positive();
const list = <T extends z.ZodType>(item: T) => z.array(item).min(1);

const budgetSchema = z.strictObject({
  /** Wall-clock budget of the timed runs per trial. */
  timedSeconds: z.number().positive().optional(),
  /** A trial whose interval is still wider than the target after timedSeconds runs on, up to this. */
  maxTimedSeconds: z.number().positive().optional(),
  warmupSeconds: z.number().nonnegative().optional(),
  /** Stop a trial once the 95% interval of its median is within ± this percent. */
  ciPercent: z.number().positive().optional(),
  minRuns: positiveInt.optional(),
  maxRuns: positiveInt.optional(),
});

const sweepFields = {
  models: list(z.string().min(1)),
  engines: list(z.string().min(1)),
  batches: list(positiveInt).optional(),
  repetitions: positiveInt.optional(),
  budget: budgetSchema.optional(),
  inputs: z.strictObject({ seed: z.number().int().nonnegative().optional() }).optional(),
  /** `perf`, or `{ simulate: paper | host | "<size>,<assoc>,<line>", inferences, timeoutSeconds }`. */
  counters: z
    .union([
      z.literal('perf'),
      z.strictObject({ simulate: z.string().min(1), inferences: positiveInt.optional(), timeoutSeconds: z.number().positive().optional() }),
    ])
    .optional(),
  /** Options added to every use of an engine that does not set them, e.g. `{ ort: { threads: 1 } }`. */
  engineOptions: z.record(z.string(), z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))).optional(),
};

const studySchema = z.union([
  z.strictObject({
    name: z.string().regex(/^[\w.-]+$/, 'letters, digits, ".", "-" and "_" only (it names the results folder)'),
    description: z.string().optional(),
    baseline: z.string().optional(),
    reference: z.string().optional(),
    ...sweepFields,
  }),
  z.strictObject({
    name: z.string().regex(/^[\w.-]+$/, 'letters, digits, ".", "-" and "_" only (it names the results folder)'),
    description: z.string().optional(),
    baseline: z.string().optional(),
    reference: z.string().optional(),
    sweeps: list(z.strictObject({ name: z.string().min(1), ...sweepFields })),
  }),
]);

type SweepFields = z.infer<z.ZodObject<typeof sweepFields>>;

export function readStudyFile(path: string): Study {
  if (!existsSync(path)) throw new UserError(`no such study file: ${path}`, `give a preset name or the path of a YAML study file`);
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, 'check indentation and quoting');
  }
  return parseStudy(doc, path);
}

/** Validates a parsed study document; `source` names it in errors and anchors relative model paths. */
export function parseStudy(doc: unknown, source: string): Study {
  const result = studySchema.safeParse(doc);
  if (!result.success) throw new UserError(`${source}: ${describeIssue(doc, result.error)}`, 'the smallest study file has name, models (list), engines (list); optional: batches, repetitions, budget, inputs, engineOptions, counters, baseline, reference');
  const s = result.data;
  const base = dirname(resolve(source));
  const sweeps = 'sweeps' in s ? s.sweeps.map((w) => toSweep(w.name, w, base)) : [toSweep(s.name, s, base)];
  return { name: s.name, description: s.description ?? `user study from ${source}`, sweeps, ...(s.baseline ? { baseline: s.baseline } : {}), reference: s.reference ?? 'ort:opt=disabled' };
}

function toSweep(name: string, f: SweepFields, base: string): Sweep {
  const b = f.budget ?? {};
  return {
    name,
    // Model files are relative to the study file, as a user reading the file would expect.
    models: f.models.map((m) => (/\.(onnx|json)$/i.test(m) && !isAbsolute(m) ? resolve(base, m) : m)),
    engines: f.engines.map((e) => withEngineOptions(e, f.engineOptions ?? {})),
    batches: f.batches ?? [1],
    repetitions: f.repetitions ?? 1,
    inputSeed: f.inputs?.seed ?? 1,
    ...(f.counters ? { counters: counterPlan(f.counters) } : {}),
    budget: {
      targetCiRelative: b.ciPercent !== undefined ? b.ciPercent / 100 : STUDY_BUDGET.targetCiRelative,
      timedBudgetMs: b.timedSeconds !== undefined ? b.timedSeconds * 1000 : STUDY_BUDGET.timedBudgetMs,
      maxTimedBudgetMs: b.maxTimedSeconds !== undefined ? b.maxTimedSeconds * 1000 : b.timedSeconds !== undefined ? b.timedSeconds * 1000 : STUDY_BUDGET.maxTimedBudgetMs!,
      warmupBudgetMs: b.warmupSeconds !== undefined ? b.warmupSeconds * 1000 : STUDY_BUDGET.warmupBudgetMs,
      minRuns: b.minRuns ?? STUDY_BUDGET.minRuns,
      maxRuns: b.maxRuns ?? STUDY_BUDGET.maxRuns,
    },
  };
}

function counterPlan(c: NonNullable<SweepFields['counters']>): CounterPlan {
  if (c === 'perf') return { mode: 'perf', inferences: DEFAULT_COUNTED_INFERENCES, timeoutMs: DEFAULT_COUNTER_TIMEOUT_MS };
  // Checked here so that a bad geometry fails before anything runs.
  parseGeometry(c.simulate);
  return { mode: 'simulate', geometry: c.simulate, inferences: c.inferences ?? DEFAULT_COUNTED_INFERENCES, timeoutMs: (c.timeoutSeconds ?? DEFAULT_COUNTER_TIMEOUT_MS / 1000) * 1000 };
}

/**
 * `ort` + `{ort: {threads: 1}}` → `ort:threads=1`; options written on the engine itself win. The
 * registry parses both (a bad value is refused here, naming the engine and option).
 */
function withEngineOptions(engine: string, defaults: Record<string, Record<string, string | number | boolean>>): string {
  const written = parseEngineChoice(engine);
  const extra = Object.entries(defaults[written.engine.name] ?? {}).filter(([k]) => !(k in written.given));
  // The written options first, as the label always showed them.
  return engineChoice(written.engine.name, { ...written.given, ...Object.fromEntries(extra.map(([k, v]) => [k, String(v)])) }).label;
}

/** One line naming the field at fault and what was expected. */
function describeIssue(doc: unknown, error: z.ZodError): string {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'expected a mapping with name, models and engines at the top level';
  // The two accepted shapes (flat, or with sweeps) make zod report a union; show the closest one's issue.
  const issue = innermostIssue(error.issues, 'sweeps' in doc ? 1 : 0);
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}${path ? ` in ${path}` : ''}`;
  const message = issue.message.replace(/^Invalid input: /, '');
  if (/received undefined$/.test(message)) return `${path} is missing (${message.replace(/, received undefined$/, '')})`;
  return `${path || 'study'}: ${message}`;
}

function innermostIssue(issues: z.core.$ZodIssue[], branch: number): z.core.$ZodIssue {
  const first = issues[0]!;
  if (first.code === 'invalid_union' && first.errors[branch]?.length) return innermostIssue(first.errors[branch]!, branch);
  return first;
}
