import { getInt } from '../graph.js';
import type { Dim } from '../tensor.js';
import { defineOps, fail, normAxis, requireConstant, requireInput } from './registry.js';

/**
 * Index-producing and index-consuming operators (ONNX opset 17 semantics), which trained models'
 * post-processing uses: ArgMax picks a keypoint's heat-map peak, TopK the best detections,
 * Gather/GatherND read the values at those indices. Indices are int64, as ONNX has them.
 */
defineOps(
  {
    op: 'ArgMax',
    inputs: [1, 1],
    outputs: [1, 1],
    attrs: { axis: 'int', keepdims: 'int', select_last_index: 'int' },
    infer: (ctx) => {
      const x = requireInput(ctx, 0);
      const axis = normAxis(getInt(ctx.node.attrs, 'axis', 0), x.shape.length);
      const keep = getInt(ctx.node.attrs, 'keepdims', 1) === 1;
      const shape = keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
      return [{ dtype: 'int64', shape }];
    },
  },
  {
    op: 'TopK',
    inputs: [2, 2],
    outputs: [2, 2],
    attrs: { axis: 'int', largest: 'int', sorted: 'int' },
    infer: (ctx) => {
      const x = requireInput(ctx, 0);
      const axis = normAxis(getInt(ctx.node.attrs, 'axis', -1), x.shape.length);
      const [k] = requireConstant(ctx, 1, 'k');
      if (k === undefined || k < 1) fail(`k must be a positive constant, got ${k}`);
      const size = x.shape[axis]!;
      if (typeof size === 'number' && k! > size) fail(`k = ${k} is larger than axis ${axis} (${size})`);
      const shape = x.shape.map((d, i) => (i === axis ? k! : d));
      return [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }];
    },
  },
  {
    op: 'Gather',
    inputs: [2, 2],
    outputs: [1, 1],
    attrs: { axis: 'int' },
    infer: (ctx) => {
      const data = requireInput(ctx, 0);
      const indices = requireInput(ctx, 1);
      if (indices.dtype !== 'int64' && indices.dtype !== 'int32') fail(`indices must be integers, got ${indices.dtype}`);
      const axis = normAxis(getInt(ctx.node.attrs, 'axis', 0), data.shape.length);
      return [{ dtype: data.dtype, shape: [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)] }];
    },
  },
  {
    op: 'GatherND',
    inputs: [2, 2],
    outputs: [1, 1],
    attrs: { batch_dims: 'int' },
    infer: (ctx) => {
      const data = requireInput(ctx, 0);
      const indices = requireInput(ctx, 1);
      if (indices.dtype !== 'int64') fail(`indices must be int64, got ${indices.dtype}`);
      if (getInt(ctx.node.attrs, 'batch_dims', 0) !== 0) fail('batch_dims other than 0 is not supported');
      const depth = indices.shape[indices.shape.length - 1];
      if (typeof depth !== 'number' || depth > data.shape.length) fail(`the last axis of the indices (${depth}) must be a size no larger than the data's rank ${data.shape.length}`);
      const shape: Dim[] = [...indices.shape.slice(0, -1), ...data.shape.slice(depth)];
      return [{ dtype: data.dtype, shape }];
    },
  },
);
