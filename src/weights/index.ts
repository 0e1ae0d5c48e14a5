/** Random weights that keep activations healthy: seeded generation, BN calibration, the check. */
export { Rng, seededNormal } from './random.js';
export { calibrateBatchNorm, CALIBRATION_SEED, type CalibrationOptions } from './calibrate.js';
export { activationHealth, isHealthy, HEALTHY_STD_RANGE, FLOAT32_MIN_NORMAL, type HealthReport, type LayerHealth } from './health.js';
