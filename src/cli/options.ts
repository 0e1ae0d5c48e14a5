import { InvalidArgumentError } from 'commander';
import { UserError } from '../errors.js';
import { MAX_BATCH } from '../ir/index.js';

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
