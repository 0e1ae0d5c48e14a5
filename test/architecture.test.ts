/**
 * The structural rules of docs/ARCHITECTURE.md, checked on the source: no import cycles (type
 * imports included), one module that creates onnxruntime sessions, and an engine contract that
 * depends on no engine.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC);
const text = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
const rel = (f: string): string => relative(SRC, f);

/** Relative imports and re-exports of a file, resolved to source paths. */
function importsOf(file: string): string[] {
  const found: string[] = [];
  for (const m of text.get(file)!.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) found.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  return found.filter((f) => text.has(f));
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    order.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of importsOf(v)) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(rel(w));
      } while (w !== v);
      if (component.length > 1) found.push(component);
    }
  };
  for (const f of files) if (!order.has(f)) visit(f);
  return found;
}

describe('architecture', () => {
  it('has no import cycles, type imports included', () => {
    assert.deepEqual(cycles(), []);
  });

  it('creates onnxruntime sessions in one module per runtime: Node\'s, and the lab page\'s', () => {
    const creating = files.filter((f) => text.get(f)!.includes('InferenceSession.create')).map(rel);
    assert.deepEqual(creating, ['browser/ort-web.ts', 'engines/ort-runtime.ts']);
  });

  it('keeps the lab page\'s code (src/browser/) and what it imports free of Node and of packages but TF.js: it is bundled for a browser', () => {
    const reached = new Set<string>();
    const visit = (f: string): void => {
      if (reached.has(f)) return;
      reached.add(f);
      // Type-only imports are erased before bundling; only value imports reach the browser.
      for (const m of text.get(f)!.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'(\.[^']+)'/gms)) visit(resolve(dirname(f), m[1]!.replace(/\.js$/, '.ts')));
    };
    for (const f of files.filter((f) => rel(f).startsWith('browser/'))) visit(f);
    // TF.js is bundled into the page; onnxruntime-web is loaded by URL from the server (assets.ts).
    const offenders = [...reached].filter((f) => /^import\s+(?!type\s)[^;]*?from\s+'(?!\.|@tensorflow\/tfjs-)[^']+'/m.test(text.get(f) ?? '')).map(rel);
    assert.deepEqual(offenders, []);
  });

  it('keeps the engine contract free of any engine', () => {
    const contract = join(SRC, 'engines', 'engine.ts');
    assert.deepEqual(importsOf(contract).map(rel), ['ir/index.ts']);
  });

  it('keeps engine knowledge in engines/: no other folder names an engine in code', () => {
    const outside = files.filter((f) => !rel(f).startsWith('engines/') && !rel(f).startsWith('cli/') && !rel(f).startsWith('study/presets'));
    // A comparison with an engine's name is knowledge that belongs to that engine's file.
    const named = outside.filter((f) => /===?\s*'(torch|ort|ort-wasm|tfjs-cpu|tfjs-wasm)'/.test(text.get(f)!)).map(rel);
    assert.deepEqual(named, []);
  });
});
