/** Engines: one file each behind one small interface (engine.ts); discovery in registry.ts. */
export * from './engine.js';
export { ENGINES, availabilityOf, choiceLabel, engineByName, engineChoice, numericsOf, parseEngineChoice, parseEngineList, registerEngine, requireRunnable, type EngineChoice } from './registry.js';
export { FP32_TOLERANCE, PRECISION_TOLERANCE, type Precision } from './precision.js';
export { MAX_THREADS } from './options.js';
export { cpuInfo, parseCpuFlags, type CpuInfo } from './cpu.js';
export { ENGINE_MODULES_ENV, loadEngineModules } from './plugins.js';
