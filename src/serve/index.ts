/** `formbench serve`: a local server whose page runs a study in the browser and posts each result into the store. */
export { DeviceSchema, MAX_POST_BYTES, ResultSchema, type DeviceAnswer, type DeviceInfo, type LabPlan, type LabResult, type LabTrial, type ResultAnswer } from './api.js';
export { labAssets } from './assets.js';
export { browserOf, deviceFingerprint, deviceRecord, platformOf } from './device.js';
export { DEFAULT_LAB_ENGINES, LAB_STUDY, labPlan, labStudy } from './lab-study.js';
export { labServer, newToken, TOKEN_HEADER, type LabServerOptions, type TlsFiles } from './server.js';
