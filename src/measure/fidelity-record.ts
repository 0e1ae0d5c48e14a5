import type { ModelIdentity } from '../model/identity.js';

/**
 * What one fidelity check found: an engine's time over its framework's own idiomatic execution of
 * the same network (same weights, same input, same process, timed interleaved). A ratio above 1
 * means formbench runs the framework slower than its users would, and so inflates every speed-up
 * measured over it by that factor.
 */
export interface FidelityRecord extends Pick<ModelIdentity, 'model'> {
  batch: number;
  /** The engine as the user wrote it, with options: `torch:threads=1`. */
  engine: string;
  engineName: string;
  options: Record<string, string>;
  engineVersion?: string;
  status: 'ok' | 'failed';
  reason?: string;
  /** What the idiomatic side ran, one line (e.g. 'torchvision.models.resnet50'). */
  idiomatic?: string;
  engineMedianMs?: number;
  idiomaticMedianMs?: number;
  /**
   * The median over rounds of engine ÷ idiomatic, each round's two runs adjacent in time (see
   * pairedRatios in fidelity.ts): on a shared machine whose speed changes from second to second it
   * is steadier than engineMedianMs / idiomaticMedianMs, which the two medians still give.
   */
  ratio?: number;
  /** 95% interval of that median (order statistics of the paired ratios). */
  ratioInterval?: [number, number];
  engineSamplesMs?: number[];
  idiomaticSamplesMs?: number[];
  /** Relative error between the two sides' outputs (they must compute the same function). */
  outputRelativeError?: number;
}

/** Above this ratio a native engine's speed-ups are flagged: formbench's execution, not the framework's, sets them. */
export const FIDELITY_WARNING_RATIO = 1.1;
