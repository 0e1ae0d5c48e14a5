/** IR ⇄ `.tflite` (LiteRT's flatbuffer format). */
export { toTfliteBytes, type TfliteExportOptions } from './export.js';
