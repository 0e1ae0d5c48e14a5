import { InvalidArgumentError } from 'commander';
import { UserError } from '../errors.js';

/** Commander argument parser for positive integers (--batch 8). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

/** Comma-separated positive integers (--depths 10,20,30). */
export function intList(value: string): number[] {
  return value.split(',').map((part) => positiveInt(part.trim()));
}

/**
 * The largest batch formbench runs: 4096 is 16× the largest batch the seed paper measures (256),
 * and a 3×224×224 float input at that batch is already 2.3 GiB. A bigger value is a slip (1e9).
 */
export const MAX_BATCH = 4096;

/** --batch 8: a positive integer up to MAX_BATCH. */
export function batchSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH) {
    throw new UserError(`--batch ${value} is not a batch size formbench runs`, `give a whole number from 1 to ${MAX_BATCH}`);
  }
  return n;
}

/** --batch 1,8,32: batch sizes up to MAX_BATCH. */
export function batchList(value: string): number[] {
  return value.split(',').map((part) => batchSize(part.trim()));
}
