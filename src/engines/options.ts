import os from 'node:os';
import type { EngineOption } from './engine.js';

/**
 * Builders for the option kinds engines share, so that every engine parses `threads` and
 * choice lists the same way. The registry calls `parse` when the user's choice is read, before
 * any trial, so that a bad value is one clean error rather than a failed trial in a worker.
 */

/**
 * Above this many threads a session spends its time creating and scheduling them (ort with
 * threads=100000 never finished loading): a typo, not a measurement.
 */
export const MAX_THREADS = Math.max(256, 4 * os.availableParallelism());

/** A thread count: a positive integer up to MAX_THREADS, defaulting to every core. */
export function threadsOption(description: string): EngineOption {
  return {
    description,
    defaultValue: () => String(os.availableParallelism()),
    parse: (value) => {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`must be a positive integer (this machine has ${os.availableParallelism()} cores)`);
      if (Number(value) > MAX_THREADS) throw new Error(`must be at most ${MAX_THREADS} (this machine has ${os.availableParallelism()} cores)`);
      return String(Number(value));
    },
  };
}

/** One of a fixed list of values. */
export function choiceOption(description: string, values: readonly string[], defaultValue: string): EngineOption {
  return { description, values, defaultValue: () => defaultValue };
}

/** Reads a resolved thread count back as a number (the registry has already checked it). */
export function threadCount(options: Record<string, string>): number {
  return Number(options['threads']);
}
