/**
 * Dynamic activation sparsity: the fraction of exact zeros each activation layer (ReLU, ReLU6 as
 * Clip, LeakyReLU, ELU, HardSwish) produces over a set of inputs, the statistic the 2023 AIR study
 * reports per layer. Counted inside onnxruntime — Equal(x, 0) → Cast → ReduceMean over all but the
 * batch axis — so each layer returns one number per input and the activations never leave ORT.
 *
 * It lives next to the activation-health check because it is the same kind of measurement (an
 * in-graph statistic over a run, sharing GraphExtender), not static cost like src/analysis/.
 */
import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { allOptimisationsAllCores, createSession, runFloat32 } from '../engines/ort-runtime.js';
import { UserError } from '../errors.js';
import { attr, elementCount, type Graph } from '../ir/index.js';
import { toOnnxBytes } from '../onnx/index.js';
import { GraphExtender } from './ort-run.js';
import { Rng } from './random.js';

/** IR operators whose outputs are post-activation tensors. */
export const ACTIVATION_OPS = new Set(['Relu', 'Clip', 'LeakyRelu', 'Elu', 'HardSwish']);

export interface LayerSparsity {
  name: string;
  op: string;
  /** Elements of the layer's output per input. */
  elementsPerInput: number;
  /** Mean over inputs of the fraction of exact zeros; min and max over inputs. */
  zeroFraction: number;
  min: number;
  max: number;
}

export interface SparsityReport {
  inputs: number;
  batch: number;
  layers: LayerSparsity[];
  /** Zeros over all activation elements of all layers: mean over inputs, and min/max over inputs. */
  overall: { zeroFraction: number; min: number; max: number };
}

/** How a model wants its image input: layout, size and normalisation of [0, 1] pixels. */
export interface ImageInput {
  layout: 'nchw' | 'nhwc';
  height: number;
  width: number;
  /** Per-channel mean and std applied to pixels in [0, 1]; identity for models fed [0, 1]. */
  mean: [number, number, number];
  std: [number, number, number];
}

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/**
 * The input convention of a graph with one 3-channel image input: NHWC graphs (TF.js, e.g. nsfwjs,
 * which divides pixels by 255 and nothing more) take [0, 1]; NCHW graphs (the zoo, PyTorch-style
 * ONNX) take ImageNet mean/std-normalised pixels.
 */
export function imageInputOf(graph: Graph): ImageInput {
  const s = graph.inputs[0]?.type.shape ?? [];
  const num = (d: unknown) => (typeof d === 'number' ? d : undefined);
  if (graph.inputs.length === 1 && s.length === 4 && s[3] === 3 && num(s[1]) && num(s[2])) {
    return { layout: 'nhwc', height: s[1] as number, width: s[2] as number, mean: [0, 0, 0], std: [1, 1, 1] };
  }
  if (graph.inputs.length === 1 && s.length === 4 && s[1] === 3 && num(s[2]) && num(s[3])) {
    return { layout: 'nchw', height: s[2] as number, width: s[3] as number, mean: IMAGENET_MEAN, std: IMAGENET_STD };
  }
  throw new UserError(`'${graph.name}' does not take one 3-channel image (input shape [${s.join(', ')}])`, 'sparsity feeds images; give a model with one N×3×H×W or N×H×W×3 input');
}

/** One image as the model takes it, from interleaved RGB pixels in [0, 1] (HWC order). */
function toModelLayout(rgb: Float32Array, input: ImageInput, out: Float32Array, offset: number): void {
  const { height, width, mean, std } = input;
  const plane = height * width;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = (rgb[p * 3 + c]! - mean[c]!) / std[c]!;
      out[offset + (input.layout === 'nhwc' ? p * 3 + c : c * plane + p)] = v;
    }
  }
}

/** A source of model-ready images, one at a time, written into a batch buffer. */
export interface ImageSource {
  count: number;
  /** Describes the inputs for reports ('uniform [0,1] pixels, seed 1' or the folder). */
  description: string;
  fill(index: number, out: Float32Array, offset: number): Promise<void>;
}

/** Seeded random images: every pixel uniform in [0, 1], then the model's normalisation. */
export function randomImages(input: ImageInput, count: number, seed: number): ImageSource {
  return {
    count,
    description: `${count} random images, pixels uniform in [0, 1] (seed ${seed}), ${input.layout === 'nchw' ? 'ImageNet-normalised' : 'fed as [0, 1]'}`,
    fill: async (index, out, offset) => {
      const rng = new Rng(seed, `sparsity-image-${index}`);
      const rgb = new Float32Array(input.height * input.width * 3);
      for (let i = 0; i < rgb.length; i++) rgb[i] = rng.uniform();
      toModelLayout(rgb, input, out, offset);
    },
  };
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

/**
 * Images from a folder, decoded and resized (bilinear, stretched to the model's size, as nsfwjs
 * resizes) with sharp, then normalised as the model needs. `limit` caps how many are used.
 */
export async function folderImages(dir: string, input: ImageInput, limit?: number): Promise<ImageSource> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase())).sort();
  } catch (e) {
    throw new UserError(`cannot read the folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'give --images a folder of .jpg/.png images');
  }
  if (files.length === 0) throw new UserError(`no images in ${dir}`, `put .jpg, .png or .webp files in it`);
  if (limit !== undefined) files = files.slice(0, limit);
  let sharp: (typeof import('sharp'))['default'];
  try {
    sharp = (await import('sharp')).default;
  } catch {
    throw new UserError('--images needs the sharp package to decode images', 'npm install sharp');
  }
  return {
    count: files.length,
    description: `${files.length} images from ${dir}`,
    fill: async (index, out, offset) => {
      const path = join(dir, files[index]!);
      let pixels: Buffer;
      try {
        pixels = await sharp(path).removeAlpha().toColourspace('srgb').resize(input.width, input.height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
      } catch (e) {
        throw new UserError(`cannot decode ${path}: ${(e as Error).message}`, 'remove or convert the file');
      }
      const rgb = Float32Array.from(pixels, (v) => v / 255);
      toModelLayout(rgb, input, out, offset);
    },
  };
}

export interface SparsityOptions {
  /** Inputs per onnxruntime run; the last batch is padded with repeats, which are not counted. */
  batch?: number;
}

/**
 * Fraction of exact zeros per activation layer over the images of `source`, measured in one
 * onnxruntime session (CPU EP, all optimisations: fusion does not change which values are zero).
 */
export async function activationSparsity(graph: Graph, source: ImageSource, options: SparsityOptions = {}): Promise<SparsityReport> {
  const batch = Math.min(options.batch ?? 1, source.count);
  const probe = new GraphExtender(graph, batch);
  const zero = probe.scalar('sparsity.zero', 0);
  const layers: { name: string; op: string; elements: number; output: string }[] = [];
  for (const node of graph.nodes) {
    probe.keep(node);
    if (!ACTIVATION_OPS.has(node.op)) continue;
    const x = node.outputs[0]!;
    const type = probe.types.get(x);
    if (type?.dtype !== 'float32' || type.shape.length < 2) continue;
    const p = `sparsity.${node.name}`;
    const isZero = probe.add('Cast', `${p}.zf`, [probe.add('Equal', `${p}.eq`, [x, zero])], { to: attr.int(1) });
    const axes = type.shape.map((_, i) => i).slice(1);
    const fraction = probe.add('ReduceMean', `${p}.frac`, [isZero], { axes: attr.ints(axes), keepdims: attr.int(0) });
    layers.push({ name: node.name, op: node.op, elements: elementCount(type.shape.slice(1)), output: probe.expose(fraction) });
  }
  if (layers.length === 0) {
    throw new UserError(`'${graph.name}' has no activation layers (${[...ACTIVATION_OPS].join(', ')})`, 'sparsity counts the zeros that rectifying activations produce');
  }
  const perInput = layers.map(() => new Float64Array(source.count));
  const bytes = toOnnxBytes(probe.graph, { batch });
  const session = await createSession(bytes, allOptimisationsAllCores());
  try {
    const perImage = probe.input.dims.slice(1).reduce((a, b) => a * b, 1);
    for (let start = 0; start < source.count; start += batch) {
      const data = new Float32Array(batch * perImage);
      for (let k = 0; k < batch; k++) await source.fill(Math.min(start + k, source.count - 1), data, k * perImage);
      const results = await runFloat32(session, { name: probe.input.name, data, dims: probe.input.dims }, layers.map((l) => l.output));
      layers.forEach((l, i) => {
        const fractions = results.get(l.output)!;
        for (let k = 0; k < batch && start + k < source.count; k++) perInput[i]![start + k] = fractions[k]!;
      });
    }
  } finally {
    await session.release();
  }
  const totalElements = layers.reduce((a, l) => a + l.elements, 0);
  const overallPerInput = Array.from({ length: source.count }, (_, n) => layers.reduce((a, l, i) => a + perInput[i]![n]! * l.elements, 0) / totalElements);
  return {
    inputs: source.count,
    batch,
    layers: layers.map((l, i) => ({ name: l.name, op: l.op, elementsPerInput: l.elements, ...summary(perInput[i]!) })),
    overall: summary(overallPerInput),
  };
}

function summary(values: ArrayLike<number>): { zeroFraction: number; min: number; max: number } {
  const list = Array.from(values);
  return { zeroFraction: list.reduce((a, b) => a + b, 0) / list.length, min: Math.min(...list), max: Math.max(...list) };
}
