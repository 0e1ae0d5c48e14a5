import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { CALIBRATION_METHODS, DEFAULT_PERCENTILE, type CalibrationMethod } from '../quantize/index.js';
import { positiveInt } from './options.js';

/** The calibration flags `quantize` and `export --precision int8` share, as commander gives them. */
export interface CalibrationFlags {
  calibrate: number;
  method: string;
  percentile: string;
  images?: string;
  pixels?: boolean;
}

/** Declares --calibrate, --method, --percentile, --images and --pixels; `imagesHelp` says what the folder's images are for. */
export function addCalibrationOptions(command: Command, imagesHelp: string): Command {
  return command
    .option('--calibrate <n>', 'calibration inputs', positiveInt, 16)
    .option('--method <method>', `how activation ranges are set from calibration: ${CALIBRATION_METHODS.join(' or ')}`, 'minmax')
    .option('--percentile <p>', 'for --method percentile: the central percentage of values the range keeps', String(DEFAULT_PERCENTILE))
    .option('--images <dir>', imagesHelp)
    .option('--pixels', 'random images (uniform pixels, normalised as the model expects) instead of N(0,1) inputs');
}

/** The calibration flags checked, before any work: the method and its percentile. */
export function calibrationMethod(o: CalibrationFlags): { method: CalibrationMethod; percentile: number } {
  if (!(CALIBRATION_METHODS as string[]).includes(o.method)) {
    throw new UserError(`unknown calibration method '${o.method}'`, `--method takes ${CALIBRATION_METHODS.join(' or ')}`);
  }
  const percentile = Number(o.percentile);
  if (!(percentile > 50 && percentile <= 100)) throw new UserError(`--percentile ${o.percentile} is not a percentage between 50 and 100`, 'e.g. --percentile 99.99');
  return { method: o.method as CalibrationMethod, percentile };
}

/** "min/max" or "percentile (99.99% of values inside the range)", for what a command prints. */
export function describeMethod(method: CalibrationMethod, percentile: number): string {
  return method === 'percentile' ? `percentile (${percentile}% of values inside the range)` : 'min/max';
}
