/**
 * A real PostgreSQL for the fleet tests: FORMBENCH_TEST_PG_URL names a server and a role that may
 * create databases (.ci/run starts Debian's PostgreSQL 15 and sets it). Each test gets a database
 * of its own, dropped when it ends; without the variable the tests skip, saying why.
 */
import pg from 'pg';

export const TEST_PG_ENV = 'FORMBENCH_TEST_PG_URL';
export const testPgUrl = process.env[TEST_PG_ENV];
export const PG_SKIP = testPgUrl ? false : `${TEST_PG_ENV} is not set: the fleet tests need a PostgreSQL server (.ci/run starts Debian's and sets it)`;

/** A fresh, empty database on the test server; `drop` removes it (and ends its connections). */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = new URL(testPgUrl!);
  const name = `formbench_t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** One query on a database, for the tests' checks. */
export async function query<T = Record<string, unknown>>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, values)).rows as T[];
  } finally {
    await c.end();
  }
}
