/**
 * Where a scenario's threads come from: each session's intra-op threads (the engine's `threads`
 * option, where it has one) times the concurrent sessions, against the cores this machine has.
 * On a small machine concurrent sessions fight for cores: more threads than cores is flagged.
 */
import os from 'node:os';
import type { EngineChoice } from '../../engines/index.js';

export interface ThreadSplit {
  /** Intra-op threads per session; undefined where the engine takes no thread count. */
  intraOpThreads?: number;
  sessions: number;
  /** intraOpThreads × sessions, where known. */
  totalThreads?: number;
  cores: number;
  oversubscribed: boolean;
  /** 'ort:threads=2 × 2 sessions = 4 threads on 2 cores'. */
  label: string;
}

export function threadSplit(choice: EngineChoice, sessions: number, cores = os.availableParallelism()): ThreadSplit {
  const raw = 'threads' in choice.engine.options ? Number(choice.options['threads']) : undefined;
  const intraOpThreads = raw !== undefined && Number.isInteger(raw) && raw > 0 ? raw : undefined;
  const totalThreads = intraOpThreads === undefined ? undefined : intraOpThreads * sessions;
  const per = intraOpThreads === undefined ? `${choice.label} (threads not set)` : `${choice.engine.name}:threads=${intraOpThreads}`;
  const label = `${per} × ${sessions} session${sessions === 1 ? '' : 's'}${totalThreads === undefined ? '' : ` = ${totalThreads} thread${totalThreads === 1 ? '' : 's'}`} on ${cores} core${cores === 1 ? '' : 's'}`;
  return { ...(intraOpThreads !== undefined ? { intraOpThreads, totalThreads: totalThreads! } : {}), sessions, cores, oversubscribed: totalThreads !== undefined && totalThreads > cores, label };
}
