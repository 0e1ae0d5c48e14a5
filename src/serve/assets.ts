/**
 * Everything the server sends that is not an API answer, built once at start into a map from a
 * fixed route to bytes: the page, its code (src/browser/, bundled here by esbuild from the
 * compiled files beside this one) and onnxruntime-web's WebAssembly build. No part of a request
 * names a file: a route is a key into this map or it is not found.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { LAB_PAGE_HTML } from './page.js';

export interface Asset {
  contentType: string;
  body: Buffer;
}

/** Where the page loads onnxruntime-web from; the bundle leaves these imports to the browser. */
export const ORT_ROUTE = '/ort/';
/** The wasm-only build: the page's backend is WebAssembly (ort.wasm.min.mjs loads the SIMD-threaded runtime). */
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

/** Where the page's TF.js wasm backend finds its binaries (setWasmPaths). */
export const TFJS_ROUTE = '/tfjs/';
const TFJS_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];

const JS = 'text/javascript; charset=utf-8';

export async function labAssets(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>([['/', { contentType: 'text/html; charset=utf-8', body: Buffer.from(LAB_PAGE_HTML) }]]);
  assets.set('/lab.js', { contentType: JS, body: await bundlePage() });
  // The package exports its wasm files (not its package.json): their folder is dist/.
  const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
  for (const file of ORT_FILES) assets.set(`${ORT_ROUTE}${file}`, { contentType: file.endsWith('.wasm') ? 'application/wasm' : JS, body: readFileSync(join(ortDist, file)) });
  // TF.js's wasm backend picks its build by what the browser has; the page turns its threads off (engines/tfjs-web.ts).
  const tfjsDist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  for (const file of TFJS_FILES) assets.set(`${TFJS_ROUTE}${file}`, { contentType: 'application/wasm', body: readFileSync(join(tfjsDist, file)) });
  return assets;
}

/** The page's code with what it imports (formbench's protocol and seeded input, TF.js) in one ES module. */
async function bundlePage(): Promise<Buffer> {
  const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'browser', 'lab.js');
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, write: false, external: [`${ORT_ROUTE}*`], logLevel: 'silent' });
  return Buffer.from(result.outputFiles[0]!.contents);
}
