/** `formbench study <study> --fleet URL`: plans the study here and submits it for the fleet's workers. */
import { UserError } from '../errors.js';
import { DEFAULT_RETRY_LIMIT, FleetStore, parseFleetUrl, submitStudy, trialExpirySeconds, type FleetMode } from '../fleet/index.js';
import { loadStudy, planStudy } from '../study/index.js';
import { FLEET_MODES } from './fleet-options.js';
import { duration } from './progress.js';

export interface FleetStudyOptions {
  fleet: string;
  mode?: string;
  retries?: number;
  trialExpiryS?: number;
  dryRun?: boolean;
  json?: boolean;
}



export async function fleetStudyCommand(nameOrPath: string, o: FleetStudyOptions): Promise<void> {
  const url = parseFleetUrl(o.fleet);
  const mode = (o.mode ?? 'split') as FleetMode;
  if (!(FLEET_MODES as readonly string[]).includes(mode)) throw new UserError(`unknown --mode '${mode}'`, 'split: the machines of a class share the trials; each: every machine runs them all');
  const { study, notes } = await loadStudy(nameOrPath);
  const plan = planStudy(study);
  const expireSeconds = o.trialExpiryS ?? trialExpirySeconds(plan);
  const retryLimit = o.retries ?? DEFAULT_RETRY_LIMIT;
  const estimatedSeconds = [...plan.trials, ...plan.fidelity].reduce((s, t) => s + t.estimatedSeconds, 0);
  const summary = {
    study: study.name,
    fleet: url.shown,
    mode,
    trials: plan.trials.length,
    estimatedSeconds: Math.round(estimatedSeconds),
    trialExpirySeconds: expireSeconds,
    retryLimit,
    fidelityChecks: plan.fidelity.length,
    notes,
  };
  const store = o.dryRun ? undefined : await FleetStore.open(url);
  try {
    const generation = store ? await submitStudy(store, plan, { mode, retryLimit, expireSeconds }) : undefined;
    if (o.json) {
      process.stdout.write(JSON.stringify({ type: 'fleet-plan', ...summary, ...(generation ? { submission: generation } : {}) }) + '\n');
      return;
    }
    const per = mode === 'split' ? 'shared among the machines of each class' : 'run by every machine';
    const lines = [
      `study ${study.name}: ${plan.trials.length} trials${plan.fidelity.length ? ` and ${plan.fidelity.length} fidelity checks` : ''}, ${per}; about ${duration(estimatedSeconds)} on one machine`,
      ...summary.notes.map((n) => `  note: ${n}`),
      `  a trial whose worker is silent for ${duration(expireSeconds)} goes to another worker; a failing trial is tried ${retryLimit + 1} times`,
      generation ? `  submitted to ${url.shown} (submission ${generation}); start 'formbench worker --fleet <url>' on each machine, and see 'formbench fleet status'` : '  dry run: nothing submitted',
    ];
    process.stderr.write(lines.join('\n') + '\n');
  } finally {
    await store?.close();
  }
}
