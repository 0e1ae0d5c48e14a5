import { InvalidArgumentError, Option } from 'commander';

/** Where `--fleet` may come from instead: the environment keeps a password out of the process list. */
export const FLEET_URL_ENV = 'FORMBENCH_FLEET';

/** `--fleet postgres://…`, required; its value may come from FORMBENCH_FLEET. */
export function fleetUrlOption(required = true): Option {
  const option = new Option('--fleet <url>', `the fleet's PostgreSQL database, postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or ${FLEET_URL_ENV}; a password may come from PGPASSWORD)`).env(FLEET_URL_ENV);
  return required ? option.makeOptionMandatory() : option;
}

/** Commander parser for a positive number of seconds (may be fractional). */
export function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds.');
  return n;
}

/** `study --fleet --mode`: split (the machines of a class share the trials) or each (every machine runs them all). */
export const FLEET_MODES = ['split', 'each'] as const;
