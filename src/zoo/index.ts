/** The model zoo: the six design patterns (and, later, the reference networks) by spec. */
import { UserError } from '../errors.js';
import { buildPatternNetwork, type ZooModel } from './patterns.js';
import { buildReferenceNetwork, isReferenceSpec, REFERENCE_NETWORKS } from './reference/index.js';
import { isPatternSpec, parsePatternSpec, PATTERNS } from './spec.js';

export * from './spec.js';
export { buildPatternNetwork, residualBranchGain, NUM_CLASSES, type ZooModel } from './patterns.js';
export { NetBuilder, BATCH_DIM } from './builder.js';
export { REFERENCE_NETWORKS, buildReferenceNetwork, type ReferenceNetwork } from './reference/index.js';

/** Builds the zoo network a spec names (weights are generated lazily, uncalibrated). */
export function buildZooModel(spec: string): ZooModel {
  if (isPatternSpec(spec)) return buildPatternNetwork(parsePatternSpec(spec));
  if (isReferenceSpec(spec)) return buildReferenceNetwork(spec);
  throw new UserError(
    `unknown model '${spec}'`,
    `give a pattern spec (${PATTERNS.join('|')}/d<depth>/w<width>[/r<res>]), a reference network (${REFERENCE_NETWORKS.map((n) => n.name).join(', ')}) or a path to an .onnx file; 'formbench models' lists the zoo`,
  );
}
