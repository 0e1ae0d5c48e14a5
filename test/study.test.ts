import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UserError } from '../src/errors.js';
import { parseStudy, planStudy, presetEngines, presetStudy, readStudyFile, STUDY_BUDGET, PRESET_NAMES } from '../src/study/index.js';
import { testTempDir } from './temp-dir.js';

const dir = testTempDir('formbench-study-test-');
after(() => rmSync(dir, { recursive: true, force: true }));

const smallest = { name: 'my-study', models: ['standard/d10/w64', 'mobilenet_v2'], engines: ['ort', 'ort:opt=disabled'], batches: [1, 8] };

function userError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UserError && message.test(e.message));
}

describe('study files', () => {
  it('the smallest useful file gets defaults for everything else', () => {
    const study = parseStudy(smallest, 'my.yaml');
    assert.equal(study.sweeps.length, 1);
    assert.deepEqual(study.sweeps[0], { name: 'my-study', models: smallest.models, engines: smallest.engines, batches: [1, 8], repetitions: 1, inputSeed: 1, budget: STUDY_BUDGET });
    assert.equal(study.reference, 'ort:opt=disabled');
  });

  it('reads YAML, and model files are relative to the study file', () => {
    const path = join(dir, 'study.yaml');
    writeFileSync(path, 'name: s\nmodels: [./net.onnx, resnet18]\nengines: [ort]\nbudget: { timedSeconds: 0.5, ciPercent: 5 }\n');
    const study = readStudyFile(path);
    assert.deepEqual(study.sweeps[0]!.models, [join(dir, 'net.onnx'), 'resnet18']);
    assert.equal(study.sweeps[0]!.budget.timedBudgetMs, 500);
    assert.equal(study.sweeps[0]!.budget.targetCiRelative, 0.05);
  });

  it('engine options apply to every use of the engine that does not set them', () => {
    const study = parseStudy({ ...smallest, engines: ['ort', 'ort:threads=2', 'torch'], engineOptions: { ort: { threads: 1 } } }, 'my.yaml');
    assert.deepEqual(study.sweeps[0]!.engines, ['ort:threads=1', 'ort:threads=2', 'torch']);
  });

  it('a bad file gets one line naming the field and what was expected', () => {
    userError(() => parseStudy({ ...smallest, bachtes: [1] }, 'my.yaml'), /^my\.yaml: unknown key 'bachtes'$/);
    userError(() => parseStudy({ ...smallest, models: 'resnet18' }, 'my.yaml'), /^my\.yaml: models: expected array, received string$/);
    userError(() => parseStudy({ ...smallest, batches: [1, 0] }, 'my.yaml'), /^my\.yaml: batches\[1\]: Too small/);
    userError(() => parseStudy({ name: 'x', engines: ['ort'] }, 'my.yaml'), /^my\.yaml: models is missing \(expected array\)$/);
    userError(() => parseStudy({ ...smallest, budget: { timedSeconds: 'long' } }, 'my.yaml'), /budget\.timedSeconds: expected number, received string/);
    userError(() => parseStudy({ ...smallest, name: 'has space' }, 'my.yaml'), /name: letters, digits/);
    userError(() => parseStudy(['a'], 'my.yaml'), /expected a mapping with name, models and engines/);
    const path = join(dir, 'broken.yaml');
    writeFileSync(path, 'name: [unclosed\n');
    userError(() => readStudyFile(path), /broken\.yaml is not valid YAML/);
  });
});

describe('planning', () => {
  it('expands models × batches × engines, with stable keys, and checks engines and models up front', () => {
    const plan = planStudy(parseStudy(smallest, 'my.yaml'));
    assert.equal(plan.trials.length, 2 * 2 * 2);
    assert.equal(new Set(plan.trials.map((t) => t.key)).size, 8);
    assert.deepEqual(planStudy(parseStudy(smallest, 'my.yaml')).trials.map((t) => t.key), plan.trials.map((t) => t.key));
    const t = plan.trials.find((x) => x.model.spec === 'standard/d10/w64' && x.batch === 8)!;
    assert.equal(t.model.pattern, 'standard');
    assert.equal(t.model.depth, 10);
    assert.ok(t.estimatedSeconds > 0);
    userError(() => planStudy(parseStudy({ ...smallest, engines: ['onnxruntime'] }, 'my.yaml')), /unknown engine 'onnxruntime'/);
    userError(() => planStudy(parseStudy({ ...smallest, engines: ['ort:opt=fast'] }, 'my.yaml')), /opt/);
    userError(() => planStudy(parseStudy({ ...smallest, models: ['grouped/d10/w63'] }, 'my.yaml')), /w63|width/);
    userError(() => planStudy(parseStudy({ ...smallest, models: ['./missing.onnx'] }, 'my.yaml')), /no such file/);
  });

  it('an option written at its default is the same trial, so a new option leaves stored keys alone', () => {
    const keyOf = (engine: string) => planStudy(parseStudy({ ...smallest, engines: [engine] }, 'my.yaml')).trials[0]!.key;
    assert.equal(keyOf('ort:opt=all,precision=fp32'), keyOf('ort'));
    assert.notEqual(keyOf('ort:precision=int8'), keyOf('ort'));
    assert.notEqual(keyOf('ort:opt=disabled'), keyOf('ort'));
  });

  it('a trial listed by two sweeps runs once', () => {
    const study = parseStudy({ name: 's', sweeps: [{ name: 'a', models: ['resnet18'], engines: ['ort'] }, { name: 'b', models: ['resnet18', 'resnet34'], engines: ['ort'] }] }, 'my.yaml');
    assert.deepEqual(planStudy(study).trials.map((t) => `${t.sweep}:${t.model.spec}`), ['a:resnet18', 'b:resnet34']);
  });

  it('repetitions are separate trials', () => {
    assert.equal(planStudy(parseStudy({ ...smallest, repetitions: 3 }, 'my.yaml')).trials.length, 24);
  });
});

describe('presets', () => {
  const all = new Map<string, { available: boolean; reason?: string }>(['torch', 'ort', 'tfjs-wasm'].map((e) => [e, { available: true }]));

  it('quick covers the depth, width and networks experiments, DARTS also on oneDNN', () => {
    const plan = planStudy(presetStudy('quick', presetEngines(all)));
    assert.deepEqual([...new Set(plan.trials.map((t) => t.sweep))], ['depth', 'width', 'networks']);
    assert.equal(plan.trials.length, 6 * 3 * 2 * 2 + 6 * 3 * 2 + 3 * 2 + 1);
    assert.ok(plan.trials.some((t) => t.model.spec === 'darts' && t.choice.label === 'torch:mode=jit-frozen'));
    assert.equal(plan.baseline, 'torch');
  });

  it('depth is the seed paper\'s grid: 6 patterns × 5 depths × 4 batches × 2 engines', () => {
    assert.equal(planStudy(presetStudy('depth', presetEngines(all))).trials.length, 6 * 5 * 4 * 2);
  });

  it('cache counts every trial under the scaled paper cache at 56×56, on tfjs-wasm and ort', () => {
    const plan = planStudy(presetStudy('cache', presetEngines(all)));
    // 6 patterns × (5 depths + 4 widths − the w64/d10 model both series share) × 2 engines.
    assert.equal(plan.trials.length, 6 * (5 + 4 - 1) * 2);
    assert.ok(plan.trials.every((t) => t.counters?.mode === 'simulate' && t.counters.geometry === 'paper-r56' && t.model.spec.endsWith('/r56')));
    assert.deepEqual([...new Set(plan.trials.map((t) => t.choice.label))], ['tfjs-wasm', 'ort']);
    assert.equal(plan.baseline, 'tfjs-wasm');
  });

  it('without PyTorch, TensorFlow.js stands in as the native framework, and says so', () => {
    const engines = presetEngines(new Map([...all, ['torch', { available: false, reason: 'no python3' }] as const]));
    assert.equal(engines.native, 'tfjs-wasm');
    assert.match(engines.notes[0]!, /torch is not available \(no python3\)/);
    assert.ok(!presetStudy('networks', engines).sweeps.some((s) => s.engines.some((e) => e.startsWith('torch'))));
  });

  it('every preset plans without error', () => {
    for (const name of PRESET_NAMES) {
      const plan = planStudy(presetStudy(name, presetEngines(all)));
      assert.ok(plan.trials.length + plan.scenarios.length > 0, name);
    }
  });
});
