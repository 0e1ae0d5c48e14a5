/** Engines: one file each behind one small interface (engine.ts); discovery in registry.ts. */
export * from './engine.js';
export { ENGINES, availabilityOf, engineByName, engineChoice, numericsOf, parseEngineChoice, parseEngineList, registerEngine, requireRunnable, type EngineChoice } from './registry.js';
export { cpuInfo, parseCpuFlags, type CpuInfo } from './cpu.js';
export { describeAdapter } from './webgpu-adapter.js';
export { ENGINE_MODULES_ENV, loadEngineModules } from './plugins.js';
export { ortWebEngine } from './ort-web.js';
export { tfjsWebEngine } from './tfjs-web.js';
