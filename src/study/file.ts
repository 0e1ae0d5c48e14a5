import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { engineChoice, parseEngineChoice } from '../engines/index.js';
import { UserError } from '../errors.js';
import { readInputText } from '../input/files.js';
import { MAX_BATCH } from '../ir/index.js';
import { parseGeometry } from '../measure/index.js';
import { DEFAULT_P99_BOUND_MS, SESSION_WARMUP_MS } from '../measure/scenarios/index.js';
import { DEFAULT_COUNTED_INFERENCES, DEFAULT_COUNTER_TIMEOUT_MS, STUDY_BUDGET, STUDY_SCENARIO_DURATION_MS, type CounterPlan, type ScenarioPlan, type Study, type Sweep } from './definition.js';

/**
 * User studies as YAML. The smallest useful file names the study, its models and its engines;
 * everything else has a default. Unknown keys are errors, so a typo never silently does nothing.
 */
const positiveInt = z.number().int().positive();
const list = <T extends z.ZodType>(item: T) => z.array(item).min(1);

/**
 * Upper bounds on every number and list, so that a slip (`repetitions: 1000000000`) is refused
 * before planning instead of planning forever. Each is far above any study that finishes: the
 * plan limit of 100,000 trials is a month of trials at the default budget of up to 25 s.
 */
export const STUDY_LIMITS = {
  trials: 100_000,
  repetitions: 1_000,
  listLength: 10_000,
  seconds: 24 * 3600,
  /** minRuns forces runs past the time budget, so it is the one bounded tightly. */
  minRuns: 100_000,
  /** maxRuns only stops a trial early; the time budget ends it anyway. */
  maxRuns: 1_000_000_000,
  countedInferences: 10_000,
  seed: 2 ** 32 - 1,
  /** Each session is a worker process holding the model. */
  sessions: 32,
  /** Arrivals per second of a server scenario: a million is far past any engine here. */
  ratePerS: 1_000_000,
} as const;

const atMost = (max: number, what: string) => ({ message: `at most ${max} ${what}` });
const seconds = z.number().positive().max(STUDY_LIMITS.seconds, atMost(STUDY_LIMITS.seconds, 'seconds (a day)'));
const longList = <T extends z.ZodType>(item: T) => list(item).max(STUDY_LIMITS.listLength, atMost(STUDY_LIMITS.listLength, 'entries'));

const budgetSchema = z.strictObject({
  /** Wall-clock budget of the timed runs per trial. */
  timedSeconds: seconds.optional(),
  /** A trial whose interval is still wider than the target after timedSeconds runs on, up to this. */
  maxTimedSeconds: seconds.optional(),
  warmupSeconds: z.number().nonnegative().max(STUDY_LIMITS.seconds, atMost(STUDY_LIMITS.seconds, 'seconds (a day)')).optional(),
  /** Stop a trial once the 95% interval of its median is within ± this percent. */
  ciPercent: z.number().positive().max(100, atMost(100, 'percent')).optional(),
  minRuns: positiveInt.max(STUDY_LIMITS.minRuns, atMost(STUDY_LIMITS.minRuns, 'runs')).optional(),
  maxRuns: positiveInt.max(STUDY_LIMITS.maxRuns, atMost(STUDY_LIMITS.maxRuns, 'runs')).optional(),
});

const sweepFields = {
  models: longList(z.string().min(1).max(4096)),
  engines: longList(z.string().min(1).max(4096)),
  batches: longList(positiveInt.max(MAX_BATCH, atMost(MAX_BATCH, '(the largest batch formbench runs)'))).optional(),
  repetitions: positiveInt.max(STUDY_LIMITS.repetitions, atMost(STUDY_LIMITS.repetitions, 'repetitions')).optional(),
  budget: budgetSchema.optional(),
  inputs: z.strictObject({ seed: z.number().int().nonnegative().max(STUDY_LIMITS.seed, atMost(STUDY_LIMITS.seed, '(a 32-bit seed)')).optional() }).optional(),
  /** `perf`, or `{ simulate: paper | host | "<size>,<assoc>,<line>", inferences, timeoutSeconds }`. */
  counters: z
    .union([
      z.literal('perf'),
      z.strictObject({
        simulate: z.string().min(1),
        inferences: positiveInt.max(STUDY_LIMITS.countedInferences, atMost(STUDY_LIMITS.countedInferences, 'inferences')).optional(),
        timeoutSeconds: seconds.optional(),
      }),
    ])
    .optional(),
  /**
   * A load scenario instead of single-stream trials: `offline`, or `{ name: server, rate: 50 }`,
   * `{ name: server, findPeak: true, p99Ms: 20 }`, `{ name: multi-stream, streams: [2] }`.
   */
  scenario: z
    .union([
      z.enum(['single-stream', 'offline', 'multi-stream', 'server']),
      z.strictObject({
        name: z.enum(['single-stream', 'offline', 'multi-stream', 'server']),
        streams: list(positiveInt.max(STUDY_LIMITS.sessions, atMost(STUDY_LIMITS.sessions, 'concurrent sessions'))).max(STUDY_LIMITS.sessions, atMost(STUDY_LIMITS.sessions, 'entries')).optional(),
        seconds: seconds.optional(),
        warmupSeconds: z.number().nonnegative().max(STUDY_LIMITS.seconds, atMost(STUDY_LIMITS.seconds, 'seconds (a day)')).optional(),
        rate: z.number().positive().max(STUDY_LIMITS.ratePerS, atMost(STUDY_LIMITS.ratePerS, 'queries per second')).optional(),
        findPeak: z.boolean().optional(),
        p99Ms: z.number().positive().max(STUDY_LIMITS.seconds * 1000, atMost(STUDY_LIMITS.seconds * 1000, 'ms (a day)')).optional(),
        seed: z.number().int().nonnegative().max(STUDY_LIMITS.seed, atMost(STUDY_LIMITS.seed, '(a 32-bit seed)')).optional(),
      }),
    ])
    .optional(),
  /** Options added to every use of an engine that does not set them, e.g. `{ ort: { threads: 1 } }`. */
  engineOptions: z.record(z.string(), z.record(z.string(), z.union([z.string().max(4096), z.number(), z.boolean()]))).optional(),
};

const studySchema = z.union([
  z.strictObject({
    name: z.string().max(200).regex(/^[\w.-]+$/, 'letters, digits, ".", "-" and "_" only (it names the results folder)'),
    description: z.string().optional(),
    baseline: z.string().optional(),
    reference: z.string().optional(),
    ...sweepFields,
  }),
  z.strictObject({
    name: z.string().max(200).regex(/^[\w.-]+$/, 'letters, digits, ".", "-" and "_" only (it names the results folder)'),
    description: z.string().optional(),
    baseline: z.string().optional(),
    reference: z.string().optional(),
    sweeps: longList(z.strictObject({ name: z.string().min(1).max(200), ...sweepFields })),
  }),
]);

type SweepFields = z.infer<z.ZodObject<typeof sweepFields>>;

/** A study file is a page of YAML; 1 MiB is thousands of models. */
const STUDY_FILE = { what: 'study file', maxBytes: 2 ** 20, hint: 'give a preset name or the path of a YAML study file' };

export function readStudyFile(path: string): Study {
  const text = readInputText(path, STUDY_FILE);
  checkNesting(text, path);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new UserError(`${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, 'check indentation and quoting');
  }
  return parseStudy(doc, path);
}

/**
 * A study file nests a few levels (sweeps → budget → a value); the YAML parser recurses per level,
 * and 100,000 open brackets after a key ran it out of memory (a fatal abort, not an error). So
 * the depth is measured first, without parsing: flow brackets, and a line's indentation and
 * leading "- " markers, each counted as a level.
 */
export const MAX_STUDY_NESTING = 64;

function checkNesting(text: string, source: string): void {
  let depth = 0;
  let quote = '';
  let lineStart = true;
  let column = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      lineStart = true;
      column = 0;
      if (quote === "'") quote = '';
      continue;
    }
    if (lineStart) {
      if (c === ' ' || c === '\t' || ((c === '-' || c === '?') && text[i + 1] === ' ')) {
        // A block level costs at least one column; half the column count is a generous bound.
        if (++column / 2 > MAX_STUDY_NESTING) throw nestingError(source);
        continue;
      }
      lineStart = false;
    }
    if (quote) {
      if (c === quote && text[i - 1] !== '\\') quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_STUDY_NESTING) throw nestingError(source);
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
}

function nestingError(source: string): UserError {
  return new UserError(`${source} nests more than ${MAX_STUDY_NESTING} levels deep`, 'a study file is a mapping of a few levels: name, models, engines, and optional sweeps with their budget');
}

/** Validates a parsed study document; `source` names it in errors and anchors relative model paths. */
export function parseStudy(doc: unknown, source: string): Study {
  const result = studySchema.safeParse(doc);
  if (!result.success) throw new UserError(`${source}: ${describeIssue(doc, result.error)}`, 'the smallest study file has name, models (list), engines (list); optional: batches, repetitions, budget, inputs, engineOptions, counters, scenario, baseline, reference');
  const s = result.data;
  const streams = (w: SweepFields) => (typeof w.scenario === 'object' ? (w.scenario.streams?.length ?? 1) : 1);
  const trials = ('sweeps' in s ? s.sweeps : [s]).reduce((n, w) => n + w.models.length * w.engines.length * (w.batches?.length ?? 1) * (w.repetitions ?? 1) * streams(w), 0);
  if (trials > STUDY_LIMITS.trials) {
    throw new UserError(`${source}: the study plans ${trials} trials, more than the ${STUDY_LIMITS.trials} formbench runs in one study`, 'split it into several studies, or use fewer models, engines, batches or repetitions');
  }
  const base = dirname(resolve(source));
  const sweeps = 'sweeps' in s ? s.sweeps.map((w, i) => toSweep(w.name, w, base, `${source}: sweeps[${i}]`)) : [toSweep(s.name, s, base, source)];
  return { name: s.name, description: s.description ?? `user study from ${source}`, sweeps, ...(s.baseline ? { baseline: s.baseline } : {}), reference: s.reference ?? 'ort:opt=disabled' };
}

function toSweep(name: string, f: SweepFields, base: string, where: string): Sweep {
  const b = f.budget ?? {};
  const scenario = f.scenario === undefined ? undefined : scenarioPlan(f, where);
  return {
    name,
    // Model files are relative to the study file, as a user reading the file would expect.
    models: f.models.map((m) => (/\.(onnx|json)$/i.test(m) && !isAbsolute(m) ? resolve(base, m) : m)),
    engines: f.engines.map((e) => withEngineOptions(e, f.engineOptions ?? {})),
    batches: f.batches ?? [1],
    repetitions: f.repetitions ?? 1,
    inputSeed: f.inputs?.seed ?? 1,
    ...(f.counters ? { counters: counterPlan(f.counters) } : {}),
    ...(scenario ? { scenario } : {}),
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

/**
 * A sweep's `scenario:` as a plan, each key checked against the scenario it belongs to: a rate
 * on an offline sweep would silently do nothing, so it is an error, as in bench's flags.
 * Single-stream is the plain sweep (no plan).
 */
function scenarioPlan(f: SweepFields, where: string): ScenarioPlan | undefined {
  const given = typeof f.scenario === 'string' ? { name: f.scenario } : f.scenario!;
  const fail = (what: string, hint: string) => new UserError(`${where}: ${what}`, hint);
  const keys = Object.keys(given).filter((k) => k !== 'name');
  if (given.name === 'single-stream') {
    if (keys.length) throw fail(`scenario single-stream takes no ${keys.map((k) => `'${k}'`).join(', ')}`, 'single-stream is a plain sweep: give its budget instead, or name another scenario');
    return undefined;
  }
  const serverOnly = ['rate', 'findPeak', 'p99Ms', 'seed'].filter((k) => k in given);
  if (given.name !== 'server' && serverOnly.length) throw fail(`${serverOnly.map((k) => `'${k}'`).join(', ')} ${serverOnly.length > 1 ? 'are' : 'is'} for scenario server, not ${given.name}`, 'set name: server, or drop the key');
  if (given.name === 'server' && given.rate === undefined && given.findPeak !== true) throw fail('scenario server needs a rate (queries/s) or findPeak: true', 'e.g. scenario: { name: server, rate: 50 }, or { name: server, findPeak: true, p99Ms: 20 }');
  if (f.budget) throw fail(`budget is for single-stream trials, not scenario ${given.name}`, 'a scenario runs for scenario.seconds (default 3) after scenario.warmupSeconds (default 1) per session');
  if (f.counters) throw fail(`counters are counted on single-stream trials, not scenario ${given.name}`, 'put the counters in a sweep of its own without a scenario');
  return {
    name: given.name,
    streams: given.streams ?? [1],
    durationMs: given.seconds !== undefined ? given.seconds * 1000 : STUDY_SCENARIO_DURATION_MS,
    warmupMs: given.warmupSeconds !== undefined ? given.warmupSeconds * 1000 : SESSION_WARMUP_MS,
    ...(given.name === 'server'
      ? { ...(given.rate !== undefined ? { ratePerS: given.rate } : {}), findPeak: given.findPeak === true, p99BoundMs: given.p99Ms ?? DEFAULT_P99_BOUND_MS, seed: given.seed ?? 1 }
      : {}),
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
  // Only the top level's union (flat file or sweeps) is descended: a key's own union (scenario: a
  // name or a mapping) is reported at that key, with what each of its forms expected.
  if (first.code === 'invalid_union' && first.path.length === 0 && first.errors[branch]?.length) return innermostIssue(first.errors[branch]!, branch);
  if (first.code === 'invalid_union') {
    const forms = first.errors.map((e) => e[0]?.message.replace(/^Invalid (input|option): /, '')).filter(Boolean);
    return { ...first, message: `expected ${forms.map((f) => f!.replace(/^expected /, '')).join(', or ')}` };
  }
  return first;
}
