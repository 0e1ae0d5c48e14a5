/**
 * Which machine a worker is, and which class it belongs to. A split study shares its trials
 * among the machines of one class, so the class must name everything that changes a timing: the
 * CPU model, its cores, the memory and the engines' versions (an engine that cannot run here is
 * part of it too). `--class NAME` declares the class instead, for machines the user knows are alike.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { ENGINES, availabilityOf } from '../engines/index.js';
import { UserError } from '../errors.js';
import { currentEnvironment } from '../measure/index.js';
import type { FleetMachine, FleetMode } from './store.js';

const hash = (value: object): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/** A worker's --name and --class: shown in status and stored with every row it measures. */
const NAME = /^[\w.@-]{1,100}$/;

export async function thisMachine(options: { name?: string; className?: string } = {}): Promise<FleetMachine> {
  const name = options.name ?? hostname();
  if (!NAME.test(name)) throw new UserError(`worker name '${name}' has characters other than letters, digits, '.', '-', '_' and '@'`, 'give --name with those only (at most 100)');
  if (options.className !== undefined && !NAME.test(options.className)) throw new UserError(`class '${options.className}' has characters other than letters, digits, '.', '-', '_' and '@'`, 'give --class with those only (at most 100)');
  const env = currentEnvironment();
  const engines = Object.fromEntries(
    await Promise.all(ENGINES.map(async (e) => {
      const a = await availabilityOf(e);
      return [e.name, a.available ? a.version : 'unavailable'] as const;
    })),
  );
  const hardware = { cpuModel: env.cpuModel, logicalCores: env.logicalCores, memoryGiB: env.memoryGiB, engines };
  const classFingerprint = options.className !== undefined ? hash({ className: options.className }) : hash(hardware);
  const className = options.className ?? `${env.cpuModel}, ${env.logicalCores} cores, ${env.memoryGiB} GiB`;
  return { name, fingerprint: env.fingerprint, classFingerprint, className, eachFingerprint: hash({ fingerprint: env.fingerprint, name }), env, engines };
}

/** The fingerprint a study's rows carry on this machine: its class's (split) or its own (each). */
export function unitOf(mode: FleetMode, machine: FleetMachine): string {
  return mode === 'split' ? machine.classFingerprint : machine.eachFingerprint;
}

/** pg-boss queue names take letters, digits, '-' and '_'. */
export function queueOf(mode: FleetMode, unit: string): string {
  return `formbench-${mode}-${unit}`;
}
