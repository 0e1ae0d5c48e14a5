import type { NetBuilder } from '../builder.js';

/** A reference architecture (hand-crafted or NAS-derived) the zoo can build. */
export interface ReferenceNetwork {
  /** The model spec naming it, e.g. 'resnet50'. */
  name: string;
  /** One line for `formbench models`: family, blocks, source of the definition. */
  description: string;
  /** Default input resolution (224, 299 for Inception v3, 331 for NASNet-A Large). */
  resolution: number;
  /** Design patterns its blocks are made of (DESIGN.md's names), for the study's explanations. */
  patterns: string[];
  /**
   * Figures to check the build against. `params` counts BN weight and bias but not running
   * statistics; `macs` is Conv+Linear multiply-accumulates at batch 1 and the default resolution.
   */
  reference: { params: number; macs: number; source: string };
  /** Caveat shown beside the figures (e.g. a published count that no standard counter reproduces). */
  note?: string;
  /** Builds the network on `input` (N×3×R×R) and returns the logits. */
  build(b: NetBuilder, input: string): string;
}
