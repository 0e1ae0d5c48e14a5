/**
 * What the lab page and the server say to each other: the plan the page runs, the device it
 * describes, and each result it posts. The posts are checked here by schema before anything is
 * stored; the page imports the types only.
 */
import { z } from 'zod';
import type { TimingBudget } from '../measure/protocol.js';

/** One trial as the page runs it; `modelIndex` names the model's bytes at /api/models/<index>. */
export interface LabTrial {
  key: string;
  modelIndex: number;
  model: string;
  pattern: string | null;
  depth: number | null;
  width: number | null;
  batch: number;
  engine: string;
  /** The page's runtime for it: ort-web or tfjs-web. */
  engineName: string;
  /** The seed paper's role: the chart draws the native framework dashed, as the report does. */
  engineRole: string;
  /** The engine's resolved options (backend, opt, threads). */
  options: Record<string, string>;
  inputSeed: number;
  /** The input's shape at this batch, NCHW. */
  inputDims: number[];
  budget: TimingBudget;
  estimatedSeconds: number;
}

/** A model as a tfjs-converter GraphModel (its weights apart, at /api/models/<index>/tfjs-weights). */
export interface LabGraphModel {
  modelTopology: unknown;
  weightSpecs: unknown[];
  /** The node whose output is the model's, and whether it is NHWC (then transposed back to NCHW). */
  outputName: string;
  outputNhwc: boolean;
}

export interface LabPlan {
  study: string;
  description: string;
  /** The engine whose outputs (computed by the server) every trial is checked against. */
  reference: string;
  models: string[];
  trials: LabTrial[];
}

/** The server's answer to a device: its fingerprint and the trials already stored for it. */
export interface DeviceAnswer {
  fingerprint: string;
  label: string;
  /** The plan's trials stored for this device that are not run again (ok or mismatch), with their medians for the chart. */
  stored: { key: string; status: 'ok' | 'mismatch'; medianMs: number | null; runs: number | null }[];
}

export interface ResultAnswer {
  status: 'ok' | 'failed' | 'mismatch';
  reason: string | null;
  medianMs: number | null;
}

const text = (max: number) => z.string().max(max);
const ms = z.number().finite().nonnegative().max(3_600_000);

/** What a page can tell about the device it runs on (navigator, User-Agent Client Hints, WebGPU). */
export const DeviceSchema = z
  .object({
    userAgent: text(512),
    /** navigator.userAgentData where the browser has it (Chromium): brands and high-entropy hints. */
    brands: z.array(z.object({ brand: text(64), version: text(64) }).strict()).max(16).optional(),
    platform: text(64).optional(),
    platformVersion: text(64).optional(),
    architecture: text(32).optional(),
    bitness: text(8).optional(),
    deviceModel: text(128).optional(),
    mobile: z.boolean().optional(),
    hardwareConcurrency: z.number().int().min(1).max(4096),
    /** navigator.deviceMemory, GiB (Chromium rounds it and caps it at 8); null where absent. */
    deviceMemoryGiB: z.number().positive().max(4096).nullable(),
    crossOriginIsolated: z.boolean(),
    /** The smallest step performance.now() was seen to take, ms. */
    timerResolutionMs: z.number().finite().positive().max(1000),
    /** onnxruntime-web's wasm threads on this page. */
    wasmThreads: z.number().int().min(1).max(4096),
    /** The WebGPU adapter's info, null where navigator.gpu gives none. */
    webgpu: z
      .object({ vendor: text(128), architecture: text(128), device: text(128), description: text(256), isFallbackAdapter: z.boolean() })
      .strict()
      .nullable(),
  })
  .strict();
export type DeviceInfo = z.infer<typeof DeviceSchema>;

const common = {
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/),
  trialKey: z.string().regex(/^[0-9a-f]{20}$/),
  engineVersion: text(64).optional(),
  startedAt: z.iso.datetime(),
  wallMs: ms,
};

/** A measured trial: every sample, the first run apart, and the outputs of the first run (JSON turns NaN into null). */
const MeasuredSchema = z
  .object({
    ...common,
    status: z.literal('ok'),
    loadMs: ms,
    firstRunMs: ms,
    warmupRuns: z.number().int().nonnegative().max(1_000_000),
    samplesMs: z.array(ms).min(1).max(100_000),
    stoppedBy: z.enum(['ci-target', 'budget', 'max-runs']),
    output: z.array(z.number().finite().nullable()).min(1).max(4_000_000),
  })
  .strict();

/** A trial the page could not run, with the reason (the engine's error's first line). */
const FailedSchema = z.object({ ...common, status: z.literal('failed'), reason: text(1000) }).strict();

export const ResultSchema = z.discriminatedUnion('status', [MeasuredSchema, FailedSchema]);
export type LabResult = z.infer<typeof ResultSchema>;

/** A post's body cap, bytes: a trial's samples and a batch-8 output of 1000 classes fit many times over. */
export const MAX_POST_BYTES = 4 * 2 ** 20;
