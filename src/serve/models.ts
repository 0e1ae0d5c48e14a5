/**
 * The models a lab page runs, prepared by the CLI's own code (measure/prepared.ts: BatchNorm
 * calibrated, one ONNX file) so that the page measures the very weights a CLI run measures, and
 * the reference engine's output for each batch and input, computed here with onnxruntime-node in
 * a worker as a study computes it. Each model is prepared once, when the page first asks for it:
 * the page asks before it times anything, so this work never overlaps a measurement.
 */
import { readFileSync } from 'node:fs';
import { tfjsWebEngine } from '../engines/index.js';
import { buildGraphModel } from '../engines/tfjs-graph-model.js';
import type { Graph } from '../ir/index.js';
import { referenceOutput, withPreparedModel } from '../measure/index.js';
import type { StudyPlan } from '../study/index.js';
import type { LabGraphModel } from './api.js';

/** The model as tfjs-web loads it, or why it has no GraphModel form (the page's trial then fails with it). */
export type LabTfjsModel = { ok: true; model: LabGraphModel; weights: Uint8Array } | { ok: false; reason: string };

export interface LabModel {
  spec: string;
  onnx: Uint8Array;
  /** The reference's output by `${batch}|${inputSeed}`; absent where the reference could not run it. */
  references: Map<string, Float32Array | undefined>;
  /** Built where the plan runs the model on tfjs-web. */
  tfjs?: LabTfjsModel;
}

export const referenceKey = (batch: number, inputSeed: number): string => `${batch}|${inputSeed}`;

export class LabModels {
  private readonly prepared = new Map<string, Promise<LabModel>>();
  /** One preparation at a time: two at once would share the server's CPU with each other for nothing. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly plan: StudyPlan) {}

  get(spec: string): Promise<LabModel> {
    let model = this.prepared.get(spec);
    if (!model) {
      model = this.queue.then(() => this.prepare(spec));
      this.queue = model.catch(() => undefined);
      // A failure is not cached: the page retries, and the error may have been passing (memory).
      model.catch(() => this.prepared.delete(spec));
      this.prepared.set(spec, model);
    }
    return model;
  }

  private prepare(spec: string): Promise<LabModel> {
    const runs = this.plan.trials.filter((t) => t.model.spec === spec);
    const inputs = [...new Map(runs.map((t) => [referenceKey(t.batch, t.inputSeed), t])).values()];
    return withPreparedModel(this.plan.resolved.get(spec) ?? spec, async (p) => {
      const references = new Map<string, Float32Array | undefined>();
      for (const t of inputs) references.set(referenceKey(t.batch, t.inputSeed), await referenceOutput(this.plan.reference, p.onnxPath, p.spec, t.batch, t.inputSeed));
      const onnx = new Uint8Array(readFileSync(p.onnxPath));
      return { spec: p.spec, onnx, references, ...(runs.some((t) => t.choice.engine === tfjsWebEngine) ? { tfjs: graphModelOf(p.graph) } : {}) };
    });
  }
}

/** The prepared graph (the very weights of the ONNX bytes) as a tfjs-converter GraphModel, built by formbench's own writer. */
function graphModelOf(graph: Graph): LabTfjsModel {
  try {
    const { artifacts, outputName, outputNhwc } = buildGraphModel(graph, tfjsWebEngine.name);
    const data = artifacts.weightData;
    const weights = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(Buffer.concat((data ?? []).map((b) => new Uint8Array(b))));
    return { ok: true, model: { modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs ?? [], outputName, outputNhwc }, weights };
  } catch (e) {
    return { ok: false, reason: (e as Error).message.split('\n')[0]! };
  }
}
