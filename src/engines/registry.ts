import { UserError } from '../errors.js';
import type { Availability, Engine, Numerics } from './engine.js';
import { FP32_NUMERICS } from './precision.js';
import { ortEngine } from './ort.js';
import { ortWasmEngine } from './ort-wasm.js';
import { ortWebgpuEngine } from './ort-webgpu.js';
import { tfjsCpuEngine, tfjsWasmEngine, tfjsWebgpuEngine } from './tfjs.js';
import { litertEngine } from './litert.js';
import { torchEngine } from './torch.js';

/** Every engine formbench knows, in the order reports list them. */
export const ENGINES: Engine[] = [torchEngine, ortEngine, ortWebgpuEngine, ortWasmEngine, litertEngine, tfjsWasmEngine, tfjsWebgpuEngine, tfjsCpuEngine];

/**
 * Adds an engine at run time, from a module named in FORMBENCH_ENGINE_MODULES (see plugins.ts):
 * the tests install deterministic, fake or deliberately failing engines this way.
 */
export function registerEngine(engine: Engine): void {
  const at = ENGINES.findIndex((e) => e.name === engine.name);
  if (at >= 0) ENGINES[at] = engine;
  else ENGINES.push(engine);
}

export interface EngineChoice {
  engine: Engine;
  /** Every option resolved and parsed: the user's values over the defaults. */
  options: Record<string, string>;
  /** Only the options the user gave, parsed: what the label shows. */
  given: Record<string, string>;
  /** The user's spelling, normalised: name and only the options given, e.g. 'ort:opt=disabled'. */
  label: string;
}

export function engineByName(name: string): Engine {
  const engine = ENGINES.find((e) => e.name === name);
  if (!engine) throw new UserError(`unknown engine '${name}'`, `engines: ${ENGINES.map((e) => e.name).join(', ')} ('formbench engines' tells which can run here)`);
  return engine;
}

/**
 * Parses 'ort:opt=disabled,threads=1': each option is checked against the engine's declaration
 * (allowed values, then its parse hook) here, when the choice is made, so that a bad value is
 * one clean error before any trial runs.
 */
export function parseEngineChoice(text: string): EngineChoice {
  const [name, optionText] = text.trim().split(/:(.*)/s, 2) as [string, string | undefined];
  const engine = engineByName(name);
  const given: Record<string, string> = {};
  for (const pair of optionText ? optionText.split(',') : []) {
    const [key, value] = pair.split('=', 2).map((s) => s.trim()) as [string, string | undefined];
    given[key] = parseOption(engine, key, value);
  }
  return choiceOf(engine, given);
}

/**
 * Parses a comma-separated list of choices, 'ort:opt=disabled,threads=1,torch': a comma followed by
 * `key=` continues the options of the engine before it.
 */
export function parseEngineList(text: string): EngineChoice[] {
  return text.split(/,(?![^,:]*=)/).map(parseEngineChoice);
}

/**
 * Refuses a set of choices of which none can run here, with every engine's reason in one error;
 * where some can, the others become failed trials that say why.
 */
export async function requireRunnable(choices: EngineChoice[]): Promise<void> {
  const answers = await Promise.all(choices.map(async (c) => [c.engine.name, await availabilityOf(c.engine)] as const));
  if (answers.some(([, a]) => a.available)) return;
  // Here none is available; one reason per engine, however many choices name it.
  const reasons = [...new Map(answers.map(([name, a]) => [name, a.available ? '' : a.reason]))].map(([name, reason]) => `${name}: ${reason}`);
  throw new UserError(`none of the engines can run here (${reasons.join('; ')})`, "'formbench engines' lists what can run on this machine");
}

/** A choice from options already split into pairs (study files, tests): checked as parseEngineChoice checks. */
export function engineChoice(name: string, options: Record<string, string> = {}): EngineChoice {
  const engine = engineByName(name);
  return choiceOf(engine, Object.fromEntries(Object.entries(options).map(([k, v]) => [k, parseOption(engine, k, v)])));
}

function parseOption(engine: Engine, key: string, value: string | undefined): string {
  const option = engine.options[key];
  const name = engine.name;
  if (!option) throw new UserError(`engine ${name} has no option '${key}'`, `options of ${name}: ${Object.keys(engine.options).join(', ') || 'none'}`);
  if (!value) throw new UserError(`option '${key}' of engine ${name} needs a value`, `write it as ${name}:${key}=<value>`);
  if (option.values && !option.values.includes(value)) {
    throw new UserError(`option ${key}=${value} of engine ${name} is not one of ${option.values.join(', ')}`, `${key}: ${option.description}`);
  }
  if (!option.parse) return value;
  try {
    return option.parse(value);
  } catch (e) {
    throw new UserError(`option ${key}=${value} of engine ${name}: ${(e as Error).message}`, `${key}: ${option.description}`);
  }
}

function choiceOf(engine: Engine, given: Record<string, string>): EngineChoice {
  const options = Object.fromEntries(Object.entries(engine.options).map(([k, o]) => [k, given[k] ?? o.defaultValue()]));
  return { engine, options, given, label: choiceLabel(engine.name, given) };
}

/** 'ort:opt=disabled,threads=1', or the bare name when no option was given. */
export function choiceLabel(name: string, given: Record<string, string>): string {
  const pairs = Object.entries(given);
  return pairs.length ? `${name}:${pairs.map(([k, v]) => `${k}=${v}`).join(',')}` : name;
}

/** What an engine computes in under these options, and the output tolerance that implies (the engine's to say). */
export function numericsOf(engine: Engine, options: Record<string, string>): Numerics {
  return engine.numerics?.(options) ?? FP32_NUMERICS;
}

/** Availability of every engine, asked once per process (engines probe packages and processes). */
const cache = new Map<string, Promise<Availability>>();
export function availabilityOf(engine: Engine): Promise<Availability> {
  let answer = cache.get(engine.name);
  if (!answer) {
    answer = engine.availability().catch((e: unknown) => ({ available: false as const, reason: (e as Error).message }));
    cache.set(engine.name, answer);
  }
  return answer;
}
