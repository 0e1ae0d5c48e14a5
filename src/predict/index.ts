/**
 * Latency prediction (nn-Meter's approach, on this machine): kernel-level models per engine fitted
 * from probe networks formbench profiles itself (calibrate.ts), stored as coefficients; a network
 * predicted as the sum over the kernels its engine really runs (kernels.ts, model.ts); held-out
 * validation (validate.ts) and a budget advisor (advise.ts).
 */
export { accuracyOf, absoluteRelativeError, medianOf, spearman, repeatabilityOf, speedupAgreement, type Accuracy, type PredictionCheck, type SpeedupCheck } from './accuracy.js';
export { advise, ADVISE_MAX_DEPTH, ADVISE_ROUNDS, ADVISE_WIDTHS, frontier, patternAdvice, type Advice, type Candidate, type PatternAdvice } from './advise.js';
export { calibrate, INITIAL_PROBES, measureProbe, PROBE_BUDGET, type CalibrationEvent, type EngineCalibration } from './calibrate.js';
export { fitEngineModel, loadEngineModel, modelRows } from './fit.js';
export { decompose, KERNEL_CLASSES, type FusionRules, type Kernel, type KernelClass, type KernelShape } from './kernels.js';
export { predictGraph, type EngineLatencyModel, type Prediction, type PredictedKernel } from './model.js';
export { checkSpeeds, loadModels, predictedSpeedups, predictSpec, type LoadedModel, type ModelPrediction, type PredictedSpeedup } from './predict.js';
export { HELD_OUT_PATTERNS, HELD_OUT_REFERENCES, summarizeChecks, validate, VALIDATE_BUDGET, VALIDATE_ROUNDS, type Validation, type ValidationEngine } from './validate.js';
export { describeSpeedCheck, speedCheck, type SpeedCheck } from './speed-check.js';
