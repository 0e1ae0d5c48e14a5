/**
 * `formbench worker`: takes one trial at a time from the queues of this machine's units (its
 * class for split studies, itself for each studies), measures it with the study's own trial
 * pipeline (study/run.ts runStudy, the same worker processes and store sink as a local study), and
 * commits the row to PostgreSQL; the study's fidelity checks are jobs of their own, run the same way. Never two trials at once: they would disturb each other's timing.
 *
 * Faults: a worker killed mid-trial holds its job until the job's expiry, when the queue hands it
 * to another worker of the unit; a trial that fails is retried up to the study's retry limit, each
 * attempt's reason kept, and the last failure is stored as a failed row with all of them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type PgBoss from 'pg-boss';
import { ensureMachinePeaks, type Environment } from '../measure/index.js';
import type { StoredTrial } from '../store/index.js';
import { describeAdapter } from '../engines/index.js';
import { ALLOW_SOFTWARE_GPU_FLAG, parseStudy, planStudy, runStudy, softwareGpuUses, type StudyEvent, type StudyPlan, type StudyStore } from '../study/index.js';
import { connectionError, isConnectionLoss, openQueue, type FleetUrl } from './connection.js';
import { checkFleetStudy } from './document.js';
import { enqueueForUnit, fidelityKey, trialJobSchema, type TrialJob } from './jobs.js';
import { thisMachine, unitOf } from './machine.js';
import { FleetStore, type FleetMachine, type FleetStudy } from './store.js';

export interface WorkerOptions {
  url: FleetUrl;
  name?: string;
  className?: string;
  /** Stop once no trial is queued, running or waiting for a retry on this machine's units. */
  exitWhenIdle?: boolean;
  /** Run GPU engines on a software adapter too (SwiftShader): their trials are labelled software GPU. */
  allowSoftwareGpu?: boolean;
  /** Leave out the roofline peaks' measurement (a few seconds per class or machine, before its first trial). */
  noPeaks?: boolean;
  /** How often an idle worker looks for work, ms. */
  pollMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** How often pg-boss hands back expired jobs (one instance per interval across the fleet does it). */
export const SUPERVISE_INTERVAL_S = 2;
const HEARTBEAT_MS = 10_000;

type JobOf = PgBoss.JobWithMetadata<unknown>;

export async function runWorker(o: WorkerOptions): Promise<{ trials: number }> {
  const log = o.log ?? (() => {});
  // The database first: a bad URL is one error in a second, before the engines are probed.
  const store = await FleetStore.open(o.url);
  const machine = await thisMachine({ ...(o.name ? { name: o.name } : {}), ...(o.className ? { className: o.className } : {}) }).catch(async (e) => {
    await store.close();
    throw e;
  });
  let boss: PgBoss | undefined;
  let doing: string | null = null;
  const heartbeat = setInterval(() => void store.heartbeat(machine.name, doing).catch(() => {}), HEARTBEAT_MS);
  let trials = 0;
  try {
    boss = await store.exclusive(() => openQueue(o.url, { supervise: true, maintenanceIntervalSeconds: SUPERVISE_INTERVAL_S }));
    await store.recordMachine(machine);
    log(`worker ${machine.name}: class ${machine.classFingerprint} (${machine.className}), machine ${machine.eachFingerprint}`);
    const plans = new Map<string, StudyPlan | Error>();
    while (!o.signal?.aborted) {
      const studies = await store.studies();
      const queues: string[] = [];
      for (const s of studies) queues.push(await enqueueForUnit(boss, store, s, unitOf(s.mode, machine)));
      const job = await fetchOne(boss, [...new Set(queues)]);
      if (!job) {
        if (o.exitWhenIdle && !(await anyUnfinished(boss, queues))) break;
        await sleep(o.pollMs ?? 2000, undefined, o.signal ? { signal: o.signal } : {}).catch(() => {});
        continue;
      }
      doing = `trial ${(job.data as Partial<TrialJob>)?.trialKey ?? job.id}`;
      await store.heartbeat(machine.name, doing);
      if (await handleJob(boss, store, machine, job, studies, plans, log, o.signal, o)) trials++;
      doing = null;
      await store.heartbeat(machine.name, null);
    }
    await store.heartbeat(machine.name, 'left');
  } catch (e) {
    // The trial in flight, if any, goes back to the queue when its job expires.
    if (isConnectionLoss(e)) throw connectionError(o.url, e);
    throw e;
  } finally {
    clearInterval(heartbeat);
    await boss?.stop({ graceful: false, wait: true }).catch(() => {});
    await store.close();
  }
  return { trials };
}

async function fetchOne(boss: PgBoss, queues: string[]): Promise<JobOf | undefined> {
  for (const queue of queues) {
    const [job] = await boss.fetch<unknown>(queue, { batchSize: 1, includeMetadata: true });
    if (job) return job;
  }
  return undefined;
}

/** Queued, running or waiting for a retry: running ones may yet expire and come back. */
async function anyUnfinished(boss: PgBoss, queues: string[]): Promise<boolean> {
  for (const queue of queues) if ((await boss.getQueueSize(queue, { before: 'completed' })) > 0) return true;
  return false;
}

/** Runs one job to its end in the queue: completed, failed (retried while attempts are left) or refused. Answers whether a row was stored. */
async function handleJob(boss: PgBoss, store: FleetStore, machine: FleetMachine, job: JobOf, studies: FleetStudy[], plans: Map<string, StudyPlan | Error>, log: (line: string) => void, signal: AbortSignal | undefined, o: Pick<WorkerOptions, 'allowSoftwareGpu' | 'noPeaks'>): Promise<boolean> {
  const refuse = async (reason: string) => {
    log(`refused job ${job.id}: ${reason}`);
    await store.recordRefusal({ jobId: job.id, queue: job.name, worker: machine.name, reason, payload: job.data });
    // Cancelled, not failed: a malformed job is the same on every retry.
    await boss.cancel(job.name, job.id);
    return false;
  };
  const parsed = trialJobSchema.safeParse(job.data);
  if (!parsed.success) return refuse(`malformed job payload: ${parsed.error.issues[0]?.path.join('.') || 'payload'}: ${parsed.error.issues[0]?.message}`);
  const { study: name, generation, trialKey, kind = 'trial' } = parsed.data;
  const study = studies.find((s) => s.name === name && s.generation === generation) ?? (await store.study(name, generation));
  if (!study) {
    const current = studies.find((s) => s.name === name);
    return refuse(current ? `submission ${generation} of study '${name}' was replaced by submission ${current.generation}, which queues what is not stored` : `no submission ${generation} of study '${name}' in the fleet`);
  }
  const plan = planOf(study, plans);
  if (plan instanceof Error) return refuse(plan.message);
  const trial = kind === 'trial' ? plan.trials.find((t) => t.key === trialKey) : undefined;
  const check = kind === 'fidelity' ? plan.fidelity.find((f) => fidelityKey(f) === trialKey) : undefined;
  if (!trial && !check) return refuse(`${kind === 'trial' ? 'trial' : 'fidelity check'} ${trialKey} is not in this worker's plan of '${name}' (is its formbench the version that submitted the study?)`);
  const unit = unitOf(study.mode, machine);
  if (job.name !== `formbench-${study.mode}-${unit}`) return refuse(`job from queue ${job.name} is for another unit than this machine's (${unit})`);

  // As a local study refuses it: a software adapter's times are the CPU's, never GPU acceleration.
  const software = await softwareGpuUses([(trial ?? check)!.choice]);
  if (software.length && !o.allowSoftwareGpu) {
    const reason = `${software[0]!.engine} has only a software GPU on ${machine.name}, ${describeAdapter(software[0]!.adapter)}; start the worker with ${ALLOW_SOFTWARE_GPU_FLAG} to run it anyway`;
    await store.recordAttempt({ study: name, generation, unit, trialKey, worker: machine.name, jobId: job.id, attempt: job.retryCount + 1, reason });
    await boss.fail(job.name, job.id, { reason });
    log(`${kind} ${trialKey}: ${reason}`);
    return false;
  }
  const env: Environment = { ...machine.env, fingerprint: unit };
  const keeper = { recordEnvironment: (e: Environment) => store.recordEnvironment(e, study.mode, study.mode === 'split' ? machine.className : machine.name), peaks: (fp: string) => store.peaks(fp), recordPeaks: store.recordPeaks.bind(store) };
  // The roofline's peaks, once per unit, as a local study measures them once per machine.
  if (o.noPeaks) await keeper.recordEnvironment(env);
  // Under a lock per unit: two workers of a class starting together would measure at once, each disturbing the other's figures.
  else if ((await store.forUnit(unit, () => ensureMachinePeaks(keeper, env, () => log(`${machine.name}: measuring the peak FP32 GFLOP/s and memory bandwidth of ${unit} for the roofline`)))).measured) log(`${machine.name}: peaks of ${unit} stored`);
  const attempt = job.retryCount + 1;
  const last = job.retryCount >= job.retryLimit;
  let retryReason: string | undefined;
  let stored = false;
  const sink: StudyStore = {
    recordEnvironment: async () => {},
    storedTrials: (fingerprint) => store.storedTrials(fingerprint),
    storedScenarios: async () => new Map(),
    fidelity: (fingerprint) => store.fidelity(fingerprint),
    insertFidelity: async (fingerprint, studyName, record) => {
      await store.insertFidelity(fingerprint, studyName, record, machine.name);
      stored = true;
    },
    insertScenario: async () => {},
    insertTrial: async (row: StoredTrial) => {
      if (row.status === 'failed') {
        await store.recordAttempt({ study: name, generation, unit, trialKey, worker: machine.name, jobId: job.id, attempt, reason: row.reason ?? 'failed' });
        if (!last) {
          retryReason = row.reason ?? 'failed';
          return;
        }
        const reasons = await store.attempts(unit, trialKey);
        row = { ...row, reason: `failed ${reasons.length} attempt${reasons.length > 1 ? 's' : ''}: ${reasons.map((r) => `${r.worker} #${r.attempt}: ${r.reason}`).join(' | ')}` };
      }
      stored = await store.insertTrial(row, machine.name, machine.fingerprint);
      if (!stored) log(`trial ${trialKey} was already stored for ${unit} (another worker measured it after this job expired); this measurement is dropped`);
    },
  };
  const one: StudyPlan = { ...plan, trials: trial ? [trial] : [], scenarios: [], fidelity: check ? [check] : [] };
  try {
    await runStudy(one, sink, env, { ...(signal ? { signal } : {}), onEvent: (e) => logEvent(e, machine.name, log) });
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0]!;
    await store.recordAttempt({ study: name, generation, unit, trialKey, worker: machine.name, jobId: job.id, attempt, reason }).catch(() => {});
    await boss.fail(job.name, job.id, { reason });
    log(`trial ${trialKey} failed on attempt ${attempt}: ${reason}`);
    return false;
  }
  if (signal?.aborted) {
    await boss.fail(job.name, job.id, { reason: `worker ${machine.name} stopped` });
    return false;
  }
  if (retryReason !== undefined) {
    await boss.fail(job.name, job.id, { reason: retryReason });
    log(`trial ${trialKey} failed on attempt ${attempt} of ${job.retryLimit + 1}: ${retryReason}`);
    return false;
  }
  await boss.complete(job.name, job.id, { stored });
  return stored;
}

/** The worker's plan of a submission, made once: the document validated as a study file is, then planned. */
function planOf(study: FleetStudy, plans: Map<string, StudyPlan | Error>): StudyPlan | Error {
  const key = `${study.name}#${study.generation}`;
  if (!plans.has(key)) {
    try {
      const parsed = parseStudy(study.document, `fleet study '${study.name}'`);
      checkFleetStudy(parsed, `fleet study '${study.name}'`);
      plans.set(key, planStudy(parsed));
    } catch (e) {
      plans.set(key, e as Error);
    }
  }
  return plans.get(key)!;
}

function logEvent(e: StudyEvent, worker: string, log: (line: string) => void): void {
  if (e.type === 'trial-start') log(`${worker}: trial ${e.trial.key} ${e.trial.model.spec} batch ${e.trial.batch} on ${e.trial.choice.label}`);
  if (e.type === 'fidelity') log(`${worker}: fidelity of ${e.record.engine} on ${e.record.model} batch ${e.record.batch}: ${e.record.status}${e.record.ratio !== undefined ? ` ${e.record.ratio.toFixed(3)}× its idiomatic execution` : ''}${e.record.reason ? ` (${e.record.reason})` : ''}`);
  if (e.type === 'trial-done') log(`${worker}: trial ${e.trial.key} ${e.row.status}${e.row.medianMs !== null ? ` median ${e.row.medianMs.toFixed(3)} ms` : ''}${e.row.reason ? ` (${e.row.reason})` : ''}`);
}
