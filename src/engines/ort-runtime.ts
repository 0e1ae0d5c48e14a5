/**
 * Where formbench's onnxruntime sessions are made: onnxruntime-node's and, loaded only on first
 * use, onnxruntime-web's. Callers choose their session options and keep their reasons for them;
 * this module owns how a session is created, fed one float32 tensor, and profiled.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';

// onnxruntime-node 1.30 on Linux starts a telemetry client with its first session: it writes an
// empty /tmp/mat-debug-<pid>.log for every process (hundreds per test run) and uploads events where
// it finds a CA bundle. A benchmark should neither litter /tmp nor phone home; the variable is read
// when the first session creates onnxruntime's environment, and forked workers inherit it.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
// The environment's own logger (model loading, device discovery) reports warnings to stderr by
// default, between formbench's lines; sessions get the same level below unless a caller asks.
ort.env.logLevel = 'error';

/** Both packages' session options: onnxruntime-node and onnxruntime-web share onnxruntime-common's types. */
export type SessionOptions = ort.InferenceSession.SessionOptions;
export type OrtWeb = typeof import('onnxruntime-web');
export type OrtSession = ort.InferenceSession;

/** One float32 input tensor; without a name it feeds the session's input at its position. */
export interface Float32Input {
  name?: string;
  data: Float32Array;
  dims: number[];
}

/**
 * An onnxruntime-node session, logging errors only (severity 3) unless the options say otherwise,
 * so that onnxruntime's warnings do not interleave with formbench's own output.
 */
export function createSession(onnx: Uint8Array, options: SessionOptions = {}): Promise<OrtSession> {
  return ort.InferenceSession.create(onnx, { logSeverityLevel: 3, ...options });
}

/** An onnxruntime-node session exactly as its users make one: no session options at all, its own defaults. */
export function createDefaultSession(onnx: Uint8Array): Promise<OrtSession> {
  return ort.InferenceSession.create(onnx);
}

/** createDefaultSession's call as a user of onnxruntime writes it, for descriptions of what ran. */
export const DEFAULT_SESSION_CALL = 'ort.InferenceSession.create(model)';

/**
 * Options of the sessions that compute values rather than time anything (calibration ranges,
 * output error, activation statistics): every graph optimisation, every core.
 */
export function allOptimisationsAllCores(): SessionOptions {
  return { graphOptimizationLevel: 'all', intraOpNumThreads: os.availableParallelism() };
}

let ortWebLoaded: Promise<OrtWeb> | undefined;

/** onnxruntime-web, imported on first use only: its wasm runtime starts on import. */
export function loadOrtWeb(): Promise<OrtWeb> {
  return (ortWebLoaded ??= import('onnxruntime-web'));
}

/** An onnxruntime-web session (its `env`, e.g. wasm threads, is set by the caller beforehand: it is global). */
export async function createWebSession(onnx: Uint8Array, options: SessionOptions) {
  return (await loadOrtWeb()).InferenceSession.create(onnx, options);
}

function float32Feeds(session: OrtSession, inputs: Float32Input[]): Record<string, ort.Tensor> {
  return Object.fromEntries(inputs.map((x, i) => [x.name ?? session.inputNames[i]!, new ort.Tensor('float32', x.data, x.dims)]));
}

/**
 * One run on one float32 input; the data of `outputNames` (fetching only those), or of every
 * output the session returns when none are named.
 */
export async function runFloat32(session: OrtSession, input: Float32Input, outputNames?: string[]): Promise<Map<string, Float32Array>> {
  const feeds = float32Feeds(session, [input]);
  const results = outputNames ? await session.run(feeds, outputNames) : await session.run(feeds);
  return new Map((outputNames ?? Object.keys(results)).map((name) => [name, results[name]!.data as Float32Array]));
}

export interface ProfiledRuns {
  /** The profiler's Chrome-trace events, parsed: one `model_run` per run, the unrecorded first included. */
  trace: unknown[];
  /** Wall time of each recorded run around `session.run`, ms (the first, unrecorded run left out). */
  wallMs: number[];
}

/**
 * Runs a model `runs` times after one unrecorded run (it allocates and packs weights) in a session
 * with onnxruntime's profiler on, and returns the trace. The profiler is a session option, so this
 * is always a session of its own; its trace is written into a temporary directory when profiling
 * ends, read back, and the directory removed.
 */
export async function profiledRuns(onnx: Uint8Array, options: SessionOptions, inputs: Float32Input[], runs: number): Promise<ProfiledRuns> {
  const dir = mkdtempSync(join(tmpdir(), 'formbench-ort-profile-'));
  try {
    const session = await createSession(onnx, { ...options, enableProfiling: true, profileFilePrefix: join(dir, 'trace') });
    const wallMs: number[] = [];
    try {
      const feeds = float32Feeds(session, inputs);
      for (let i = 0; i <= runs; i++) {
        const t0 = performance.now();
        await session.run(feeds);
        if (i > 0) wallMs.push(performance.now() - t0);
      }
      session.endProfiling();
    } finally {
      await session.release();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('onnxruntime: the profiler wrote no trace file');
    const trace: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    if (!Array.isArray(trace)) throw new Error('onnxruntime trace: expected a JSON array of events');
    return { trace, wallMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
