/**
 * LiteRT.js (@litertjs/core) in Node. The package is made for browsers: it loads its Emscripten
 * wasm loader as a classic script (importScripts in a worker, a <script> tag in a page), and
 * picks a build by the browser's wasm features. What it takes in Node 20, found by trying each
 * build (see the README's LiteRT section):
 *
 * - the loader script is run in this process's global scope (`importScripts`, with `require`,
 *   `__dirname` and `__filename` set for Emscripten's Node branch), read from the package's
 *   wasm/ folder in node_modules;
 * - the threaded and the plain builds use relaxed SIMD, which V8 in Node 20 has behind
 *   --experimental-wasm-relaxed-simd: the flag is set at run time, before any wasm compiles
 *   (without it only the slower "compat" build loads);
 * - the threaded build's pthreads are worker threads started on litert-pthread.js,
 *   which give Emscripten's loader the classic-script scope it expects;
 * - `navigator.hardwareConcurrency` (no navigator before Node 21) for the pthread pool's size;
 * - the JSPI build cannot run: Node 20's V8 has only the older stack-switching API
 *   (WebAssembly.Suspender), not WebAssembly.Suspending, which LiteRT.js checks for.
 *
 * Only a trial worker (one engine per process) loads it, since these globals stay for the
 * process's life.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

export type LiteRt = typeof import('@litertjs/core');

const require = createRequire(import.meta.url);

/** The threaded build: XNNPACK with a pthread pool, relaxed SIMD. */
export const LITERT_BUILD = 'litert_wasm_threaded_internal';

export function litertPackage(): { version: string; wasmDir: string } {
  const manifest = require.resolve('@litertjs/core/package.json');
  const version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  return { version, wasmDir: path.join(path.dirname(manifest), 'wasm') };
}

/** Why LiteRT.js cannot start here, or undefined when its files are in place. */
export function litertMissing(): string | undefined {
  let wasmDir: string;
  try {
    wasmDir = litertPackage().wasmDir;
  } catch {
    return "the package @litertjs/core is not installed (npm install)";
  }
  for (const ext of ['.js', '.wasm']) {
    const file = path.join(wasmDir, LITERT_BUILD + ext);
    if (!existsSync(file)) return `the package @litertjs/core lacks ${file}`;
  }
  if (!existsSync(PTHREAD_SCRIPT)) return `formbench's ${PTHREAD_SCRIPT} is missing (rebuild: npx tsc -p .)`;
  return undefined;
}

const PTHREAD_SCRIPT = fileURLToPath(new URL('./litert-pthread.js', import.meta.url));

let loaded: Promise<LiteRt> | undefined;

/**
 * LiteRT.js with its threaded wasm runtime started, once per process, with a pthread pool of
 * at least `threads` workers (the pool is made at start; a thread asked for later would be
 * started while the main thread waits on it).
 */
export function loadLiteRt(threads: number): Promise<LiteRt> {
  return (loaded ??= start(Math.max(threads, os.availableParallelism())));
}

async function start(poolSize: number): Promise<LiteRt> {
  const missing = litertMissing();
  if (missing) throw new Error(missing);
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  const { wasmDir } = litertPackage();
  const loader = path.join(wasmDir, LITERT_BUILD + '.js');
  const scope = globalThis as Record<string, unknown>;
  scope['self'] ??= globalThis;
  scope['require'] ??= require;
  scope['__dirname'] = wasmDir;
  scope['__filename'] = loader;
  scope['importScripts'] = (url: string) => vm.runInThisContext(readFileSync(url, 'utf8'), { filename: url });
  // Read by the loader as its Module object: where its pthreads start, and where its log goes
  // (its INFO lines on every start and compile would fill a trial worker's stderr).
  scope['Module'] = { mainScriptUrlOrBlob: PTHREAD_SCRIPT, print: dropInfo, printErr: dropInfo };
  // The loader sizes its pthread pool by navigator.hardwareConcurrency (Node 20 has no navigator).
  if (!scope['navigator']) scope['navigator'] = { userAgent: `Node.js ${process.version}` };
  Object.defineProperty(scope['navigator'], 'hardwareConcurrency', { value: poolSize, configurable: true });
  const litert = await import('@litertjs/core');
  await quietly(() => litert.loadLiteRt(loader, { threads: true }));
  return litert;
}

/** LiteRT's native log, less its INFO lines and the NPU it never finds in Node. */
function dropInfo(line: string): void {
  if (/^INFO: /.test(line) || /^I\d{4} /.test(line) || /NPU accelerator could not be loaded/.test(line)) return;
  process.stderr.write(`LiteRT: ${line}\n`);
}

/**
 * LiteRT.js logs its start (INFO lines, and a stack for the WebGPU device it tries to create
 * where there is no navigator.gpu) on the console; a trial worker's console is its parent's.
 */
async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  const drop = () => undefined;
  Object.assign(console, { log: drop, info: drop, warn: drop, error: drop });
  try {
    return await f();
  } finally {
    Object.assign(console, saved);
  }
}
