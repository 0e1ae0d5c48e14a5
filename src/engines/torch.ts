import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { topologicalOrder, type Graph } from '../ir/index.js';
import type { Availability, Engine, EngineProfile, EngineSession, IdiomaticRun } from './engine.js';
import { choiceOption, threadCount, threadsOption } from './options.js';
import { numericsOfPrecisionOption } from './precision.js';
import { UNIT_TIMES_SUMMARY, UnitTimes } from './profile-times.js';

/**
 * PyTorch eager, the seed paper's native framework, through a long-lived Python worker
 * (torch_worker.py): one process per session. The network is rebuilt from formbench's IR — not
 * from ONNX — and executed node by node with torch / torch.nn.functional.
 *
 * Pipe protocol, both directions: u32 LE header length, a JSON header, then the raw bytes of the
 * blobs whose byte lengths the header lists in `blobs`. See torch_worker.py for the commands.
 */

const LAYOUTS = ['nchw', 'channels_last'] as const;
const MODES = ['eager', 'jit-frozen'] as const;
/**
 * bf16: the module and its input cast to bfloat16 (oneDNN's bf16 kernels on CPUs with AVX-512
 * BF16 or AMX); bf16-autocast: FP32 weights, torch.autocast picking bf16 per operator (eager only).
 */
const PRECISIONS = ['fp32', 'bf16', 'bf16-autocast'] as const;

/** Where the worker script lies: next to the compiled file, or in src/ seen from dist/src/engines. */
function workerScript(): string | undefined {
  const candidates = [new URL('./torch_worker.py', import.meta.url), new URL('../../../src/engines/torch_worker.py', import.meta.url)];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** FORMBENCH_PYTHON, else Debian's /usr/bin/python3, else python3 on PATH. */
function pythonCandidates(): string[] {
  const env = process.env['FORMBENCH_PYTHON'];
  if (env) return [env];
  return ['/usr/bin/python3', 'python3'];
}

const PROBE = String.raw`
import json, os, re, ctypes
import torch
d = {}
d["version"] = torch.__version__
cfg = torch.__config__.show()
for key in ("BLAS_INFO", "LAPACK_INFO"):
    m = re.search(key + r"=([^,\s]+)", cfg)
    d[key] = m.group(1) if m else "unknown"
d["mkldnn"] = torch.backends.mkldnn.is_available()
d["openmp"] = torch.backends.openmp.is_available()
d["mkl"] = torch.backends.mkl.is_available()
d["defaultThreads"] = torch.get_num_threads()
d["defaultInteropThreads"] = torch.get_num_interop_threads()
m = re.search(r"CPU capability usage: (\S+)", cfg)
d["cpuCapability"] = m.group(1) if m else "unknown"
m = re.search(r"MKL-DNN (v[\d.]+)", cfg)
d["onednnVersion"] = m.group(1) if m else "unknown"
torch.set_flush_denormal(False)
a = torch.randn(256, 256)
(a @ a).sum().item()
mapped = []
with open("/proc/self/maps") as f:
    for line in f:
        path = line.split()[-1] if len(line.split()) >= 6 else ""
        if "blas" in os.path.basename(path).lower() and path not in mapped:
            mapped.append(path)
d["blasMapped"] = ",".join(os.path.realpath(p) for p in mapped) or "none"
for p in mapped:
    try:
        lib = ctypes.CDLL(p)
        lib.openblas_get_config.restype = ctypes.c_char_p
        d["openblasConfig"] = lib.openblas_get_config().decode()
        lib.openblas_get_corename.restype = ctypes.c_char_p
        d["openblasCore"] = lib.openblas_get_corename().decode()
        break
    except Exception:
        pass
alt = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
if os.path.exists(alt):
    d["libblasAlternative"] = os.path.realpath(alt)
print(json.dumps(d))
`;

/**
 * The memory allocator the worker runs under, as a plain user's python3 gets it: glibc's malloc
 * unless the environment preloads another or tunes it. Disclosed because it moves torch's times
 * more than most options: on this project's VM, depthwise-bottleneck/d13/w40 took 89.3 ms under
 * glibc's defaults and 25.1 ms with MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ at 1 GB
 * (each large activation otherwise maps fresh pages, and pays their faults, on every run).
 */
export function allocatorOf(env: NodeJS.ProcessEnv): string {
  const preload = env['LD_PRELOAD'] ?? '';
  const tuned = Object.keys(env).filter((k) => k.startsWith('MALLOC_')).sort().map((k) => `${k}=${env[k]}`);
  const base = /jemalloc|tcmalloc|mimalloc/i.test(preload) ? `preloaded ${preload}` : 'glibc malloc';
  return tuned.length ? `${base}, tuned by ${tuned.join(' ')}` : `${base} with its defaults`;
}

/**
 * The `allocator` option: `system` leaves glibc's malloc as a plain python3 has it (the baseline
 * as PyTorch's users run it, the default); `keep` sets glibc's own tunables so that freed large
 * blocks stay in the heap for the next run instead of being unmapped and mapped afresh (the
 * tuning PyTorch's CPU performance guides make with jemalloc or tcmalloc, without a preload).
 * Measured on this project's VM, plain PyTorch moves the same way: the idiomatic nn.Sequential
 * depthwise-bottleneck/d10/w64 ran in 100.3 ms under the defaults and 32.6 ms under `keep`.
 */
export const ALLOCATORS = ['system', 'keep'] as const;
export function allocatorEnv(allocator: string): Record<string, string> {
  return allocator === 'keep' ? { MALLOC_MMAP_THRESHOLD_: '1000000000', MALLOC_TRIM_THRESHOLD_: '1000000000' } : {};
}

let availabilityAnswer: Promise<Availability> | undefined;
let chosenPython: string | undefined;

function probe(python: string): { ok: true; details: Record<string, unknown> } | { ok: false; why: string } {
  const r = spawnSync(python, ['-c', PROBE], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } }); // torch's own thread default, as a plain user gets it
  if (r.error) return { ok: false, why: `${python}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, why: `${python}: ${(r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? `exit ${r.status}`}` };
  try {
    return { ok: true, details: JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]!) as Record<string, unknown> };
  } catch {
    return { ok: false, why: `${python}: unreadable probe output` };
  }
}

async function findTorch(): Promise<Availability> {
  const script = workerScript();
  if (!script) return { available: false, reason: 'torch_worker.py not found next to the torch engine (src/engines/torch_worker.py)' };
  const tried: string[] = [];
  for (const python of pythonCandidates()) {
    const p = probe(python);
    if (!p.ok) {
      tried.push(p.why);
      continue;
    }
    chosenPython = python;
    const d = p.details;
    const details: Record<string, string> = { python, worker: script };
    for (const [k, v] of Object.entries(d)) if (k !== 'version') details[k] = String(v);
    const mapped = String(d['blasMapped'] ?? '');
    const viaAlternatives = /openblas/i.test(String(d['libblasAlternative'] ?? '')) ? ', reached through libblas.so.3 (Debian alternatives point it to OpenBLAS)' : '';
    details['blas'] = /openblas/i.test(mapped)
      ? `OpenBLAS (${String(d['openblasConfig'] ?? mapped)})${viaAlternatives}; torch reports BLAS_INFO=${String(d['BLAS_INFO'])}`
      : `${mapped || 'none mapped'}; torch reports BLAS_INFO=${String(d['BLAS_INFO'])}`;
    details['flushDenormal'] = 'false';
    details['allocator'] = allocatorOf(process.env);
    details['threading'] = `intra-op: torch's OpenMP pool, ${os.availableParallelism()} threads unless threads= says otherwise (OMP_NUM_THREADS, torch.set_num_threads), inter-op 1; BLAS: 1 thread inside it (OPENBLAS_NUM_THREADS=1); Debian's torch alone would use ${String(d['defaultThreads'] ?? '?')} thread(s)`;
    return { available: true, version: String(d['version']), details };
  }
  return {
    available: false,
    reason: `python3 with torch not found (apt-get install python3-torch libopenblas0-pthread); tried ${tried.join('; ')}`,
  };
}

/**
 * The nodes in the order the model lists them where that order is valid (ONNX requires it, and the
 * zoo builds in its reference definitions' order), else a topological order. A module's forward
 * runs its layers in the order they are written, and so does the engine: branch by branch, which
 * is also what keeps few activations alive at once.
 */
function executionOrder(graph: Graph): Graph['nodes'] {
  const available = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.keys()]);
  for (const node of graph.nodes) {
    if (!node.inputs.every((i) => !i || available.has(i))) return topologicalOrder(graph);
    for (const o of node.outputs) available.add(o);
  }
  return graph.nodes;
}

/**
 * How the worker's threads are set, as a careful PyTorch user on a small machine sets them: torch's
 * own OpenMP pool does the intra-op parallelism (OMP_NUM_THREADS and torch.set_num_threads), and
 * OpenBLAS runs single-threaded inside it. Debian's default OpenBLAS (libopenblas0-pthread) keeps
 * a pthread pool of its own that competes with torch's spinning OpenMP threads for the cores; with
 * batch 1 and several threads torch sends its convolutions to oneDNN (OpenMP) anyway, so BLAS's
 * own threads only add contention. `npm run bench -- torch-config` measures this choice against
 * plain PyTorch under Debian's defaults and the alternatives, side by side.
 */
export function torchThreadingEnv(threads: number): Record<string, string> {
  const t = String(threads);
  return { OMP_NUM_THREADS: t, MKL_NUM_THREADS: t, OPENBLAS_NUM_THREADS: '1' };
}

/** The IR as the worker reads it: header JSON plus initializer bytes in order. */
function graphMessage(graph: Graph): { graph: unknown; blobs: Uint8Array[] } {
  const initializers: { name: string; dtype: string; dims: readonly number[] }[] = [];
  const blobs: Uint8Array[] = [];
  for (const [name, t] of graph.initializers) {
    initializers.push({ name, dtype: t.dtype, dims: t.dims });
    blobs.push(t.bytes());
  }
  const nodes = executionOrder(graph).map((n) => ({ name: n.name, op: n.op, inputs: n.inputs, outputs: n.outputs, attrs: n.attrs }));
  const initNames = new Set(graph.initializers.keys());
  return {
    graph: {
      inputs: graph.inputs.map((v) => v.name).filter((n) => !initNames.has(n)),
      // One image's dims (a symbolic batch as 1): the idiomatic module's layer order is read from one run.
      input_dims: (graph.inputs.find((v) => !initNames.has(v.name))?.type.shape ?? []).map((d, i) => (i === 0 || typeof d !== 'number' ? 1 : d)),
      outputs: graph.outputs.map((v) => v.name),
      nodes,
      initializers,
    },
    blobs,
  };
}

interface Reply {
  header: Record<string, unknown>;
  blobs: Buffer[];
}

/** One Python process and its framed request/reply pipe; requests are served one at a time. */
class TorchWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private stderrTail = '';
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private dead: Error | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(python: string, script: string, threads: number, allocator: string) {
    this.child = spawn(python, ['-u', script], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...torchThreadingEnv(threads), ...allocatorEnv(allocator) } });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-4000);
    });
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stdin.on('error', () => {}); // a dead worker: reported through 'exit'
    this.child.on('error', (e) => this.fail(new Error(`torch worker could not start (${python}): ${e.message}`)));
    this.child.on('exit', (code, signal) => {
      const how = signal ? `signal ${signal}` : `code ${code}`;
      // The last stderr line first (trial reports keep a message's first line), then the tail before it.
      const tail = this.stderrTail.trim().split('\n').filter((l) => l.trim());
      const last = tail.pop();
      this.fail(new Error(`torch worker exited (${how})${last ? `: ${last}` : ''}${tail.length ? `\n${tail.slice(-8).join('\n')}` : ''}`));
    });
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (this.buffer.length < 4) return;
      const headerLength = this.buffer.readUInt32LE(0);
      if (this.buffer.length < 4 + headerLength) return;
      const header = JSON.parse(this.buffer.subarray(4, 4 + headerLength).toString('utf8')) as Record<string, unknown>;
      const sizes = (header['blobs'] as number[] | undefined) ?? [];
      const total = sizes.reduce((a, b) => a + b, 0);
      if (this.buffer.length < 4 + headerLength + total) return;
      const blobs: Buffer[] = [];
      let at = 4 + headerLength;
      for (const n of sizes) {
        blobs.push(Buffer.from(this.buffer.subarray(at, at + n)));
        at += n;
      }
      this.buffer = this.buffer.subarray(at);
      const w = this.waiting.shift();
      if (w) w.resolve({ header, blobs });
    }
  }

  /** Sends one request and waits for its reply; a worker-side error rejects with its message. */
  request(header: Record<string, unknown>, blobs: Uint8Array[] = []): Promise<Reply> {
    const next = this.chain.then(() => this.send(header, blobs));
    this.chain = next.catch(() => {});
    return next;
  }

  private send(header: Record<string, unknown>, blobs: Uint8Array[]): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const reply = new Promise<Reply>((resolve, reject) => this.waiting.push({ resolve, reject }));
    const json = Buffer.from(JSON.stringify({ ...header, blobs: blobs.map((b) => b.byteLength) }), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(json.length, 0);
    this.child.stdin.write(length);
    this.child.stdin.write(json);
    for (const b of blobs) if (b.byteLength) this.child.stdin.write(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    return reply.then((r) => {
      if (r.header['ok'] !== true) throw new Error(String(r.header['error'] ?? 'torch worker: unknown error'));
      return r;
    });
  }

  private closing: Promise<void> | undefined;

  /** Asks the worker to exit (killing it after 5 s); safe to call more than once. */
  close(): Promise<void> {
    if (this.dead) return Promise.resolve();
    this.closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      const json = Buffer.from(JSON.stringify({ cmd: 'exit', blobs: [] }), 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(json.length, 0);
      this.child.stdin.write(length);
      this.child.stdin.end(json);
    });
    return this.closing;
  }
}

function bytesOf(input: Float32Array): Uint8Array {
  return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
}

export const torchEngine: Engine = {
  name: 'torch',
  description: 'PyTorch eager through a Python worker, network rebuilt from the IR (the seed paper’s native framework)',
  role: 'native',
  profiles: true,
  options: {
    threads: threadsOption('intra-op threads (torch.set_num_threads; inter-op threads 1)'),
    layout: choiceOption('memory format of weights and input', LAYOUTS, 'nchw'),
    mode: choiceOption('eager, or jit-frozen: torch.jit.trace + freeze + optimize_for_inference (oneDNN fusion)', MODES, 'eager'),
    precision: choiceOption(
      'compute precision: fp32, bf16 (module and input cast to bfloat16) or bf16-autocast (torch.autocast on the CPU, eager only); output read as float32',
      PRECISIONS,
      'fp32',
    ),
    allocator: choiceOption("glibc malloc as a plain python3 has it (system), or keep: freed large blocks kept for the next run (MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ at 1 GB) instead of mapped afresh", ALLOCATORS, 'system'),
  },
  numerics: numericsOfPrecisionOption,
  planningRate: { gmacsPerS: 14, startupS: 2.5 },
  // Measured as ort.ts's, the Node worker and its Python child together: 296 MiB on
  // standard/d1/w8/r32 (mostly importing torch); 527 MiB on standard/d10/w512/r32: 2.5 copies of its
  // 92 MiB of weights (the file and the blobs in Node, torch's tensors); standard/d10/w64 batch 1 → 8
  // added 74 MiB for 43 MiB of liveness peak (the input and output cross the pipe, copied).
  memoryFootprint: () => ({ baseBytes: 320 * 2 ** 20, weightCopies: 3, activationFactor: 2 }),
  // Measured: importing torch under valgrind outlasts the engine's 120 s availability probe.
  notSimulated: {
    reason: 'torch is not simulated: importing PyTorch under valgrind takes minutes before the first inference',
    hint: 'simulate tfjs-wasm as the native framework instead, or count torch with perf on a machine whose PMU perf can read',
  },
  availability() {
    availabilityAnswer ??= findTorch();
    return availabilityAnswer;
  },
  async load(model, options): Promise<EngineSession> {
    // The registry has parsed every option (see options.ts).
    const threads = threadCount(options);
    const { layout, mode, precision, allocator } = options as { layout: string; mode: string; precision: string; allocator: string };
    const availability = await torchEngine.availability();
    if (!availability.available) throw new Error(`torch is not available: ${availability.reason}`);
    const worker = new TorchWorker(chosenPython!, workerScript()!, threads, allocator);
    const { graph, blobs } = graphMessage(model.graph);
    try {
      await worker.request({ cmd: 'load', graph, threads, layout, mode, precision, spec: model.spec }, blobs);
    } catch (e) {
      await worker.close();
      throw e;
    }
    // The worker keeps the last input it received, so that timed runs send no tensor through the pipe.
    let last: { input: Float32Array; dims: string } | undefined;
    const send = (input: Float32Array, dims: number[]): { repeat: boolean; blobs: Uint8Array[] } => {
      const repeat = last !== undefined && last.input === input && last.dims === dims.join(',');
      last = { input, dims: dims.join(',') };
      return { repeat, blobs: repeat ? [] : [bytesOf(input)] };
    };
    const run = async (input: Float32Array, dims: number[], idiomatic: boolean): Promise<Float32Array> => {
      last = undefined;
      const reply = await worker.request({ cmd: 'run', dims, idiomatic }, [bytesOf(input)]);
      last = { input, dims: dims.join(',') };
      const out = reply.blobs[0]!;
      // A fresh, aligned copy: the reply buffer may sit at any offset.
      const values = new Float32Array(out.byteLength / 4);
      new Uint8Array(values.buffer).set(out);
      return values;
    };
    const timedRun = async (input: Float32Array, dims: number[], idiomatic: boolean): Promise<{ ms: number }> => {
      const { repeat, blobs } = send(input, dims);
      const reply = await worker.request({ cmd: 'timed', dims, repeat, idiomatic }, blobs);
      return { ms: Number(reply.header['ns']) / 1e6 };
    };
    return {
      run: (input, dims) => run(input, dims, false),
      timedRun: (input, dims) => timedRun(input, dims, false),
      async idiomatic(): Promise<IdiomaticRun> {
        const reply = await worker.request({ cmd: 'idiomatic' });
        return {
          description: `${String(reply.header['description'])}, in the same Python process, ${mode}, ${layout}, ${precision}, ${threads} thread(s), torch.inference_mode()`,
          run: (input, dims) => run(input, dims, true),
          timedRun: (input, dims) => timedRun(input, dims, true),
          dispose: async () => {},
        };
      },
      async profile(input, dims, runs): Promise<EngineProfile> {
        const { repeat, blobs } = send(input, dims);
        const reply = await worker.request({ cmd: 'profile', dims, repeat, runs }, blobs);
        const steps = reply.header['steps'] as { name: string; op: string; ns: number[] }[];
        const times = new UnitTimes();
        for (const s of steps) s.ns.forEach((ns, run) => times.add(run, { name: s.name, op: s.op, kind: 'compute', nodes: [s.name] }, ns / 1e6));
        return {
          layers: times.timings(),
          profiledRunMs: (reply.header['runNs'] as number[]).map((ns) => ns / 1e6),
          method: `PyTorch eager in the Python worker: each IR node's call timed with time.perf_counter_ns (CPU operators are synchronous); ${UNIT_TIMES_SUMMARY} of ${runs} after 1 unrecorded`,
        };
      },
      dispose: () => worker.close(),
    };
  },
};
