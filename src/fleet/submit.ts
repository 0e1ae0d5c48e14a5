/**
 * `formbench study … --fleet`: the plan submitted as data. Nothing is queued for a machine that
 * has not asked: each unit's first worker queues the study's trials for its unit (jobs.ts), so a
 * split study needs no list of classes, and an each study reaches machines that join later.
 */
import { loadAllowanceMs } from '../measure/index.js';
import type { StudyPlan } from '../study/index.js';
import { checkFleetStudy, studyDocument } from './document.js';
import { fidelityKey } from './jobs.js';
import type { FleetMode, FleetStore } from './store.js';

/** A failing trial is tried this many times more, by any worker of its unit, before it is stored as failed. */
export const DEFAULT_RETRY_LIMIT = 2;
/** pg-boss refuses an expiry of a day or more. */
const MAX_EXPIRY_S = 23 * 3600;

/**
 * How long a taken trial may go unanswered before the queue gives it to another worker: twice
 * the longest a trial of the plan may run (warm-up and the extended timed budget), plus the
 * worker's load allowance for each phase that has one (loading, first run, teardown), and the
 * counting limit where counters are taken. A live worker never reaches it; a dead one costs this.
 */
export function trialExpirySeconds(plan: StudyPlan): number {
  const allowanceS = loadAllowanceMs() / 1000;
  const longest = Math.max(
    ...plan.trials.map((t) => {
      const b = t.budget;
      return 2 * (b.warmupBudgetMs + (b.maxTimedBudgetMs ?? b.timedBudgetMs)) / 1000 + 3 * allowanceS + (t.counters ? t.counters.timeoutMs / 1000 : 0);
    }),
  );
  return Math.min(MAX_EXPIRY_S, Math.ceil(longest));
}

export async function submitStudy(store: FleetStore, plan: StudyPlan, o: { mode: FleetMode; retryLimit: number; expireSeconds: number }): Promise<number> {
  checkFleetStudy(plan.study, `study '${plan.study.name}'`);
  return store.submitStudy({
    name: plan.study.name,
    mode: o.mode,
    document: studyDocument(plan.study),
    trials: plan.trials.map((t) => ({ key: t.key, estimatedSeconds: t.estimatedSeconds })),
    fidelity: plan.fidelity.map((f) => ({ key: fidelityKey(f), estimatedSeconds: f.estimatedSeconds })),
    expireSeconds: Math.min(MAX_EXPIRY_S, Math.max(1, Math.round(o.expireSeconds))),
    retryLimit: o.retryLimit,
  });
}
