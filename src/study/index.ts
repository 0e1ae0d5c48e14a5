/** Studies: built-in presets and user YAML files, planning them into trials, and running them into the store. */
import { existsSync } from 'node:fs';
import { ENGINES, availabilityOf } from '../engines/index.js';
import { UserError } from '../errors.js';
import type { Study } from './definition.js';
import { readStudyFile } from './file.js';
import { isPresetName, presetEngines, presetNotes, presetStudy, PRESET_DESCRIPTIONS, PRESET_NAMES } from './presets.js';

export { STUDY_BUDGET, type ScenarioPlan, type Study, type Sweep } from './definition.js';
export { parseStudy, readStudyFile } from './file.js';
export { ALLOW_SOFTWARE_GPU_FLAG, checkSoftwareGpu, PRESET_GPU_ENGINE, presetGpu, softwareGpuUses, type GpuAvailability, type SoftwareGpuUse } from './gpu.js';
export { estimateSeconds, planStudy, type ModelFacts, type PlannedScenario, type PlannedTrial, type StudyPlan } from './plan.js';
export { PRESET_DESCRIPTIONS, PRESET_NAMES, isPresetName, presetEngines, presetNotes, presetStudy, type PresetEngines, type PresetName } from './presets.js';
export { resultRow, runStudy, type RunOptions, type StudyEvent, type StudyStore } from './run.js';

/** A preset by name or a YAML file by path; presets also say which engines they left out and why. */
export async function loadStudy(nameOrPath: string): Promise<{ study: Study; notes: string[] }> {
  if (isPresetName(nameOrPath)) {
    const available = new Map(await Promise.all(ENGINES.map(async (e) => [e.name, await availabilityOf(e)] as const)));
    const engines = presetEngines(new Map([...available].map(([k, a]) => [k, a.available ? { available: true, ...(a.gpu ? { gpu: a.gpu } : {}) } : { available: false, reason: a.reason }])));
    return { study: presetStudy(nameOrPath, engines), notes: presetNotes(nameOrPath, engines) };
  }
  if (/\.ya?ml$/i.test(nameOrPath) || existsSync(nameOrPath)) return { study: readStudyFile(nameOrPath), notes: [] };
  throw new UserError(`unknown study '${nameOrPath}'`, `give a preset (${PRESET_NAMES.map((p) => `${p}: ${PRESET_DESCRIPTIONS[p]}`).join('; ')}) or a YAML study file`);
}
