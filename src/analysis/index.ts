/** Static cost: MACs, FLOPs, parameters, bytes and arithmetic intensity, per layer and in total. */
export { analyzeGraph, batchBindings, BYTE_MODEL, type AnalyzeOptions, type LayerCost, type ModelCost } from './analyze.js';
export { nodeCompute, PARAMETER_INPUTS, type NodeCompute } from './costs.js';
export { activationPeak, storedWeightBytes, type ActivationPeak } from './memory.js';
