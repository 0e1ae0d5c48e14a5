/**
 * The fidelity worker: a child process that loads one model into one engine, asks the session for
 * the framework's idiomatic execution of the same network (same weights, same process), checks
 * that both compute the same outputs, then times the two interleaved.
 */
import { engineByName, numericsOf } from '../engines/index.js';
import { compareOutputs } from './compare.js';
import { pairedRatios, type FidelityProgress, type FidelityRequest, type FidelityResult } from './fidelity.js';
import { ciRelative, timedArm, timeInterleaved } from './protocol.js';
import { loadWorkerSession, serveOneRequest } from './worker-session.js';

async function check(r: FidelityRequest): Promise<FidelityResult> {
  const loaded = await loadWorkerSession(r);
  if (!loaded.ok) return { status: 'failed', reason: loaded.reason };
  const { session, input, dims, engineVersion } = loaded;
  try {
    if (!session.idiomatic) return { status: 'failed', reason: `${loaded.engineName} has no idiomatic execution to compare with`, engineVersion };
    const idiomatic = await session.idiomatic();
    try {
      const engineOut = await session.run(input, dims);
      const idiomaticOut = await idiomatic.run(input, dims);
      const outputs = compareOutputs(idiomaticOut, engineOut, dims[0]!, numericsOf(engineByName(r.engine), r.options).tolerance);
      if (!outputs.matches) {
        return { status: 'failed', reason: `the idiomatic module's outputs differ from the engine's (relative error ${outputs.relativeError.toExponential(2)}): they do not run the same network`, engineVersion, idiomatic: idiomatic.description };
      }
      const arms = [
        timedArm(() => session.run(input, dims), session.timedRun ? () => session.timedRun!(input, dims) : undefined),
        timedArm(() => idiomatic.run(input, dims), idiomatic.timedRun ? () => idiomatic.timedRun!(input, dims) : undefined),
      ];
      // Precise enough once the paired ratio's interval is within the target (see pairedRatio).
      const precise = (s: number[][]) => ciRelative(pairedRatios(s[0]!, s[1]!)) <= r.budget.targetCiRelative;
      const progress: FidelityProgress = { progress: 'first-run', firstRunMs: 0 };
      const timing = await timeInterleaved(arms, r.budget, precise, (firstRunMs) => process.send!({ ...progress, firstRunMs }));
      return { status: 'ok', engineVersion, idiomatic: idiomatic.description, engineSamplesMs: timing.samplesMs[0]!, idiomaticSamplesMs: timing.samplesMs[1]!, outputRelativeError: outputs.relativeError, stoppedBy: timing.stoppedBy };
    } finally {
      await idiomatic.dispose();
    }
  } finally {
    await session.dispose();
  }
}

serveOneRequest(check);
