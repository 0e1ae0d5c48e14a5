import { getInt } from '../graph.js';
import type { DType } from '../tensor.js';
import { broadcastShapes, defineOps, fail, requireInput, type OpDef } from './registry.js';

/** Comparisons and boolean logic, used by in-graph statistics (the activation check). */
function compare(op: string): OpDef {
  return {
    op,
    inputs: [2, 2],
    outputs: [1, 1],
    attrs: {},
    infer: (ctx) => [{ dtype: 'bool', shape: broadcastShapes([requireInput(ctx, 0).shape, requireInput(ctx, 1).shape]) }],
  };
}

/** ONNX TensorProto.DataType codes Cast accepts. */
const CAST_TARGETS: Record<number, DType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

defineOps(
  compare('Less'),
  compare('Greater'),
  compare('Equal'),
  compare('And'),
  compare('Or'),
  { op: 'Not', inputs: [1, 1], outputs: [1, 1], attrs: {}, infer: (ctx) => [{ dtype: 'bool', shape: requireInput(ctx, 0).shape }] },
  { op: 'Abs', inputs: [1, 1], outputs: [1, 1], attrs: {}, infer: (ctx) => [requireInput(ctx, 0)] },
  {
    op: 'Cast',
    inputs: [1, 1],
    outputs: [1, 1],
    attrs: { to: 'int', saturate: 'int' },
    infer: (ctx) => {
      const to = CAST_TARGETS[getInt(ctx.node.attrs, 'to', 0)];
      if (!to) fail(`cannot cast to element type ${getInt(ctx.node.attrs, 'to', 0)}`);
      return [{ dtype: to, shape: requireInput(ctx, 0).shape }];
    },
  },
);
