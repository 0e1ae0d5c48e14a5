/**
 * What names a model in a result: the model as the study wrote it and, for a design-pattern
 * network, where it sits in the design space. Declared once; the plan's facts, the stored rows,
 * the fidelity records and the report's points are all built from it.
 */

/** `pattern` (a design-pattern network), `network` (a reference network) or `file` (user model). */
export type ModelKind = 'pattern' | 'network' | 'file';

export interface ModelIdentity {
  /**
   * The model as the study wrote it: a zoo spec (`standard/d10/w64`), a path to an .onnx file or a
   * TF.js model. (The plan calls it `spec`; results and the report call it `model`.)
   */
  model: string;
  kind: ModelKind;
  /** The design pattern; null for a reference network or a user model, as are depth and width. */
  pattern: string | null;
  /** Blocks. */
  depth: number | null;
  /** Channels. */
  width: number | null;
  /** Input height and width, pixels; null where the model's input does not fix it. */
  resolution: number | null;
}
