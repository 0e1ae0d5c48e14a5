import { UserError } from '../errors.js';
import type { Availability, Engine } from './engine.js';
import { ortEngine } from './ort.js';
import { ortWasmEngine } from './ort-wasm.js';
import { tfjsCpuEngine, tfjsWasmEngine } from './tfjs.js';
import { torchEngine } from './torch.js';

/** Every engine formbench knows, in the order reports list them. */
export const ENGINES: Engine[] = [torchEngine, ortEngine, ortWasmEngine, tfjsWasmEngine, tfjsCpuEngine];

/**
 * Adds an engine at run time. Used by tests to install deterministic or deliberately failing
 * engines (in a trial worker, through FORMBENCH_EXTRA_ENGINES); not a plug-in API yet.
 */
export function registerEngine(engine: Engine): void {
  const at = ENGINES.findIndex((e) => e.name === engine.name);
  if (at >= 0) ENGINES[at] = engine;
  else ENGINES.push(engine);
}

export interface EngineChoice {
  engine: Engine;
  /** Every option resolved: the user's values over the defaults. */
  options: Record<string, string>;
  /** The user's spelling, normalised: name and only the options given, e.g. 'ort:opt=disabled'. */
  label: string;
}

export function engineByName(name: string): Engine {
  const engine = ENGINES.find((e) => e.name === name);
  if (!engine) throw new UserError(`unknown engine '${name}'`, `engines: ${ENGINES.map((e) => e.name).join(', ')} ('formbench engines' tells which can run here)`);
  return engine;
}

/** Parses 'ort:opt=disabled,threads=1' and checks each option against the engine's. */
export function parseEngineChoice(text: string): EngineChoice {
  const [name, optionText] = text.trim().split(/:(.*)/s, 2) as [string, string | undefined];
  const engine = engineByName(name);
  const given: Record<string, string> = {};
  for (const pair of optionText ? optionText.split(',') : []) {
    const [key, value] = pair.split('=', 2).map((s) => s.trim()) as [string, string | undefined];
    const option = engine.options[key];
    if (!option) {
      throw new UserError(`engine ${name} has no option '${key}'`, `options of ${name}: ${Object.keys(engine.options).join(', ') || 'none'}`);
    }
    if (!value) throw new UserError(`option '${key}' of engine ${name} needs a value`, `write it as ${name}:${key}=<value>`);
    if (option.values && !option.values.includes(value)) {
      throw new UserError(`option ${key}=${value} of engine ${name} is not one of ${option.values.join(', ')}`);
    }
    given[key] = value;
  }
  const options = Object.fromEntries(Object.entries(engine.options).map(([k, o]) => [k, given[k] ?? o.defaultValue()]));
  const label = Object.keys(given).length ? `${name}:${Object.entries(given).map(([k, v]) => `${k}=${v}`).join(',')}` : name;
  return { engine, options, label };
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
