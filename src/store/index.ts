/** The results database: the Result row schema, and a DuckDB file that never loses a finished trial. */
export { decodeTrial, encodeTrial, modelIdentity, TRIAL_COLUMNS, snakeCase, type ResultRow, type StoredTrial, type TrialStatus } from './schema.js';
export { EXPORT_TABLES, ResultStore, STORE_FILE, type DeviceRecord, type ExportTable, type StoredPeaks } from './store.js';
export type { StoredFidelity } from './fidelity.js';
export { scenarioFigures, type ScenarioResult, type StoredScenario } from './scenarios.js';
export { CalibrationTables, type StoredFusionRule, type StoredLatencyModel, type StoredPredictionCheck, type StoredProbe } from './calibration.js';
