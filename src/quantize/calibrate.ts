/**
 * Static calibration: the FP32 model runs in onnxruntime on calibration inputs with the tensors
 * to be quantised added as graph outputs, and each tensor's range is gathered over all inputs.
 */
import { allOptimisationsAllCores, createSession, runFloat32 } from '../engines/ort-runtime.js';
import { seededNormal } from '../weights/index.js';
import type { ImageInput, ImageSource } from '../weights/sparsity.js';
import { DT, encodeModel, type ModelMsg } from './onnx-model.js';
import { DEFAULT_PERCENTILE, Histogram, MinMax, type CalibrationMethod, type Range } from './ranges.js';

/** One model input: a batch of images as a flat N×C×H×W array. */
export interface ModelInput {
  data: Float32Array;
  dims: number[];
}

/**
 * `count` seeded N(0,1) images in inputs of `batch` images each (the last may hold fewer), the distribution every trial's input is
 * drawn from. `stream` keeps calibration and held-out evaluation inputs apart.
 */
export function seededInputs(imageDims: number[], count: number, seed: number, stream: string, batch = 1): ModelInput[] {
  return Array.from({ length: Math.ceil(count / batch) }, (_, i) => {
    const dims = [Math.min(batch, count - i * batch), ...imageDims];
    return { data: seededNormal(seed, `${stream}-${i}`, dims.reduce((a, b) => a * b, 1), 1), dims };
  });
}

export interface CalibrationOptions {
  method: CalibrationMethod;
  /** For 'percentile': the central share of values kept, in percent. */
  percentile?: number;
}

/** The range of each named tensor over every input, by min/max or by percentile. */
export async function collectRanges(model: ModelMsg, tensors: string[], inputs: ModelInput[], options: CalibrationOptions): Promise<Map<string, Range>> {
  if (inputs.length === 0) throw new Error('calibration needs at least one input');
  const wanted = [...new Set(tensors)];
  const session = await createSession(encodeModel(withOutputs(model, wanted)), allOptimisationsAllCores());
  try {
    const pass = async (visit: (name: string, values: Float32Array) => void) => {
      for (const x of inputs) {
        const out = await runFloat32(session, x, wanted);
        for (const name of wanted) visit(name, out.get(name)!);
      }
    };
    const minMax = new Map(wanted.map((n) => [n, new MinMax()]));
    await pass((name, values) => minMax.get(name)!.add(values));
    if (options.method === 'minmax') return new Map(wanted.map((n) => [n, minMax.get(n)!.range()]));
    // Percentiles need the spread of the values, read from histograms over each tensor's min/max
    // of a first pass: a second pass costs calibration time, not memory.
    const histograms = new Map(wanted.map((n) => [n, new Histogram(minMax.get(n)!.min, minMax.get(n)!.max)]));
    await pass((name, values) => histograms.get(name)!.add(values));
    const percent = options.percentile ?? DEFAULT_PERCENTILE;
    return new Map(wanted.map((n) => [n, histograms.get(n)!.percentileRange(percent)]));
  } finally {
    await session.release();
  }
}

/** A copy of the model that also returns the given tensors (as float32, their calibrated type). */
function withOutputs(model: ModelMsg, tensors: string[]): ModelMsg {
  const graph = model.graph!;
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  const extra = tensors.filter((t) => !existing.has(t)).map((name) => ({ name, type: { tensor_type: { elem_type: DT.float } } }));
  return { ...model, graph: { ...graph, output: [...(graph.output ?? []), ...extra] } };
}

/** Images `start … start+count−1` of an image source (random or a folder) as model inputs of `batch` images each. */
export async function imageInputs(source: ImageSource, input: ImageInput, start: number, count: number, batch: number): Promise<ModelInput[]> {
  const perImage = input.height * input.width * 3;
  const dims = (n: number) => (input.layout === 'nchw' ? [n, 3, input.height, input.width] : [n, input.height, input.width, 3]);
  const inputs: ModelInput[] = [];
  for (let first = start; first < start + count; first += batch) {
    const n = Math.min(batch, start + count - first);
    const data = new Float32Array(n * perImage);
    for (let i = 0; i < n; i++) await source.fill(first + i, data, i * perImage);
    inputs.push({ data, dims: dims(n) });
  }
  return inputs;
}
