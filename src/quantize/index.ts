/**
 * Lower precision: INT8 quantisation (QDQ, static calibration), FP16 conversion, and the output
 * error of a lower-precision model against its FP32 original.
 */
export { quantizeOnnx, type QuantizeOptions, type QuantizationSummary, type QuantizedModel } from './quantize.js';
export { seededInputs, imageInputs, collectRanges, type ModelInput } from './calibrate.js';
export { CALIBRATION_METHODS, DEFAULT_PERCENTILE, type CalibrationMethod } from './ranges.js';
export { convertToFp16, type Fp16Summary } from './fp16.js';
export { compareModels, outputError, type OutputError } from './accuracy.js';
export { precisionInputs, engineCalibration, imageDimsOf, PRECISION_SEED, ENGINE_CALIBRATION_IMAGES, type InputChoice, type PrecisionInputs } from './inputs.js';
