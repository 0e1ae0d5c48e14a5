import { broadcastShapes, defineOps, fail, requireInput, type OpDef } from './registry.js';
import type { AttrValue } from '../graph.js';

/** Unary operators whose output has the input's type. */
function unary(op: string, attrs: Record<string, AttrValue['type']> = {}, maxInputs = 1): OpDef {
  return {
    op,
    inputs: [1, maxInputs],
    outputs: [1, 1],
    attrs,
    infer: (ctx) => [requireInput(ctx, 0)],
  };
}

function binary(op: string): OpDef {
  return {
    op,
    inputs: [2, 2],
    outputs: [1, 1],
    attrs: {},
    infer: (ctx) => {
      const a = requireInput(ctx, 0);
      const b = requireInput(ctx, 1);
      if (a.dtype !== b.dtype) fail(`input types differ: ${a.dtype} and ${b.dtype}`);
      return [{ dtype: a.dtype, shape: broadcastShapes([a.shape, b.shape]) }];
    },
  };
}

defineOps(
  unary('Relu'),
  unary('Sigmoid'),
  unary('Tanh'),
  unary('Sqrt'),
  unary('Exp'),
  unary('Neg'),
  unary('Floor'),
  unary('HardSwish'),
  unary('LeakyRelu', { alpha: 'float' }),
  unary('HardSigmoid', { alpha: 'float', beta: 'float' }),
  unary('Elu', { alpha: 'float' }),
  // Clip's bounds are optional scalar inputs since opset 11.
  unary('Clip', {}, 3),
  unary('Identity'),
  unary('Softmax', { axis: 'int' }),
  {
    op: 'Dropout',
    inputs: [1, 3],
    outputs: [1, 2],
    attrs: { seed: 'int' },
    infer: (ctx) => {
      const x = requireInput(ctx, 0);
      return ctx.node.outputs.length > 1 ? [x, { dtype: 'bool', shape: x.shape }] : [x];
    },
  },
  binary('Add'),
  binary('Sub'),
  binary('Mul'),
  binary('Div'),
  // ONNX's Max and Min are variadic; the importers write two operands (TF's Maximum, Minimum).
  binary('Max'),
  binary('Min'),
  binary('Pow'),
  // ONNX's Mod with fmod = 0 takes the divisor's sign, as TF's FloorMod does.
  { ...binary('Mod'), attrs: { fmod: 'int' } },
  // The slope broadcasts against the input (per channel: [C, 1, 1] against NCHW).
  { ...binary('PRelu'), infer: (ctx) => [requireInput(ctx, 0)] },
);
