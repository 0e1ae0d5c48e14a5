/**
 * The lab's HTTP server (fastify): fixed routes only. It serves the page, its code and
 * onnxruntime-web from memory (assets.ts), the plan and each model's ONNX bytes, and takes the
 * device and every result the page posts: token first, then schema and size, then the store.
 * A post that fails any check is answered with its status and changes nothing.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ResultStore } from '../store/index.js';
import type { StudyPlan } from '../study/index.js';
import { DeviceSchema, MAX_POST_BYTES, ResultSchema, type DeviceAnswer, type ResultAnswer } from './api.js';
import type { Asset } from './assets.js';
import { deviceRecord } from './device.js';
import { labPlan } from './lab-study.js';
import { LabModels, referenceKey, type LabTfjsModel } from './models.js';
import { labTrialRow } from './results.js';

export const TOKEN_HEADER = 'x-formbench-token';

/** Trials stored with these statuses are not run again (as a CLI study resumes); failed ones are retried. */
const DONE_STATUSES = new Set(['ok', 'mismatch']);

/**
 * Every response: cross-origin isolation (COOP + COEP), so that the page may use wasm threads
 * (SharedArrayBuffer) and a fine-grained performance.now(); a policy that lets the page load and
 * fetch from this server only.
 */
const HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

export interface LabServer {
  app: FastifyInstance;
  /** Required with every post: printed once in the page's URL. */
  token: string;
}

export function newToken(): string {
  return randomBytes(16).toString('hex');
}

/** A certificate and its key, PEM: served over HTTPS, a page on a LAN address is a secure context (cross-origin isolated: wasm threads, the fine timer). */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export interface LabServerOptions {
  token: string;
  tls?: TlsFiles;
  onResult?: (row: { model: string; engine: string; status: string; medianMs: number | null }) => void;
}

export function labServer(plan: StudyPlan, store: ResultStore, assets: Map<string, Asset>, options: LabServerOptions): FastifyInstance {
  const { token, onResult } = options;
  // One instance type for both: the routes below are the same over HTTP and HTTPS.
  const app = (options.tls ? Fastify({ https: options.tls, bodyLimit: MAX_POST_BYTES, logger: false }) : Fastify({ bodyLimit: MAX_POST_BYTES, logger: false })) as unknown as FastifyInstance;
  const models = new LabModels(plan);
  const pagePlan = labPlan(plan);
  const trials = new Map(plan.trials.map((t) => [t.key, t]));
  /**
   * The store's writes one at a time: each is a transaction on the store's one connection, and two
   * pages (a phone and a laptop) may post at once.
   */
  let storeQueue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = storeQueue.then(work);
    storeQueue = next.catch(() => undefined);
    return next;
  };
  /** Fingerprints a page described in this run, with its clock's step: a result for any other is refused. */
  const devices = new Map<string, number>();

  app.addHook('onSend', async (_request, reply) => {
    for (const [k, v] of Object.entries(HEADERS)) reply.header(k, v);
  });

  for (const [route, asset] of assets) app.get(route, async (_request, reply) => reply.type(asset.contentType).send(asset.body));

  app.get('/api/plan', async () => pagePlan);

  app.get<{ Params: { index: string } }>('/api/models/:index', async (request, reply) => {
    const index = /^\d{1,6}$/.test(request.params.index) ? Number(request.params.index) : -1;
    const spec = pagePlan.models[index];
    if (spec === undefined) return reply.code(404).send({ error: `no model ${request.params.index}: the plan has models 0 to ${pagePlan.models.length - 1}` });
    const model = await models.get(spec);
    return reply.type('application/octet-stream').send(Buffer.from(model.onnx));
  });

  /** The model as a GraphModel for tfjs-web: its topology and weight specs here, its weights at …/tfjs-weights. */
  app.get<{ Params: { index: string } }>('/api/models/:index/tfjs', async (request, reply) => {
    const found = await tfjsModel(request.params.index);
    if ('error' in found) return reply.code(found.code).send({ error: found.error });
    return found.tfjs.model;
  });
  app.get<{ Params: { index: string } }>('/api/models/:index/tfjs-weights', async (request, reply) => {
    const found = await tfjsModel(request.params.index);
    if ('error' in found) return reply.code(found.code).send({ error: found.error });
    return reply.type('application/octet-stream').send(Buffer.from(found.tfjs.weights));
  });
  async function tfjsModel(param: string): Promise<{ tfjs: Extract<LabTfjsModel, { ok: true }> } | { code: number; error: string }> {
    const spec = pagePlan.models[/^\d{1,6}$/.test(param) ? Number(param) : -1];
    if (spec === undefined) return { code: 404, error: `no model ${param}: the plan has models 0 to ${pagePlan.models.length - 1}` };
    const tfjs = (await models.get(spec)).tfjs;
    if (!tfjs) return { code: 404, error: `${spec} runs on no tfjs-web trial of this plan` };
    // The page stores the trial as failed with this reason, as the CLI stores an engine that cannot run a model.
    if (!tfjs.ok) return { code: 422, error: tfjs.reason };
    return { tfjs };
  }

  app.post('/api/device', async (request, reply) => {
    if (!authorised(request, reply, token)) return reply;
    const parsed = DeviceSchema.safeParse(request.body);
    if (!parsed.success) return refuse(reply, parsed.error.issues);
    const record = deviceRecord(parsed.data);
    await serial(() => store.recordDevice(record));
    devices.set(record.fingerprint, parsed.data.timerResolutionMs);
    const stored = (await serial(() => store.trials())).filter((t) => t.fingerprint === record.fingerprint && trials.has(t.trialKey) && DONE_STATUSES.has(t.status));
    const answer: DeviceAnswer = { fingerprint: record.fingerprint, label: record.cpuModel, stored: stored.map((t) => ({ key: t.trialKey, status: t.status as 'ok' | 'mismatch', medianMs: t.medianMs, runs: t.runs })) };
    return answer;
  });

  app.post('/api/results', async (request, reply) => {
    if (!authorised(request, reply, token)) return reply;
    const parsed = ResultSchema.safeParse(request.body);
    if (!parsed.success) return refuse(reply, parsed.error.issues);
    const result = parsed.data;
    const trial = trials.get(result.trialKey);
    if (!trial) return reply.code(400).send({ error: `trial ${result.trialKey} is not in this study's plan` });
    if (!devices.has(result.fingerprint)) return reply.code(400).send({ error: `device ${result.fingerprint} has not been described to this server: post /api/device first` });
    const model = await models.get(trial.model.spec);
    const row = labTrialRow(plan, trial, result, model.references.get(referenceKey(trial.batch, trial.inputSeed)), devices.get(result.fingerprint)!);
    await serial(() => store.insertTrial(row));
    onResult?.({ model: row.model, engine: row.engine, status: row.status, medianMs: row.medianMs });
    const answer: ResultAnswer = { status: row.status, reason: row.reason, medianMs: row.medianMs };
    return answer;
  });

  return app;
}

/** 401 without the token, 403 with a wrong one; compared in constant time. */
function authorised(request: FastifyRequest, reply: FastifyReply, token: string): boolean {
  const given = request.headers[TOKEN_HEADER];
  if (typeof given !== 'string' || given === '') {
    void reply.code(401).send({ error: `posts need the token from the URL formbench serve printed (header ${TOKEN_HEADER})` });
    return false;
  }
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    void reply.code(403).send({ error: 'wrong token: open the URL formbench serve printed' });
    return false;
  }
  return true;
}

function refuse(reply: FastifyReply, issues: { path: PropertyKey[]; message: string }[]): FastifyReply {
  const first = issues[0];
  const where = first?.path.length ? first.path.map(String).join('.') : 'body';
  return reply.code(400).send({ error: `malformed post: ${where}: ${first?.message ?? 'invalid'}` });
}
