/** The graph IR: typed tensors, nodes, a DAG, shape inference and validation. */
export * from './tensor.js';
export * from './graph.js';
export * from './infer.js';
export * from './validate.js';
export { normAxis, opDef, ShapeError, supportedOps, type OpDef } from './ops/index.js';
export * from './limits.js';
export { foldPadsIntoWindows } from './fold-pads.js';
