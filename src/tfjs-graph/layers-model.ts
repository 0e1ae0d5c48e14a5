import { UserError } from '../errors.js';
import { attr, ConstTensor, type Dim, type Graph } from '../ir/index.js';
import { withInputSize, type TfjsArtifacts } from './artifacts.js';
import { activation, conv, depthwiseToOihw, hwioToOihw, IrBuilder, nchwAxis, pool, TO_NCHW, TO_NHWC, transpose } from './builder.js';

/** A Keras layer as model.json's `model_config.config.layers[]` holds it. */
interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[];
}

/** What a layer importer sees: its layer, its input values (NCHW when 4-d) and its weights. */
export interface LayerContext {
  b: IrBuilder;
  layer: KerasLayer;
  inputs: string[];
  /** The layer's weight `param` (e.g. 'kernel', 'gamma'); throws when missing. */
  weight(param: string): ConstTensor;
  optionalWeight(param: string): ConstTensor | undefined;
  fail(reason: string): never;
}

type LayerImporter = (ctx: LayerContext) => string;

/**
 * One importer per Keras layer class. Every 4-d value is NCHW inside the IR (the graph input gets
 * one Transpose from the NHWC the model was trained on), so layers with an axis map it.
 */
export const LAYER_IMPORTERS: Record<string, LayerImporter> = {
  Conv2D: (c) => {
    const cfg = c.layer.config;
    channelsLast(c);
    if ((cfg['groups'] as number | undefined ?? 1) !== 1) c.fail('grouped Conv2D is not supported');
    const kernel = c.weight('kernel');
    const y = conv(c.b, c.layer.name, c.inputs[0]!, hwioToOihw(kernel), cfg['use_bias'] ? c.weight('bias') : undefined, geometry(c), 1);
    return applyActivation(c, y);
  },
  DepthwiseConv2D: (c) => {
    const cfg = c.layer.config;
    channelsLast(c);
    const kernel = c.weight('depthwise_kernel');
    const y = conv(c.b, c.layer.name, c.inputs[0]!, depthwiseToOihw(kernel), cfg['use_bias'] ? c.weight('bias') : undefined, geometry(c), kernel.dims[2]!);
    return applyActivation(c, y);
  },
  BatchNormalization: (c) => {
    const cfg = c.layer.config;
    const axis = (cfg['axis'] as number | number[] | undefined) ?? -1;
    const rank = c.b.shape(c.inputs[0]!).length;
    if (Array.isArray(axis) || !(axis === -1 || axis === rank - 1)) c.fail(`BatchNormalization over axis ${JSON.stringify(axis)} (only the channel axis is supported)`);
    const mean = c.weight('moving_mean');
    const channels = mean.dims[0]!;
    const filled = (v: number) => ConstTensor.fromFloat32([channels], new Float32Array(channels).fill(v));
    const n = c.layer.name;
    return c.b.add('BatchNormalization', n, [
      c.inputs[0]!,
      c.b.constant(`${n}.scale`, cfg['scale'] === false ? filled(1) : c.weight('gamma')),
      c.b.constant(`${n}.bias`, cfg['center'] === false ? filled(0) : c.weight('beta')),
      c.b.constant(`${n}.mean`, mean),
      c.b.constant(`${n}.var`, c.weight('moving_variance')),
    ], { epsilon: attr.float((cfg['epsilon'] as number | undefined) ?? 1e-3) });
  },
  ReLU: (c) => {
    const cfg = c.layer.config;
    const max = cfg['max_value'] as number | null | undefined;
    const slope = (cfg['negative_slope'] as number | undefined) ?? 0;
    if (((cfg['threshold'] as number | undefined) ?? 0) !== 0) c.fail('ReLU with a nonzero threshold is not supported');
    if (slope !== 0 && max != null) c.fail('ReLU with both negative_slope and max_value is not supported');
    if (slope !== 0) return activation(c.b, 'leakyrelu', c.inputs[0]!, c.layer.name, slope)!;
    if (max == null) return c.b.add('Relu', c.layer.name, [c.inputs[0]!]);
    return c.b.add('Clip', c.layer.name, [c.inputs[0]!, c.b.scalar(`${c.layer.name}.min`, 0), c.b.scalar(`${c.layer.name}.max`, max)]);
  },
  Activation: (c) => {
    const kind = String(c.layer.config['activation']);
    const y = activation(c.b, kind, c.inputs[0]!, c.layer.name);
    return y ?? c.fail(`activation '${kind}' is not supported`);
  },
  LeakyReLU: (c) => activation(c.b, 'leakyrelu', c.inputs[0]!, c.layer.name, (c.layer.config['alpha'] as number | undefined) ?? 0.3)!,
  Softmax: (c) => activation(c.b, 'softmax', c.inputs[0]!, c.layer.name)!,
  ZeroPadding2D: (c) => {
    channelsLast(c);
    const [[t, bottom], [l, r]] = pairs(c.layer.config['padding']);
    return c.b.add('Pad', c.layer.name, [c.inputs[0]!, c.b.int64(`${c.layer.name}.pads`, [0, 0, t, l, 0, 0, bottom, r])]);
  },
  Add: (c) => c.inputs.slice(1).reduce((acc, x, i) => c.b.add('Add', i === c.inputs.length - 2 ? c.layer.name : `${c.layer.name}.${i}`, [acc, x]), c.inputs[0]!),
  Concatenate: (c) => {
    const axis = (c.layer.config['axis'] as number | undefined) ?? -1;
    const rank = c.b.shape(c.inputs[0]!).length;
    return c.b.add('Concat', c.layer.name, c.inputs, { axis: attr.int(rank === 4 ? nchwAxis(axis) : axis) });
  },
  MaxPooling2D: (c) => poolLayer(c, 'MaxPool'),
  AveragePooling2D: (c) => poolLayer(c, 'AveragePool'),
  GlobalAveragePooling2D: (c) => globalPool(c, 'GlobalAveragePool'),
  GlobalMaxPooling2D: (c) => globalPool(c, 'GlobalMaxPool'),
  Flatten: (c) => {
    // Keras flattens in NHWC order; the Dense after it was trained on that order.
    const x = c.b.shape(c.inputs[0]!).length === 4 ? transpose(c.b, c.inputs[0]!, TO_NHWC, `${c.layer.name}.nhwc`) : c.inputs[0]!;
    return c.b.add('Flatten', c.layer.name, [x], { axis: attr.int(1) });
  },
  Dense: (c) => {
    if (c.b.shape(c.inputs[0]!).length !== 2) c.fail('Dense on a tensor of rank other than 2 is not supported');
    const n = c.layer.name;
    const inputs = [c.inputs[0]!, c.b.constant(`${n}.weight`, c.weight('kernel'))];
    if (c.layer.config['use_bias'] !== false) inputs.push(c.b.constant(`${n}.bias`, c.weight('bias')));
    return applyActivation(c, c.b.add('Gemm', n, inputs));
  },
  UpSampling2D: (c) => {
    channelsLast(c);
    const [sh, sw] = pair(c.layer.config['size'] ?? [2, 2]) as [number, number];
    const interpolation = String(c.layer.config['interpolation'] ?? 'nearest');
    if (interpolation !== 'nearest' && interpolation !== 'bilinear') c.fail(`interpolation '${interpolation}' is not supported (nearest, bilinear)`);
    // TF.js resizes to (h·sh, w·sw) with neither align_corners nor half-pixel centres: ONNX's
    // asymmetric mapping, nearest rounding down (an exact repeat of each pixel for integer sizes).
    const mode = interpolation === 'nearest' ? 'nearest' : 'linear';
    const n = c.layer.name;
    const scales = c.b.constant(`${n}.scales`, ConstTensor.fromFloat32([4], Float32Array.of(1, 1, sh, sw)));
    return c.b.add('Resize', n, [c.inputs[0]!, '', scales], {
      mode: attr.string(mode),
      coordinate_transformation_mode: attr.string('asymmetric'),
      ...(mode === 'nearest' ? { nearest_mode: attr.string('floor') } : {}),
    });
  },
  Dropout: (c) => c.inputs[0]!,
  SpatialDropout2D: (c) => c.inputs[0]!,
  GaussianNoise: (c) => c.inputs[0]!,
  GaussianDropout: (c) => c.inputs[0]!,
};

function channelsLast(c: LayerContext): void {
  const format = c.layer.config['data_format'];
  if (format !== undefined && format !== 'channels_last') c.fail(`data_format '${String(format)}' is not supported (only channels_last)`);
}

function geometry(c: LayerContext) {
  const cfg = c.layer.config;
  return {
    strides: pair(cfg['strides'] ?? 1),
    dilations: pair(cfg['dilation_rate'] ?? 1),
    padding: paddingOf(c),
  };
}

function paddingOf(c: LayerContext): 'SAME' | 'VALID' {
  const p = String(c.layer.config['padding'] ?? 'valid').toUpperCase();
  if (p !== 'SAME' && p !== 'VALID') c.fail(`padding '${p.toLowerCase()}' is not supported`);
  return p;
}

function applyActivation(c: LayerContext, y: string): string {
  const kind = (c.layer.config['activation'] as string | undefined) ?? 'linear';
  const out = activation(c.b, kind, y, `${c.layer.name}/${kind}`);
  if (out === undefined) c.fail(`activation '${kind}' is not supported`);
  return out;
}

function poolLayer(c: LayerContext, op: 'MaxPool' | 'AveragePool'): string {
  channelsLast(c);
  const cfg = c.layer.config;
  const kernel = pair(cfg['pool_size'] ?? 2);
  const strides = cfg['strides'] == null ? kernel : pair(cfg['strides']);
  return pool(c.b, op, c.layer.name, c.inputs[0]!, kernel, strides, paddingOf(c));
}

function globalPool(c: LayerContext, op: string): string {
  channelsLast(c);
  const pooled = c.b.add(op, `${c.layer.name}.pool`, [c.inputs[0]!]);
  if (c.layer.config['keepdims'] === true) return pooled;
  return c.b.add('Flatten', c.layer.name, [pooled], { axis: attr.int(1) });
}

function pair(v: unknown): number[] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return v as number[];
  throw new UserError(`expected a number or a pair of numbers, got ${JSON.stringify(v)}`, 'Keras writes padding, strides and sizes as a number or a pair of numbers');
}

function pairs(v: unknown): [[number, number], [number, number]] {
  if (typeof v === 'number') return [[v, v], [v, v]];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [[v[0], v[0]], [v[1], v[1]]];
  if (Array.isArray(v) && v.length === 2) return [pair(v[0]) as [number, number], pair(v[1]) as [number, number]];
  throw new UserError(`expected ZeroPadding2D padding, got ${JSON.stringify(v)}`, 'Keras writes ZeroPadding2D padding as a number, a pair, or a pair of pairs');
}

interface LayersTopology {
  model_config?: { class_name?: string; config?: { name?: string; layers?: KerasLayer[]; input_layers?: unknown[]; output_layers?: unknown[] } | KerasLayer[] };
  keras_version?: string;
}

/**
 * A Keras (tf.LayersModel) model.json → IR. Functional models follow `inbound_nodes`; Sequential
 * models chain their layers. Each layer's main node carries the layer's name, so per-layer reports
 * read like the Keras summary.
 */
export function importLayersModel(art: TfjsArtifacts): Graph {
  const topo = art.modelJson.modelTopology as LayersTopology;
  // tf.LayersModel.save nests the Keras config under model_config; some writers store it bare.
  const mc = topo.model_config ?? ((topo as { class_name?: string }).class_name ? (topo as LayersTopology['model_config']) : undefined);
  if (!mc) throw new UserError(`${art.source}: layers-model without model_config`, 'give a model.json written by tf.LayersModel.save or the TF.js converter');
  const config = Array.isArray(mc.config) ? { layers: mc.config } : mc.config ?? {};
  const layers = config.layers ?? [];
  const sequential = mc.class_name === 'Sequential';
  const b = new IrBuilder(config.name ?? art.source, { 'formbench.source': art.source, 'formbench.format': 'tfjs-layers-model', ...(topo.keras_version ? { 'keras.version': topo.keras_version } : {}) });
  const values = new Map<string, string>();
  let previous: string | undefined;

  const inputOf = (layer: KerasLayer, shape: unknown): string => {
    if (!Array.isArray(shape)) throw new UserError(`${art.source}: input layer '${layer.name}' declares no batch_input_shape`, 'save the model with an input shape');
    const declared = (shape as (number | null)[]).map((d, i): Dim => (d == null ? (i === 0 ? 'N' : `${layer.name}_dim${i}`) : d));
    const dims = withInputSize(art, layer.name, declared);
    const x = b.input(layer.name, { dtype: 'float32', shape: dims });
    // One Transpose at the input keeps the model's NHWC interface (images feed as TF.js feeds
    // them) while every layer after it runs in ONNX's NCHW.
    return dims.length === 4 ? transpose(b, x, TO_NCHW, `${layer.name}.nchw`) : x;
  };

  for (const layer of layers) {
    if (layer.class_name === 'InputLayer') {
      const value = inputOf(layer, layer.config['batch_input_shape'] ?? layer.config['batch_shape']);
      values.set(layer.name, value);
      previous = value;
      continue;
    }
    let inputs: string[];
    if (sequential) {
      if (previous === undefined) {
        const shape = layer.config['batch_input_shape'];
        if (!shape) throw new UserError(`${art.source}: the first layer '${layer.name}' declares no batch_input_shape`, 'save the model with an input shape');
        previous = inputOf({ ...layer, name: 'input' }, shape);
      }
      inputs = [previous];
    } else {
      const inbound = layer.inbound_nodes ?? [];
      if (inbound.length !== 1) throw new UserError(`${art.source}: layer '${layer.name}' (${layer.class_name}) is called ${inbound.length} times; shared layers are not supported`, 'formbench imports functional models whose layers are each called once');
      inputs = (inbound[0] as unknown[][]).map((ref) => {
        const v = values.get(String(ref[0]));
        if (!v || ref[2] !== 0) throw new UserError(`${art.source}: layer '${layer.name}' reads '${String(ref[0])}', which is not defined before it`, 'formbench needs the layers listed in topological order');
        return v;
      });
      if (inputs.length === 0) throw new UserError(`${art.source}: layer '${layer.name}' (${layer.class_name}) reads no input`, 'formbench needs every layer after the input to be called on a tensor (inbound_nodes)');
    }
    const importer = LAYER_IMPORTERS[layer.class_name];
    const fail = (reason: string): never => {
      throw new UserError(`unsupported layer '${layer.class_name}' (layer '${layer.name}')${reason ? `: ${reason}` : ''}`, `formbench imports the Keras layers ${['InputLayer', ...Object.keys(LAYER_IMPORTERS)].join(', ')}`);
    };
    if (!importer) fail('');
    const optionalWeight = (param: string) => art.weights.get(`${layer.name}/${param}`) ?? suffixMatch(art.weights, `/${layer.name}/${param}`);
    const value = importer!({
      b,
      layer,
      inputs,
      optionalWeight,
      weight: (param) => optionalWeight(param) ?? fail(`its weight '${layer.name}/${param}' is not in the weights manifest`),
      fail,
    });
    values.set(layer.name, value);
    previous = value;
  }
  const outputs = sequential
    ? [previous!]
    : ((config as { output_layers?: unknown[][] }).output_layers ?? []).map((ref) => values.get(String(ref[0]))!);
  // Outputs keep the model's interface: an image output (a super-resolved picture, a heat map)
  // goes back to NHWC, as the graph-model importer does.
  return b.finish(outputs.map((o) => (b.shape(o).length === 4 ? transpose(b, o, TO_NHWC, `${o}.nhwc`) : o)));
}

function suffixMatch(weights: Map<string, ConstTensor>, suffix: string): ConstTensor | undefined {
  for (const [name, t] of weights) if (name.endsWith(suffix)) return t;
  return undefined;
}
