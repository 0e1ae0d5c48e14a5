/** The model zoo: the six design patterns (and, later, the reference networks) by spec. */
import { UserError } from '../errors.js';
import { buildPatternNetwork, type ZooModel } from './patterns.js';
import { isPatternSpec, parsePatternSpec, PATTERNS } from './spec.js';

export * from './spec.js';
export { buildPatternNetwork, residualBranchGain, NUM_CLASSES, type ZooModel } from './patterns.js';
export { NetBuilder, BATCH_DIM } from './builder.js';

/** Builds the zoo network a spec names (weights are generated lazily, uncalibrated). */
export function buildZooModel(spec: string): ZooModel {
  if (isPatternSpec(spec)) return buildPatternNetwork(parsePatternSpec(spec));
  throw new UserError(
    `unknown model '${spec}'`,
    `give a pattern spec (${PATTERNS.join('|')}/d<depth>/w<width>[/r<res>]) or a path to an .onnx file; 'formbench models' lists the zoo`,
  );
}
