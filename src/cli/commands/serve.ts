import { networkInterfaces } from 'node:os';
import { createSecureContext } from 'node:tls';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { readInputFile } from '../../input/files.js';
// The server and its bundler load when `serve` runs, not with every other command.
import { DEFAULT_LAB_ENGINES } from '../../serve/lab-study.js';
import { ResultStore, STORE_FILE } from '../../store/index.js';
import { planStudy } from '../../study/index.js';
import { PRESET_NAMES } from '../../study/presets.js';

interface ServeOptions {
  port: string;
  host: string;
  out?: string;
  engines: string;
  json?: boolean;
  tlsCert?: string;
  tlsKey?: string;
}

const PEM_FILE = { maxBytes: 2 ** 20, hint: 'give a PEM file, e.g. from: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem -days 30 -subj /CN=formbench' };

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a page that runs a study in the browser (TF.js and onnxruntime-web on wasm) and stores each result with the device\'s fingerprint')
    .argument('[study]', `preset (${PRESET_NAMES.join(', ')}) or a YAML study file, its engines replaced by the browser's (default: the 6 patterns × depth 10–50 at width 32, 112² input)`)
    .option('--port <n>', 'TCP port (0: any free one)', '8080')
    .option('--host <address>', 'address to bind; 0.0.0.0 lets phones on the LAN open the page', '127.0.0.1')
    .option('--out <dir>', 'results folder (default: ./formbench-results/<study name>)')
    .option('--engines <list>', 'the page\'s engines', DEFAULT_LAB_ENGINES)
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM): on a LAN address only HTTPS makes the page cross-origin isolated (wasm threads, the 5 µs timer)')
    .option('--tls-key <file>', "the certificate's private key (PEM)")
    .option('--json', 'machine-readable events, one JSON object per line')
    .action(serveCommand);
}

/** `formbench serve`: plan, open the store, serve until Ctrl-C, printing each result as it is stored. */
async function serveCommand(nameOrPath: string | undefined, o: ServeOptions): Promise<void> {
  if (!/^\d{1,5}$/.test(o.port) || Number(o.port) > 65535) throw new UserError(`--port ${o.port} is not a TCP port`, 'give a number from 0 (any free port) to 65535');
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new UserError('--tls-cert and --tls-key go together', 'give both (a certificate and its key, PEM), or neither for plain HTTP');
  const tls = o.tlsCert && o.tlsKey ? { cert: readInputFile(o.tlsCert, { what: 'TLS certificate', ...PEM_FILE }), key: readInputFile(o.tlsKey, { what: 'TLS key', ...PEM_FILE }) } : undefined;
  if (tls) {
    try {
      // Before the store exists: Node rejects text that is not PEM, or a key that is not the certificate's.
      createSecureContext(tls);
    } catch (e) {
      throw new UserError(`cannot serve HTTPS with ${o.tlsCert} and ${o.tlsKey}: ${(e as Error).message.split('\n')[0]}`, PEM_FILE.hint);
    }
  }
  const { labAssets, labServer, labStudy, newToken } = await import('../../serve/index.js');
  const { study, notes } = await labStudy(nameOrPath, o.engines);
  const plan = planStudy(study);
  const out = resolve(o.out ?? join('formbench-results', study.name));
  const assets = await labAssets();
  const store = await ResultStore.open(join(out, STORE_FILE));
  const token = newToken();
  const say = (event: Record<string, unknown>, line: string) => process.stdout.write(o.json ? `${JSON.stringify(event)}\n` : `${line}\n`);
  const app = labServer(plan, store, assets, { token, ...(tls ? { tls } : {}), onResult: (r) => say({ type: 'result', ...r }, `stored ${r.model} on ${r.engine}: ${r.status}${r.medianMs !== null ? `, median ${r.medianMs.toFixed(2)} ms` : ''}`) });
  try {
    await app.listen({ port: Number(o.port), host: o.host });
  } catch (e) {
    store.close();
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`cannot listen on ${o.host}:${o.port}: ${code ?? (e as Error).message}`, code === 'EADDRINUSE' ? 'another program has that port; give another --port (0: any free one)' : 'give an address of this machine with --host');
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : Number(o.port);
  const hosts = LOOPBACK.has(o.host) ? [o.host] : o.host === '0.0.0.0' || o.host === '::' ? lanAddresses() : [o.host];
  const urls = hosts.map((h) => `${tls ? 'https' : 'http'}://${h.includes(':') ? `[${h}]` : h}:${port}/?token=${token}`);
  for (const n of notes) say({ type: 'note', note: n }, `note: ${n}`);
  say(
    { type: 'listening', study: study.name, trials: plan.trials.length, store: store.path, port, urls },
    [`formbench lab: ${study.name}, ${plan.trials.length} trials on ${o.engines}; results into ${store.path}`, ...urls.map((u) => `open ${u}`), LOOPBACK.has(o.host) ? '' : 'the token in the URL is required for every result: share the URL only with your own devices', 'Ctrl-C stops the server; reopening the page resumes where it stopped'].filter(Boolean).join('\n'),
  );
  await new Promise<void>((done) => {
    const stop = () => {
      void app.close().then(() => {
        store.close();
        done();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** This machine's IPv4 addresses a phone on the LAN can reach (loopback last, for a browser here). */
function lanAddresses(): string[] {
  const lan = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address));
  return [...lan, '127.0.0.1'];
}
