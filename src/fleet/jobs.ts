/**
 * Trials as pg-boss jobs. A job names a trial and nothing else: the study (name and submission)
 * and the trial's key; the worker finds the trial in its own plan of the study's document. Job
 * ids are derived from (study, submission, unit, trial), so queueing a unit's trials twice (two
 * workers of a class starting together) inserts each job once.
 */
import { createHash } from 'node:crypto';
import type PgBoss from 'pg-boss';
import { z } from 'zod';
import { queueOf } from './machine.js';
import type { FleetStore, FleetStudy } from './store.js';

export const trialJobSchema = z.strictObject({
  study: z.string().min(1).max(200).regex(/^[\w.-]+$/),
  generation: z.number().int().positive(),
  trialKey: z.string().regex(/^[0-9a-f]{20}$/),
  /** A fidelity check of the plan (its key from fidelityKey) instead of a trial. */
  kind: z.literal('fidelity').optional(),
});
export type TrialJob = z.infer<typeof trialJobSchema>;

/** A fidelity check's key, in the trial keys' form: a check is one per model, batch and engine on a machine. */
export function fidelityKey(check: { spec: string; batch: number; choice: { label: string } }): string {
  return createHash('sha256').update(JSON.stringify(['fidelity', check.spec, check.batch, check.choice.label])).digest('hex').slice(0, 20);
}

/** A UUID from a hash: pg-boss keys jobs by UUID. */
export function jobId(study: string, generation: number, unit: string, trialKey: string): string {
  const h = createHash('sha256').update(JSON.stringify([study, generation, unit, trialKey])).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Queues a study's trials for one unit (a class, or one machine) unless that was done: every
 * trial not already stored ok or mismatched for the unit, and every fidelity check not stored ok. The mark is written last, so a worker
 * that dies halfway leaves it for the next one, which inserts the rest.
 */
export async function enqueueForUnit(boss: PgBoss, store: FleetStore, study: FleetStudy, unit: string): Promise<string> {
  const queue = queueOf(study.mode, unit);
  if (await store.isEnqueued(study.name, study.generation, unit)) return queue;
  await store.exclusive(() => boss.createQueue(queue, { name: queue, retryLimit: study.retryLimit, expireInSeconds: study.expireSeconds }));
  const stored = await store.storedTrials(unit);
  const jobs = study.trials
    .filter((t) => stored.get(t.key) !== 'ok' && stored.get(t.key) !== 'mismatch')
    .map((t) => ({
      id: jobId(study.name, study.generation, unit, t.key),
      name: queue,
      data: { study: study.name, generation: study.generation, trialKey: t.key } as TrialJob,
      retryLimit: study.retryLimit,
      expireInSeconds: study.expireSeconds,
    }));
  const checked = new Set((await store.fidelity(unit)).filter((f) => f.status === 'ok').map((f) => fidelityKey({ spec: f.model, batch: f.batch, choice: { label: f.engine } })));
  for (const f of study.fidelity.filter((c) => !checked.has(c.key))) {
    jobs.push({
      id: jobId(study.name, study.generation, unit, f.key),
      name: queue,
      data: { study: study.name, generation: study.generation, trialKey: f.key, kind: 'fidelity' } satisfies TrialJob,
      retryLimit: study.retryLimit,
      expireInSeconds: study.expireSeconds,
    });
  }
  // pg-boss inserts a list as one statement; a few thousand ids per statement keeps it small.
  for (let i = 0; i < jobs.length; i += 1000) await boss.insert(jobs.slice(i, i + 1000));
  await store.markEnqueued(study.name, study.generation, unit, queue);
  return queue;
}
