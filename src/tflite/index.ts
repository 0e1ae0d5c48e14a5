/** IR ⇄ `.tflite` (LiteRT's flatbuffer format). */
export { toTfliteBytes, toTfliteModel, type TfliteExportOptions } from './export.js';
export { writeTflite } from './write.js';
export { fromTfliteBytes, readTfliteFile } from './import.js';
export { readTflite } from './read.js';
export type { TfliteModel } from './model.js';

export function isTflitePath(path: string): boolean {
  return path.toLowerCase().endsWith('.tflite');
}
