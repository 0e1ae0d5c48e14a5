/** Studies over many machines: PostgreSQL as the queue (pg-boss) and the shared store, the workers, the export into a DuckDB store. */
export { FLEET_URL_HINT, parseFleetUrl, openQueue, type FleetUrl } from './connection.js';
export { checkFleetStudy, fleetModelRefusal, studyDocument } from './document.js';
export { copyToDuckDb } from './export.js';
export { enqueueForUnit, fidelityKey, jobId, trialJobSchema, type TrialJob } from './jobs.js';
export { queueOf, thisMachine, unitOf } from './machine.js';
export { fleetStatus, LIVE_WITHIN_MS, type FleetStatus, type UnitStatus } from './status.js';
export { FleetStore, type FleetMachine, type FleetMode, type FleetStudy } from './store.js';
export { submitStudy, trialExpirySeconds, DEFAULT_RETRY_LIMIT } from './submit.js';
export { runWorker, SUPERVISE_INTERVAL_S, type WorkerOptions } from './worker.js';
