/**
 * The fleet's PostgreSQL database: the `--fleet postgres://…` URL checked before anything
 * connects, one pool for formbench's own tables and one pg-boss instance for the queue.
 * Credentials come from the URL or from libpq's environment (PGPASSWORD, PGUSER, …); formbench
 * never writes them anywhere, and every message shows the URL without its password.
 */
import pg from 'pg';
import PgBoss from 'pg-boss';
import { UserError } from '../errors.js';

/** A `--fleet` URL, checked: postgres:// or postgresql://, with a host. */
export interface FleetUrl {
  /** The URL as given, password included: only ever handed to the driver. */
  connectionString: string;
  /** The URL with its password replaced, for messages. */
  shown: string;
}

export const FLEET_URL_HINT = 'give --fleet postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or leave the password out and set PGPASSWORD)';

export function parseFleetUrl(text: string): FleetUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--fleet '${redact(text)}' is not a URL`, FLEET_URL_HINT);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new UserError(`--fleet must be a PostgreSQL URL, not ${url.protocol}//…`, FLEET_URL_HINT);
  // A socket folder may be given as ?host=/path with an empty host part, as libpq allows.
  if (!url.hostname && !url.searchParams.get('host')) throw new UserError(`--fleet '${redact(text)}' names no host`, FLEET_URL_HINT);
  if (url.pathname.length <= 1) throw new UserError(`--fleet '${redact(text)}' names no database`, FLEET_URL_HINT);
  return { connectionString: text, shown: redact(text) };
}

function redact(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    // Not a URL: still hide anything between ':' and '@' that looks like a password.
    return text.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}

/** The error a failed connection gives, as one line that says what to check. */
export function connectionError(url: FleetUrl, e: unknown): UserError {
  const err = e as { code?: string; message?: string; errors?: { message?: string }[] };
  const message = (err.message || err.errors?.[0]?.message || String(e)).split('\n')[0]!;
  const why: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is PostgreSQL running and listening there?)',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name could not be resolved',
    ETIMEDOUT: 'the connection timed out',
    '28P01': 'password authentication failed',
    '28000': 'the server refused this user',
    '3D000': 'no such database',
  };
  const reason = (err.code && why[err.code]) || message;
  return new UserError(`cannot reach the fleet database ${url.shown}: ${reason}`, 'check the URL, that the server runs and accepts this user from here (pg_hba.conf), and PGPASSWORD if the URL has no password');
}

/** Whether an error is the database going away (a server stopped, a network cut), not a bug. */
export function isConnectionLoss(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006'].includes(err.code ?? '') || /Connection terminated|connection timeout/i.test(err.message ?? '');
}

/** A pool on the fleet database, its first connection tried at once so that a bad URL is one error now. */
export async function openPool(url: FleetUrl): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url.connectionString, max: 4, connectionTimeoutMillis: 10_000, application_name: 'formbench' });
  // An idle client whose server went away must not crash the process: the next query fails instead.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw connectionError(url, e);
  }
  return pool;
}

/**
 * The queue, on the same database. `supervise` makes this instance one of those that hand
 * expired trials back (pg-boss elects one per interval across the fleet); the CLI's other
 * commands only send or read.
 */
export async function openQueue(url: FleetUrl, options: { supervise: boolean; maintenanceIntervalSeconds?: number }): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: url.connectionString,
    application_name: 'formbench-queue',
    max: 2,
    supervise: options.supervise,
    schedule: false,
    ...(options.maintenanceIntervalSeconds ? { maintenanceIntervalSeconds: options.maintenanceIntervalSeconds } : {}),
  });
  boss.on('error', (e) => process.stderr.write(`fleet queue: ${(e as Error).message.split('\n')[0]}\n`));
  try {
    await boss.start();
  } catch (e) {
    await boss.stop({ graceful: false, wait: false }).catch(() => {});
    throw connectionError(url, e);
  }
  return boss;
}
