import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { analyzeGraph } from '../src/analysis/index.js';
import { UserError } from '../src/errors.js';
import type { Graph } from '../src/ir/index.js';
import { decodeWeights, tfjsArtifactsToGraph, type ModelJson, type TfjsArtifacts } from '../src/tfjs-graph/index.js';
import { MAX_LOOP_ITERATIONS, MAX_UNROLLED_NODES } from '../src/tfjs-graph/loops.js';
import { runOnce } from '../src/weights/ort-run.js';

await tf.setBackend('cpu');

type Dtype = 'float32' | 'int32' | 'bool';
const TF_TYPE: Record<Dtype, string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };
const F = { T: { type: 'DT_FLOAT' } };
const I = { T: { type: 'DT_INT32' } };

/** A GraphDef written node by node as the TF.js converter writes model.json, with its weights. */
class GraphDef {
  readonly nodes: { name: string; op: string; input?: string[]; attr?: Record<string, unknown> }[] = [];
  private readonly weights: { name: string; shape: number[]; dtype: Dtype }[] = [];
  private readonly data: Buffer[] = [];

  placeholder(name: string, dims: number[]): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { shape: { shape: { dim: dims.map((d) => ({ size: String(d) })) } }, dtype: { type: 'DT_FLOAT' } } });
    return name;
  }

  /** A Const; `control` ties it to a loop's pivot, as TF does for constants made inside a body. */
  constant(name: string, dtype: Dtype, shape: number[], values: number[], control: string[] = []): string {
    this.nodes.push({ name, op: 'Const', ...(control.length ? { input: control.map((c) => `^${c}`) } : {}), attr: { value: { tensor: { dtype: TF_TYPE[dtype], tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: { type: TF_TYPE[dtype] } } });
    this.weights.push({ name, shape, dtype });
    this.data.push(Buffer.from((dtype === 'float32' ? Float32Array.from(values) : dtype === 'int32' ? Int32Array.from(values) : Uint8Array.from(values)).buffer));
    return name;
  }

  op(name: string, op: string, input: string[], attr: Record<string, unknown> = F): string {
    this.nodes.push({ name, op, input, attr });
    return name;
  }

  /** An Enter into `frame`: a loop variable's first value, or (is_constant) a value every iteration reads. */
  enter(name: string, input: string, frame: string, isConstant: boolean, T = F.T): string {
    return this.op(name, 'Enter', [input], { T, frame_name: { s: Buffer.from(frame).toString('base64') }, is_constant: { b: isConstant }, parallel_iterations: { i: '10' } });
  }

  artifacts(source: string): TfjsArtifacts {
    const manifest = [{ paths: ['w'], weights: this.weights }];
    const weightData = new Uint8Array(Buffer.concat(this.data));
    const modelJson = { format: 'graph-model', modelTopology: { node: this.nodes, versions: { producer: 1 } }, weightsManifest: manifest } as unknown as ModelJson;
    return { source, modelJson, weights: decodeWeights(manifest as never, weightData, source), weightData };
  }
}

/**
 * A tf.while_loop's frame as TF1 lowers it, named as TF names it under `p` (frame `${p}/while_context`):
 * per loop variable k an Enter_k, Merge_k (with NextIteration_k), Switch_k on the LoopCond,
 * Identity_k (where the body reads it) and Exit_k. `cond` writes the condition from the Merges and
 * returns its boolean; `body` writes the body from the Identities and returns each next value.
 */
function whileLoop(g: GraphDef, p: string, vars: { input: string; T: { type: string } }[], cond: (merges: string[]) => string, body: (ids: string[]) => string[]): string[] {
  const frame = `${p}/while_context`;
  const suffix = (k: number) => (k ? `_${k}` : '');
  const merges = vars.map((v, k) => {
    g.enter(`${p}/Enter${suffix(k)}`, v.input, frame, false, v.T);
    return g.op(`${p}/Merge${suffix(k)}`, 'Merge', [`${p}/Enter${suffix(k)}`, `${p}/NextIteration${suffix(k)}`], { T: v.T, N: { i: '2' } });
  });
  const loopCond = g.op(`${p}/LoopCond`, 'LoopCond', [cond(merges)], {});
  const ids = vars.map((v, k) => {
    g.op(`${p}/Switch${suffix(k)}`, 'Switch', [merges[k]!, loopCond], { T: v.T });
    return g.op(`${p}/Identity${suffix(k)}`, 'Identity', [`${p}/Switch${suffix(k)}:1`], { T: v.T });
  });
  const next = body(ids);
  return vars.map((v, k) => {
    g.op(`${p}/NextIteration${suffix(k)}`, 'NextIteration', [next[k]!], { T: v.T });
    return g.op(`${p}/Exit${suffix(k)}`, 'Exit', [`${p}/Switch${suffix(k)}`], { T: v.T });
  });
}

/** i = 0; while i < limit: i += 1; x = x·two + one (two entered as a loop invariant, one a constant of the body). */
function affineLoop(limit: number, limitFrom?: (g: GraphDef) => string): TfjsArtifacts {
  const g = new GraphDef();
  g.placeholder('x', [-1, 6]);
  g.constant('while/i0', 'int32', [], [0]);
  const limitNode = limitFrom ? limitFrom(g) : g.constant('limit', 'int32', [], [limit]);
  g.constant('two', 'float32', [], [2]);
  const [, x] = whileLoop(
    g,
    'while',
    [{ input: 'while/i0', T: I.T }, { input: 'x', T: F.T }],
    ([i]) => g.op('while/Less', 'Less', [i!, g.enter('while/Less/Enter', limitNode, 'while/while_context', true, I.T)], I),
    ([i, xi]) => [
      g.op('while/add', 'AddV2', [i!, g.constant('while/add/y', 'int32', [], [1], ['while/Identity'])], I),
      g.op('while/add_1', 'AddV2', [g.op('while/mul', 'Mul', [xi!, g.enter('while/mul/Enter', 'two', 'while/while_context', true)]), g.constant('while/add_1/y', 'float32', [], [1], ['while/Identity'])]),
    ],
  );
  g.op('out', 'Identity', [x!]);
  return g.artifacts('affine-loop');
}

/**
 * The frame TF2 leaves once its functional While is lowered (tf.while_loop with
 * maximum_iterations=5): a loop counter and the maximum as loop variables (the maximum passed
 * through unchanged), the user's counter i < 4, and two carried values that read each other and
 * the counter: a ← a + tanh(b)·float(i), b ← b·sigmoid(a).
 */
function twoValueLoop(): TfjsArtifacts {
  const g = new GraphDef();
  g.placeholder('x', [-1, 6]);
  g.constant('while/loop_counter', 'int32', [], [0]);
  g.constant('while/maximum_iterations', 'int32', [], [5]);
  g.constant('i0', 'int32', [], [0]);
  g.constant('half', 'float32', [], [0.5]);
  g.op('b0', 'Mul', ['x', 'half']);
  const exits = whileLoop(
    g,
    'while',
    [{ input: 'while/loop_counter', T: I.T }, { input: 'while/maximum_iterations', T: I.T }, { input: 'i0', T: I.T }, { input: 'x', T: F.T }, { input: 'b0', T: F.T }],
    ([counter, max, i]) => {
      const within = g.op('while/Less', 'Less', [counter!, max!], I);
      const user = g.op('while/Less_1', 'Less', [i!, g.constant('while/Less_1/y', 'int32', [], [4], [counter!])], I);
      return g.op('while/LogicalAnd', 'LogicalAnd', [within, user], {});
    },
    ([counter, max, i, a, b]) => {
      const one = g.constant('while/add/y', 'int32', [], [1], ['while/Identity']);
      const scale = g.op('while/Cast', 'Cast', [i!], { SrcT: I.T, DstT: F.T, Truncate: { b: false } });
      return [
        g.op('while/add', 'AddV2', [counter!, one], I),
        max!,
        g.op('while/add_1', 'AddV2', [i!, one], I),
        g.op('while/add_2', 'AddV2', [a!, g.op('while/mul', 'Mul', [g.op('while/Tanh', 'Tanh', [b!]), scale])]),
        g.op('while/mul_1', 'Mul', [b!, g.op('while/Sigmoid', 'Sigmoid', [a!])]),
      ];
    },
  );
  g.op('out', 'AddV2', [exits[3]!, exits[4]!]);
  return g.artifacts('two-value-loop');
}

/** x [N, 5, 5, 3] → twice { x = relu(conv3×3(x, W) + bias) }, W entered as a loop invariant, the bias a constant of the body. */
function convLoop(): TfjsArtifacts {
  const g = new GraphDef();
  g.placeholder('x', [-1, 5, 5, 3]);
  g.constant('i0', 'int32', [], [0]);
  g.constant('W', 'float32', [3, 3, 3, 3], Array.from({ length: 81 }, (_, k) => Math.sin(k * 0.37) * 0.4));
  const [, y] = whileLoop(
    g,
    'loop',
    [{ input: 'i0', T: I.T }, { input: 'x', T: F.T }],
    ([i]) => g.op('loop/Less', 'Less', [i!, g.constant('loop/Less/y', 'int32', [], [2], [i!])], I),
    ([i, xi]) => {
      const w = g.enter('loop/conv/Enter', 'W', 'loop/while_context', true);
      const conv = g.op('loop/conv', 'Conv2D', [xi!, w], { ...F, strides: { list: { i: ['1', '1', '1', '1'] } }, dilations: { list: { i: ['1', '1', '1', '1'] } }, padding: { s: Buffer.from('SAME').toString('base64') }, data_format: { s: Buffer.from('NHWC').toString('base64') } });
      const bias = g.constant('loop/bias', 'float32', [3], [0.1, -0.2, 0.05], ['loop/Identity']);
      return [g.op('loop/add', 'AddV2', [i!, g.constant('loop/add/y', 'int32', [], [1], ['loop/Identity'])], I), g.op('loop/relu', 'Relu', [g.op('loop/biasadd', 'BiasAdd', [conv, bias])])];
    },
  );
  g.op('out', 'Identity', [y!]);
  return g.artifacts('conv-loop');
}

/**
 * Nested: twice { y = x; three times { y = y·0.5 + c } ; x = y + x }, the inner frame inside the
 * outer's body; c = 0.25 is a constant of the inner body, or (`entered`) a constant outside both
 * loops entered into the outer frame and from there into the inner one, as TF1 writes a captured value.
 */
function nestedLoop(entered = false): TfjsArtifacts {
  const g = new GraphDef();
  g.placeholder('x', [-1, 4]);
  g.constant('zero', 'int32', [], [0]);
  g.constant('c', 'float32', [], [0.25]);
  const [, x] = whileLoop(
    g,
    'outer',
    [{ input: 'zero', T: I.T }, { input: 'x', T: F.T }],
    ([i]) => g.op('outer/Less', 'Less', [i!, g.constant('outer/Less/y', 'int32', [], [2], [i!])], I),
    ([i, xo]) => {
      const j0 = g.constant('outer/j0', 'int32', [], [0], ['outer/Identity']);
      const [, y] = whileLoop(
        g,
        'outer/inner',
        [{ input: j0, T: I.T }, { input: xo!, T: F.T }],
        ([j]) => g.op('outer/inner/Less', 'Less', [j!, g.constant('outer/inner/Less/y', 'int32', [], [3], [j!])], I),
        ([j, yi]) => [
          g.op('outer/inner/add', 'AddV2', [j!, g.constant('outer/inner/add/y', 'int32', [], [1], ['outer/inner/Identity'])], I),
          g.op('outer/inner/add_1', 'AddV2', [
            g.op('outer/inner/mul', 'Mul', [yi!, g.constant('outer/inner/mul/y', 'float32', [], [0.5], ['outer/inner/Identity'])]),
            entered
              ? g.enter('outer/inner/add_1/Enter', g.enter('outer/add_1/Enter', 'c', 'outer/while_context', true), 'outer/inner/while_context', true)
              : g.constant('outer/inner/add_1/y', 'float32', [], [0.25], ['outer/inner/Identity']),
          ]),
        ],
      );
      return [g.op('outer/add', 'AddV2', [i!, g.constant('outer/add/y', 'int32', [], [1], ['outer/Identity'])], I), g.op('outer/add_2', 'AddV2', [y!, xo!])];
    },
  );
  g.op('out', 'Identity', [x!]);
  return g.artifacts('nested-loop');
}

/** TF.js's own execution of the model.json (its executor runs the loop frame), output 'out'. */
async function inTfjs(art: TfjsArtifacts, data: Float32Array, shape: number[]): Promise<Float32Array> {
  const model = await loadGraphModel({
    load: async () => ({
      modelTopology: art.modelJson.modelTopology as object,
      format: 'graph-model',
      weightSpecs: (art.modelJson.weightsManifest ?? []).flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
      weightData: art.weightData.slice().buffer,
    }),
  });
  const x = tf.tensor(data, shape);
  // Loops run only through executeAsync; the output is named, as the counters' Exits are outputs too.
  const y = (await model.executeAsync(x, 'out')) as tf.Tensor;
  const out = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return out;
}

async function inOrt(graph: Graph, data: Float32Array, shape: number[]): Promise<Float32Array> {
  assert.equal(graph.outputs.length, 1, `one output: ${graph.outputs.map((o) => o.name).join(', ')}`);
  const out = graph.outputs[0]!.name;
  return (await runOnce(graph, { name: graph.inputs[0]!.name, dims: shape, data }, [out])).get(out)!;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

/** Imports, runs in onnxruntime and in TF.js on one input; returns the graph and both outputs. */
async function agreement(art: TfjsArtifacts, shape: number[]): Promise<{ graph: Graph; ours: Float32Array; reference: Float32Array }> {
  const graph = tfjsArtifactsToGraph(art);
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) => Math.sin(k * 1.3) * 0.8);
  const [ours, reference] = [await inOrt(graph, data, shape), await inTfjs(art, data, shape)];
  assert.ok(maxAbsDiff(ours, reference) < 1e-5, `ort vs TF.js: ${maxAbsDiff(ours, reference)}`);
  return { graph, ours, reference };
}

const refusal = (pattern: RegExp) => (e: Error) => {
  assert.ok(e instanceof UserError, `a UserError, not ${e.name}: ${e.message}`);
  assert.match(e.message, pattern);
  assert.ok(!/\n/.test(e.message) && !!e.hint, 'one line, with a hint');
  return true;
};

describe('TF.js graph models: while loops with a constant trip count, unrolled at import', () => {
  it('unrolls x ← x·2 + 1 three times (a loop-invariant constant entered) as TF.js computes it', async () => {
    const art = affineLoop(3);
    const { graph, ours } = await agreement(art, [2, 6]);
    const ops = graph.nodes.map((n) => n.op);
    assert.equal(ops.filter((o) => o === 'Mul').length, 3, ops.join(' '));
    assert.equal(ops.filter((o) => o === 'Add').length, 3, ops.join(' '));
    // Three iterations of x·2 + 1 are 8x + 7.
    const data = Float32Array.from({ length: 12 }, (_, k) => Math.sin(k * 1.3) * 0.8);
    assert.ok(maxAbsDiff(ours, data.map((v) => 8 * v + 7)) < 1e-5);
  });

  it('unrolls zero iterations to the loop variable\'s initial value', async () => {
    const { graph, ours } = await agreement(affineLoop(0), [2, 6]);
    assert.equal(graph.nodes.filter((n) => n.op === 'Mul').length, 0);
    assert.ok(maxAbsDiff(ours, Float32Array.from({ length: 12 }, (_, k) => Math.sin(k * 1.3) * 0.8)) < 1e-7);
  });

  it('unrolls a loop carrying two values that read each other and the counter (maximum_iterations and i < 4, LogicalAnd) as TF.js computes it', async () => {
    const { graph } = await agreement(twoValueLoop(), [2, 6]);
    // min(5, 4) = 4 iterations: a Tanh and a Sigmoid in each.
    assert.equal(graph.nodes.filter((n) => n.op === 'Tanh').length, 4);
    assert.equal(graph.nodes.filter((n) => n.op === 'Sigmoid').length, 4);
    // The counter is evaluated at import: float(i) is a constant per iteration, 0 to 3.
    const scales = graph.nodes.filter((n) => n.name.startsWith('while/mul@')).map((n) => graph.initializers.get(n.inputs[1]!)!.float32()[0]);
    assert.deepEqual(scales, [0, 1, 2, 3]);
  });

  it('unrolls a loop with a conv in its body on a 4-d NHWC tensor as TF.js computes it, the cost counting each copy', async () => {
    const { graph } = await agreement(convLoop(), [2, 5, 5, 3]);
    assert.equal(graph.nodes.filter((n) => n.op === 'Conv').length, 2);
    // Two 3×3 convs, 3 → 3 channels, on 5×5: 2 · 25 · 3 · 27 MACs per image.
    assert.equal(analyzeGraph(graph, { batch: 1 }).macs, 2 * 25 * 3 * 27);
  });

  it('unrolls nested loops, the inner one first, as TF.js computes them', async () => {
    const { graph, ours } = await agreement(nestedLoop(), [3, 4]);
    assert.equal(graph.nodes.filter((n) => n.op === 'Mul').length, 6);
    // Three inner steps make y/8 + 0.4375, so x ← 1.125x + 0.4375, twice: 1.265625x + 0.9296875.
    const data = Float32Array.from({ length: 12 }, (_, k) => Math.sin(k * 1.3) * 0.8);
    assert.ok(maxAbsDiff(ours, data.map((v) => 1.265625 * v + 0.9296875)) < 1e-5);
    // The captured constant read through two Enters gives the same (compared with the formula:
    // TF.js 4.22's executor keeps an is_constant Enter's value from the outer loop's first
    // iteration only, and cannot compute this graph's output).
    const entered = tfjsArtifactsToGraph(nestedLoop(true));
    assert.ok(maxAbsDiff(await inOrt(entered, data, [3, 4]), ours) < 1e-6);
  });

  it('refuses a loop whose trip count depends on the data, in one line naming the frame and what the condition reads', () => {
    const fromInput = affineLoop(0, (g) => g.placeholder('n', []));
    assert.throws(() => tfjsArtifactsToGraph(fromInput), refusal(/^affine-loop: while loop 'while\/while_context' is not unrolled: its trip count depends on the data: the condition reads 'n' \(Placeholder\), which is not a constant$/));
    // A condition on the carried value itself: while x < 10.
    const g = new GraphDef();
    g.placeholder('x', []);
    whileLoop(g, 'w', [{ input: 'x', T: F.T }], ([x]) => g.op('w/Less', 'Less', [x!, g.constant('w/Less/y', 'float32', [], [10], [x!])]), ([x]) => [g.op('w/mul', 'Mul', [x!, g.constant('w/mul/y', 'float32', [], [2], ['w/Identity'])])]);
    assert.throws(() => tfjsArtifactsToGraph(g.artifacts('grow')), refusal(/while loop 'w\/while_context' is not unrolled: its trip count depends on the data: the condition reads loop variable 'w\/Merge', which enters from 'x' \(Placeholder\), not a constant/));
  });

  it('refuses a loop over TensorList ops, one over the iteration limit and one over the node limit, naming the frame', () => {
    const listed = affineLoop(3);
    (listed.modelJson.modelTopology as { node: { name: string; op: string }[] }).node.find((n) => n.name === 'while/mul')!.op = 'TensorListGetItem';
    assert.throws(() => tfjsArtifactsToGraph(listed), refusal(/while loop 'while\/while_context' is not unrolled: it works on TensorList\/TensorArray ops \(node 'while\/mul' is a TensorListGetItem\)/));
    assert.throws(() => tfjsArtifactsToGraph(affineLoop(MAX_LOOP_ITERATIONS + 1)), refusal(new RegExp(`while loop 'while/while_context' is not unrolled: it runs more than ${MAX_LOOP_ITERATIONS} iterations`)));
    // The limit itself unrolls.
    assert.equal(tfjsArtifactsToGraph(affineLoop(MAX_LOOP_ITERATIONS)).nodes.filter((n) => n.op === 'Mul').length, MAX_LOOP_ITERATIONS);
    // So many iterations of a longer body are too many nodes: 1000 × (1 + 100 Neg) > 100,000.
    const g = new GraphDef();
    g.placeholder('x', [-1, 6]);
    g.constant('i0', 'int32', [], [0]);
    whileLoop(
      g,
      'long',
      [{ input: 'i0', T: I.T }, { input: 'x', T: F.T }],
      ([i]) => g.op('long/Less', 'Less', [i!, g.constant('long/Less/y', 'int32', [], [MAX_LOOP_ITERATIONS], [i!])], I),
      ([i, x]) => {
        let y = x!;
        for (let k = 0; k < 100; k++) y = g.op(`long/neg_${k}`, 'Neg', [y]);
        return [g.op('long/add', 'AddV2', [i!, g.constant('long/add/y', 'int32', [], [1], ['long/Identity'])], I), y];
      },
    );
    assert.throws(() => tfjsArtifactsToGraph(g.artifacts('long-loop')), refusal(new RegExp(`while loop 'long/while_context' is not unrolled: its 1000 iterations of 101 body nodes make 101000 nodes, more than the ${MAX_UNROLLED_NODES}`)));
  });

  it('refuses a loop-frame operator outside any frame an Enter opens', () => {
    const stray = affineLoop(3);
    const nodes = (stray.modelJson.modelTopology as { node: { name: string; op: string; input?: string[] }[] }).node;
    nodes.push({ name: 'stray', op: 'NextIteration', input: ['out'] });
    assert.throws(() => tfjsArtifactsToGraph(stray), refusal(/^unsupported operator 'NextIteration' \(node 'stray'\): loops \(while_loop frames\) are unrolled only whole/));
  });
});
