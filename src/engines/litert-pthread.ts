/**
 * The script each LiteRT.js pthread (a Node worker thread) starts on. Emscripten's threaded
 * loader would start its workers on its own file, which Node reads as an ES module (the package
 * says "type": "module") where a classic script with `require` is expected: this module sets up
 * what the loader's Node branch uses, then runs the loader in this thread's global scope, where
 * it sees from `workerData` that it is a pthread and starts as one.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const require = createRequire(import.meta.url);
const loader = require.resolve('@litertjs/core/wasm/litert_wasm_threaded_internal.js');
const scope = globalThis as Record<string, unknown>;
scope['require'] = require;
scope['__filename'] = loader;
scope['__dirname'] = path.dirname(loader);
vm.runInThisContext(readFileSync(loader, 'utf8'), { filename: loader });
