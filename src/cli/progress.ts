import cliProgress from 'cli-progress';
import type { StoredScenario } from '../store/index.js';
import type { StudyEvent } from '../study/index.js';

/** How a running study tells the user where it is: a bar on a terminal, lines in a log, or JSON events. */
export type ProgressMode = 'bar' | 'lines' | 'json';

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * The ETA scales the plan's remaining estimate by how the finished trials compared with theirs,
 * so a machine twice as slow as the guess shows twice the time after a few trials.
 */
class Eta {
  private estimatedDone = 0;
  private started = Date.now();
  seconds(remainingEstimated: number, doneEstimated: number): number {
    this.estimatedDone = doneEstimated;
    const elapsed = (Date.now() - this.started) / 1000;
    const factor = this.estimatedDone > 0 ? elapsed / this.estimatedDone : 1;
    return remainingEstimated * factor;
  }
}

export function progressReporter(mode: ProgressMode): (e: StudyEvent) => void {
  if (mode === 'json') return (e) => process.stdout.write(JSON.stringify(jsonEvent(e)) + '\n');
  const eta = new Eta();
  let totalEstimate = 0;
  let bar: cliProgress.SingleBar | undefined;
  return (e) => {
    switch (e.type) {
      case 'start':
        totalEstimate = e.estimatedSeconds;
        if (mode === 'bar' && e.toRun > 0) {
          bar = new cliProgress.SingleBar({ format: ' {bar} {value}/{total} trials | ETA {eta_text} | {current}', hideCursor: true, clearOnComplete: false, stream: process.stderr }, cliProgress.Presets.shades_classic);
          bar.start(e.toRun, 0, { eta_text: duration(e.estimatedSeconds), current: 'starting' });
        }
        break;
      case 'prepare':
        bar?.update({ current: `preparing ${e.model}` });
        break;
      case 'trial-start':
        bar?.update({ current: `${e.trial.model.spec} batch ${e.trial.batch} on ${e.trial.choice.label}` });
        break;
      case 'scenario-start':
        bar?.update({ current: `${e.run.scenario.name}: ${e.run.model.spec} batch ${e.run.batch} on ${e.run.choice.label}, ${e.run.sessions} session(s)` });
        break;
      case 'scenario-done': {
        const left = eta.seconds(e.remainingEstimatedSeconds, totalEstimate - e.remainingEstimatedSeconds);
        if (bar) bar.update(e.index, { eta_text: duration(left) });
        else process.stderr.write(`[${e.index}/${e.toRun}] ${e.run.scenario.name} ${e.run.model.spec} batch ${e.run.batch} ${e.run.choice.label} × ${e.run.sessions}: ${scenarioOutcome(e.row)} (ETA ${duration(left)})\n`);
        break;
      }
      case 'counters':
        if (bar) bar.update({ current: `${e.trial.model.spec} on ${e.trial.choice.label}: ${e.line}` });
        else process.stderr.write(`  counters: ${e.line}\n`);
        break;
      case 'fidelity': {
        const r = e.record;
        const what = r.status === 'ok' ? `${r.ratio!.toFixed(3)}× the idiomatic module's time` : `failed: ${r.reason}`;
        if (bar) bar.update({ current: `fidelity ${r.model} batch ${r.batch} ${r.engine}: ${what}` });
        else process.stderr.write(`  fidelity ${r.model} batch ${r.batch} ${r.engine}: ${what}\n`);
        break;
      }
      case 'trial-done': {
        const left = eta.seconds(e.remainingEstimatedSeconds, totalEstimate - e.remainingEstimatedSeconds);
        if (bar) bar.update(e.index, { eta_text: duration(left) });
        else process.stderr.write(`[${e.index}/${e.toRun}] ${e.trial.model.spec} batch ${e.trial.batch} ${e.trial.choice.label}: ${outcome(e.row)} (ETA ${duration(left)})\n`);
        break;
      }
      case 'done':
        bar?.stop();
        break;
    }
  };
}

function outcome(row: { status: string; medianMs: number | null; ciLowMs: number | null; ciHighMs: number | null; reason: string | null }): string {
  if (row.status === 'failed') return `failed: ${row.reason}`;
  const ci = row.ciLowMs !== null && row.ciHighMs !== null && row.medianMs ? ` ±${((50 * (row.ciHighMs - row.ciLowMs)) / row.medianMs).toFixed(1)}%` : '';
  return `${row.status} ${row.medianMs?.toFixed(3)} ms${ci}${row.reason ? ` (${row.reason})` : ''}`;
}

function scenarioOutcome(row: StoredScenario): string {
  if (row.status === 'failed') return `failed: ${row.reason}`;
  const figure =
    row.scenario === 'server'
      ? row.peakRatePerS !== null
        ? `peak ${row.peakRatePerS.toFixed(1)} queries/s at p99 ≤ ${row.p99BoundMs} ms`
        : row.p99Ms !== null
          ? `p99 ${row.p99Ms.toFixed(3)} ms at ${row.targetRatePerS?.toFixed(1)} queries/s`
          : 'no supported p99'
      : `${row.imagesPerS?.toFixed(1)} images/s`;
  return `${row.status} ${figure}${row.reason ? ` (${row.reason})` : ''}`;
}

/** Events without the engine objects: what a script reading the stream needs. */
function jsonEvent(e: StudyEvent): object {
  if (e.type === 'counters') return { type: e.type, model: e.trial.model.spec, batch: e.trial.batch, engine: e.trial.choice.label, line: e.line };
  if (e.type === 'fidelity') {
    const { engineSamplesMs: _e, idiomaticSamplesMs: _i, ...record } = e.record;
    return { type: e.type, record };
  }
  if (e.type === 'scenario-start') return { type: e.type, index: e.index, toRun: e.toRun, scenario: e.run.scenario.name, model: e.run.model.spec, batch: e.run.batch, engine: e.run.choice.label, sessions: e.run.sessions };
  if (e.type === 'scenario-done') return { type: e.type, index: e.index, toRun: e.toRun, row: e.row, remainingEstimatedSeconds: e.remainingEstimatedSeconds };
  if (e.type === 'trial-start') return { type: e.type, index: e.index, toRun: e.toRun, model: e.trial.model.spec, batch: e.trial.batch, engine: e.trial.choice.label };
  if (e.type === 'trial-done') {
    const { samplesMs: _samples, ...row } = e.row;
    return { type: e.type, index: e.index, toRun: e.toRun, row, remainingEstimatedSeconds: e.remainingEstimatedSeconds };
  }
  return e;
}
