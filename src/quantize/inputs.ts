/**
 * Which inputs calibrate a quantised model and which, held out, measure its error: seeded
 * N(0,1) tensors (what every trial feeds, so a model is calibrated for the inputs it is timed
 * and compared on), random images, or a folder of the user's images.
 */
import { UserError } from '../errors.js';
import type { Graph } from '../ir/index.js';
import { folderImages, imageInputOf, randomImages } from '../weights/sparsity.js';
import { imageInputs, seededInputs, type ModelInput } from './calibrate.js';

/** Seed of calibration and held-out inputs; apart from the trials' input seed (1). */
export const PRECISION_SEED = 0x9ec;
/** Calibration images an engine quantising at load uses: enough for stable min/max ranges, quick to run. */
export const ENGINE_CALIBRATION_IMAGES = 16;

export interface InputChoice {
  /** A folder of images: the first `calibrate` calibrate, the next `evaluate` are held out. */
  images?: string;
  /** Random images (uniform pixels, normalised as the model expects) instead of N(0,1) tensors. */
  pixels?: boolean;
  calibrate: number;
  evaluate: number;
  /** Images per onnxruntime run. */
  batch: number;
}

/** Calibration inputs alone (held out: none), for a lowered model that is written but not measured here. */
export async function calibrationInputs(graph: Graph, choice: Omit<InputChoice, 'evaluate'>): Promise<PrecisionInputs> {
  return precisionInputs(graph, { ...choice, evaluate: 0 });
}

export interface PrecisionInputs {
  calibration: ModelInput[];
  heldOut: ModelInput[];
  /** For reports: e.g. "16 seeded N(0,1) inputs". */
  calibrationDescription: string;
  heldOutDescription: string;
}

export async function precisionInputs(graph: Graph, choice: InputChoice): Promise<PrecisionInputs> {
  if (choice.images || choice.pixels) {
    const input = imageInputOf(graph);
    const total = choice.calibrate + choice.evaluate;
    const source = choice.images ? await folderImages(choice.images, input, total) : randomImages(input, total, PRECISION_SEED);
    if (choice.evaluate > 0 && source.count <= choice.calibrate) {
      throw new UserError(`${choice.images} holds ${source.count} images, all needed for calibration (--calibrate ${choice.calibrate})`, 'add images or lower --calibrate, so that some are held out to measure the error');
    }
    if (source.count < choice.calibrate) throw new UserError(`${choice.images} holds ${source.count} images, fewer than --calibrate ${choice.calibrate}`, `add images or give --calibrate ${source.count}`);
    const evaluate = source.count - choice.calibrate;
    const what = choice.images ? `images from ${choice.images}` : `random images (uniform [0,1] pixels, seed ${PRECISION_SEED}, normalised for the model)`;
    return {
      calibration: await imageInputs(source, input, 0, choice.calibrate, choice.batch),
      heldOut: await imageInputs(source, input, choice.calibrate, evaluate, choice.batch),
      calibrationDescription: `${choice.calibrate} ${what}`,
      heldOutDescription: `${evaluate} other ${what}`,
    };
  }
  const imageDims = imageDimsOf(graph);
  return {
    calibration: seededInputs(imageDims, choice.calibrate, PRECISION_SEED, 'calibration', choice.batch),
    heldOut: seededInputs(imageDims, choice.evaluate, PRECISION_SEED, 'held-out', choice.batch),
    calibrationDescription: `${choice.calibrate} seeded N(0,1) inputs`,
    heldOutDescription: `${choice.evaluate} held-out seeded N(0,1) inputs`,
  };
}

/** The calibration set an engine uses when asked for INT8 at load: fixed, so every trial quantises alike. */
export function engineCalibration(graph: Graph): ModelInput[] {
  return seededInputs(imageDimsOf(graph), ENGINE_CALIBRATION_IMAGES, PRECISION_SEED, 'calibration', 1);
}

/** The shape of one input image (the model's first input without its batch dimension). */
export function imageDimsOf(graph: Graph): number[] {
  const shape = graph.inputs[0]?.type.shape ?? [];
  const dims = shape.slice(1);
  if (graph.inputs.length !== 1 || dims.some((d) => typeof d !== 'number')) {
    throw new UserError(`'${graph.name}' needs one input with a fixed shape apart from the batch (it has [${shape.join(', ')}])`, 'lower precision is calibrated and checked on seeded inputs of the model\'s input shape');
  }
  return dims as number[];
}
