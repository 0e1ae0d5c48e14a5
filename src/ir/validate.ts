import { GraphError, type Graph } from './graph.js';
import { inferShapes, nodeLabel, type DimBindings } from './infer.js';
import { opDef, supportedOps } from './ops/index.js';
import type { TensorType } from './tensor.js';

/**
 * Checks a graph end to end — unique names, known operators and attributes, input and output
 * counts, every input defined, no cycle, shapes that infer, declared outputs produced — and
 * returns the inferred types. Throws a GraphError naming the node at fault.
 */
export function validateGraph(graph: Graph, bindings: DimBindings = {}): Map<string, TensorType> {
  const defined = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.initializers.keys()]);
  const nodeNames = new Set<string>();
  for (const node of graph.nodes) {
    if (!node.name) throw new GraphError(`a ${node.op} node has no name`, 'give every node a unique name');
    if (nodeNames.has(node.name)) throw new GraphError(`${nodeLabel(node)}: another node has the same name`, 'give every node a unique name');
    nodeNames.add(node.name);
    const def = opDef(node.op);
    if (!def) throw new GraphError(`${nodeLabel(node)}: operator '${node.op}' is not supported`, `formbench's IR has ${supportedOps().join(', ')}`);
    const [minIn, maxIn] = def.inputs;
    const givenIn = lastPresent(node.inputs);
    if (givenIn < minIn || givenIn > maxIn) {
      throw new GraphError(`${nodeLabel(node)}: takes ${range(minIn, maxIn)} inputs, has ${givenIn}`);
    }
    const [minOut, maxOut] = def.outputs;
    if (node.outputs.length < minOut || node.outputs.length > maxOut) {
      throw new GraphError(`${nodeLabel(node)}: has ${range(minOut, maxOut)} outputs, declares ${node.outputs.length}`);
    }
    for (const [name, value] of Object.entries(node.attrs)) {
      const expected = def.attrs[name];
      if (!expected) throw new GraphError(`${nodeLabel(node)}: unknown attribute '${name}'`, `${node.op} takes ${Object.keys(def.attrs).join(', ') || 'no attributes'}`);
      if (value.type !== expected) {
        throw new GraphError(`${nodeLabel(node)}: attribute '${name}' must be ${expected}, is ${value.type}`);
      }
    }
    for (const out of node.outputs) {
      if (!out) continue;
      if (defined.has(out)) throw new GraphError(`${nodeLabel(node)}: output '${out}' is already defined elsewhere`);
      defined.add(out);
    }
  }
  const types = inferShapes(graph, bindings);
  for (const out of graph.outputs) {
    if (!types.has(out.name)) throw new GraphError(`graph output '${out.name}' is not produced by any node`);
  }
  return types;
}

function lastPresent(inputs: string[]): number {
  let n = inputs.length;
  while (n > 0 && !inputs[n - 1]) n--;
  return n;
}

function range(min: number, max: number): string {
  if (min === max) return String(min);
  return max === Infinity ? `at least ${min}` : `${min} to ${max}`;
}
