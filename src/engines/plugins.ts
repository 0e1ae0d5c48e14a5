import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Engines from outside the tree: each module named in FORMBENCH_ENGINE_MODULES (paths separated
 * by ':') calls `registerEngine` when it is imported. The CLI and every worker process load them
 * first, so that the parent that plans and the worker that measures know the same engines. The
 * tests add their fixture engines this way; see docs/ARCHITECTURE.md, "How to add an engine".
 */
export const ENGINE_MODULES_ENV = 'FORMBENCH_ENGINE_MODULES';

let loaded: Promise<void> | undefined;

export function loadEngineModules(): Promise<void> {
  loaded ??= (async () => {
    const paths = (process.env[ENGINE_MODULES_ENV] ?? '').split(':').filter((p) => p.trim() !== '');
    for (const path of paths) {
      try {
        await import(pathToFileURL(resolve(path)).href);
      } catch (e) {
        throw new UserError(`${ENGINE_MODULES_ENV} names ${path}, which did not load: ${(e as Error).message.split('\n')[0]}`, `give paths of ES modules that call registerEngine, separated by ':'`);
      }
    }
  })();
  return loaded;
}
