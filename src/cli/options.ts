import { InvalidArgumentError } from 'commander';

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
