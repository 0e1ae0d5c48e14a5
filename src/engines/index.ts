/** Engines: one file each behind one small interface (engine.ts); discovery in registry.ts. */
export * from './engine.js';
export { ENGINES, availabilityOf, engineByName, parseEngineChoice, registerEngine, type EngineChoice } from './registry.js';
export { cpuInfo, parseCpuFlags, type CpuInfo } from './cpu.js';
