import { GraphError, topologicalOrder, type Graph, type Node } from './graph.js';
import { opDef, ShapeError } from './ops/index.js';
import { checkTensorShape } from './limits.js';
import type { Dim, TensorType } from './tensor.js';


/** Values bound to symbolic dimensions, e.g. { N: 8 }. */
export type DimBindings = Record<string, number>;

export function bindShape(shape: Dim[], bindings: DimBindings): Dim[] {
  return shape.map((d) => (typeof d === 'string' && bindings[d] !== undefined ? bindings[d]! : d));
}

/** Binds the leading (batch) dimension of every input that has a symbolic one. */
export function leadingDimBindings(graph: Graph, batch: number): DimBindings {
  const bindings: DimBindings = {};
  for (const input of graph.inputs) {
    const lead = input.type.shape[0];
    if (typeof lead === 'string') bindings[lead] = batch;
  }
  return bindings;
}

export function nodeLabel(node: Node): string {
  return `node '${node.name}' (${node.op})`;
}

/**
 * Types of every value in the graph: inputs (with symbols bound), initializers, and each node's
 * outputs in topological order. Throws a GraphError naming the first node whose inputs do not fit.
 */
export function inferShapes(graph: Graph, bindings: DimBindings = {}): Map<string, TensorType> {
  const types = new Map<string, TensorType>();
  for (const input of graph.inputs) {
    const shape = bindShape(input.type.shape, bindings);
    // Before any node: formbench fills inputs with seeded values, so their size is checked first.
    checkTensorShape(shape, `input '${input.name}'`, { symbols: true });
    types.set(input.name, { dtype: input.type.dtype, shape });
  }
  for (const [name, t] of graph.initializers) {
    checkTensorShape(t.dims, `initializer '${name}'`, { allowZero: true });
    types.set(name, { dtype: t.dtype, shape: [...t.dims] });
  }
  for (const node of topologicalOrder(graph)) {
    const def = opDef(node.op);
    if (!def) throw new GraphError(`${nodeLabel(node)}: operator '${node.op}' is not supported`);
    const inputs = node.inputs.map((name) => {
      if (!name) return undefined;
      const t = types.get(name);
      if (!t) throw new GraphError(`${nodeLabel(node)}: input '${name}' is not produced by any node, input or initializer`);
      return t;
    });
    let outputs: TensorType[];
    try {
      outputs = def.infer({
        node,
        inputs,
        constant: (i) => (node.inputs[i] ? graph.initializers.get(node.inputs[i]!) : undefined),
      });
    } catch (e) {
      if (e instanceof ShapeError) throw new GraphError(`${nodeLabel(node)}: ${e.message}`);
      throw e;
    }
    node.outputs.forEach((name, i) => {
      const t = outputs[i];
      if (!name || !t) return;
      const bad = t.shape.find((d) => typeof d === 'number' && (!Number.isSafeInteger(d) || d < 0));
      if (bad !== undefined) throw new GraphError(`${nodeLabel(node)}: its output '${name}' would have the dimension ${bad} (shape [${t.shape.join(', ')}])`);
      types.set(name, t);
    });
  }
  return types;
}
