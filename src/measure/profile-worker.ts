/**
 * The profile worker: a child process that loads one model into one engine, times unprofiled
 * runs with the protocol, then asks the engine for per-layer times, and reports both over IPC.
 * Both come from the same process and session, so the profiler's overhead shows as their gap.
 */
import type { ProfileRequest, ProfileWorkerResult } from './profile.js';
import { timeRuns } from './protocol.js';
import { loadWorkerSession, serveOneRequest } from './worker-session.js';

async function profile(r: ProfileRequest): Promise<ProfileWorkerResult> {
  const loaded = await loadWorkerSession(r);
  if (!loaded.ok) return { status: 'failed', reason: loaded.reason };
  const { session, input, dims, loadMs, engineVersion } = loaded;
  try {
    if (!session.profile) return { status: 'unsupported', reason: `engine ${loaded.engineName} has no per-layer profiler` };
    await session.run(input, dims);
    const engineClock = session.timedRun ? () => session.timedRun!(input, dims) : undefined;
    const unprofiled = await timeRuns(() => session.run(input, dims), r.budget, engineClock, session.clockMs);
    const engineProfile = await session.profile(input, dims, r.runs);
    return { status: 'ok', engineVersion, loadMs, unprofiled, engineProfile };
  } finally {
    await session.dispose();
  }
}

serveOneRequest(profile);
