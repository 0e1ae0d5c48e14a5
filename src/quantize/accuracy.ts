/**
 * Output error of a lower-precision model against its FP32 original on the same inputs: the
 * cost side of a precision's speed-up.
 */
import { allOptimisationsAllCores, createSession, runFloat32 } from '../engines/ort-runtime.js';
import type { ModelInput } from './calibrate.js';

export interface OutputError {
  /** Rows (images) compared. */
  images: number;
  /** Largest |candidate − reference| over every output value. */
  maxAbsError: number;
  /** ‖candidate − reference‖₂ / ‖reference‖₂ over every output value. */
  relativeError: number;
  /** Fraction of images whose arg-max class is the same. */
  top1Agreement: number;
  /** Images whose arg-max class agrees. */
  top1Agree: number;
  /**
   * Distinct arg-max classes of the reference over the images: a random-weight network whose
   * head always picks the same class agrees trivially, and this says so.
   */
  referenceClasses: number;
  /**
   * Top-1 agreement of the input-dependent part of the outputs: both models' outputs minus the
   * reference's mean output over the images (the same vector for both, as if the head's bias
   * were shifted). A random-weight head whose constant part always wins still ranks the rest by
   * the input, and this is whether the lower precision keeps that ranking.
   */
  centredTop1Agreement: number;
  /** Distinct arg-max classes of the centred reference. */
  centredReferenceClasses: number;
}

/**
 * Compares outputs row by row: `reference` and `candidate` hold the same batches in the same
 * order, each a flat array of `rows × classes` values.
 */
export function outputError(reference: Float32Array[], candidate: Float32Array[], rowsPerBatch: number[]): OutputError {
  if (reference.length !== candidate.length || reference.length !== rowsPerBatch.length) throw new Error('outputError: reference and candidate hold different numbers of batches');
  let maxAbsError = 0;
  let diffSquares = 0;
  let refSquares = 0;
  let agree = 0;
  let images = 0;
  const classesSeen = new Set<number>();
  reference.forEach((ref, b) => {
    const cand = candidate[b]!;
    if (cand.length !== ref.length) throw new Error(`outputError: batch ${b} has ${cand.length} values, the reference ${ref.length}`);
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(cand[i]! - ref[i]!);
      if (!(d <= maxAbsError)) maxAbsError = Number.isNaN(d) ? Infinity : d;
      diffSquares += d * d;
      refSquares += ref[i]! * ref[i]!;
    }
    const rows = rowsPerBatch[b]!;
    const classes = ref.length / rows;
    for (let r = 0; r < rows; r++) {
      const expected = argmax(ref, r * classes, classes);
      classesSeen.add(expected);
      if (expected === argmax(cand, r * classes, classes)) agree++;
    }
    images += rows;
  });
  const centred = centredAgreement(reference, candidate, rowsPerBatch);
  const relativeError = refSquares > 0 ? Math.sqrt(diffSquares) / Math.sqrt(refSquares) : Math.sqrt(diffSquares) > 0 ? Infinity : 0;
  return { images, maxAbsError, relativeError: Number.isNaN(relativeError) ? Infinity : relativeError, top1Agreement: images ? agree / images : 0, top1Agree: agree, referenceClasses: classesSeen.size, ...centred };
}

function centredAgreement(reference: Float32Array[], candidate: Float32Array[], rowsPerBatch: number[]): { centredTop1Agreement: number; centredReferenceClasses: number } {
  const classes = reference[0]!.length / rowsPerBatch[0]!;
  const mean = new Float64Array(classes);
  let images = 0;
  reference.forEach((ref, b) => {
    for (let i = 0; i < ref.length; i++) mean[i % classes]! += ref[i]!;
    images += rowsPerBatch[b]!;
  });
  for (let c = 0; c < classes; c++) mean[c]! /= images;
  const centredArgmax = (v: Float32Array, offset: number) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (v[offset + c]! - mean[c]! > v[offset + best]! - mean[best]!) best = c;
    return best;
  };
  let agree = 0;
  const seen = new Set<number>();
  reference.forEach((ref, b) => {
    for (let r = 0; r < rowsPerBatch[b]!; r++) {
      const expected = centredArgmax(ref, r * classes);
      seen.add(expected);
      if (expected === centredArgmax(candidate[b]!, r * classes)) agree++;
    }
  });
  return { centredTop1Agreement: images ? agree / images : 0, centredReferenceClasses: seen.size };
}

function argmax(v: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (v[offset + i]! > v[offset + best]!) best = i;
  return best;
}

/** Runs two ONNX models (the FP32 original and a lower-precision one) on the same inputs in onnxruntime and compares their first outputs. */
export async function compareModels(fp32: Uint8Array, candidate: Uint8Array, inputs: ModelInput[]): Promise<OutputError> {
  // One after the other: two sessions at once would share the cores and slow each other down.
  const reference = await firstOutputs(fp32, inputs);
  const lower = await firstOutputs(candidate, inputs);
  return outputError(reference, lower, inputs.map((x) => x.dims[0]!));
}

async function firstOutputs(onnx: Uint8Array, inputs: ModelInput[]): Promise<Float32Array[]> {
  const session = await createSession(onnx, allOptimisationsAllCores());
  try {
    const outputs: Float32Array[] = [];
    for (const x of inputs) {
      const out = await runFloat32(session, x);
      outputs.push(Float32Array.from(out.get(session.outputNames[0]!)!));
    }
    return outputs;
  } finally {
    await session.release();
  }
}
