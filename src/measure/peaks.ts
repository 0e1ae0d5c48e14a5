/**
 * The roofline needs this machine's peak compute and bandwidth: measured once per machine
 * (a few seconds, before any trial, so nothing else runs meanwhile) and kept with its
 * environment in the results store.
 */
import type { Environment } from './environment.js';
import { measureMachinePeaks, type MachinePeaks } from './roofline.js';

/** The peaks as a store keeps them: what the roofline needs, without the per-size MatMul rates. */
export type KeptPeaks = Pick<MachinePeaks, 'peakGflops' | 'bandwidthGBs' | 'method' | 'caches'>;

/** Where the peaks are kept per machine; the results store is one (measure/ does not import store/). */
export interface PeaksKeeper {
  recordEnvironment(env: Environment): Promise<void>;
  peaks(fingerprint: string): Promise<KeptPeaks | undefined>;
  recordPeaks(fingerprint: string, peaks: KeptPeaks): Promise<void>;
}

/**
 * Records the environment and, unless its peaks are kept already, measures and keeps them.
 * `onMeasuring` is called just before a measurement starts; the result says whether one ran.
 */
export async function ensureMachinePeaks(keeper: PeaksKeeper, env: Environment, onMeasuring?: () => void): Promise<{ peaks: KeptPeaks; measured: boolean }> {
  await keeper.recordEnvironment(env);
  const kept = await keeper.peaks(env.fingerprint);
  if (kept) return { peaks: kept, measured: false };
  onMeasuring?.();
  const measured = await measureMachinePeaks();
  const peaks: KeptPeaks = { peakGflops: measured.peakGflops, bandwidthGBs: measured.bandwidthGBs, method: measured.method, ...(measured.caches ? { caches: measured.caches } : {}) };
  await keeper.recordPeaks(env.fingerprint, peaks);
  return { peaks, measured: true };
}
