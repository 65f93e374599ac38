/**
 * The benchmark's PostgreSQL database, when BENCH_DATABASE_URL (or TEST_DATABASE_URL) names a server: a database of
 * its own, made fresh for the run and dropped after (whatever the named database holds stays untouched), and filled
 * from the generated SQLite file by the gym's own copy, so that both engines serve the same rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { copySqliteToPostgres } from '../../src/db/copy-to-postgres.js';
import { openSqliteGymData } from '../../src/db/sqlite-data.js';

export interface BenchPgDatabase {
  url: string;
  /** The server's version, for the report. */
  serverVersion: string;
  drop(): Promise<void>;
}

/** The URL without its password, fit to print. */
export function printable(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

async function withClient<T>(serverUrl: string, task: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await task(client);
  } finally {
    await client.end();
  }
}

/** Makes an empty database on the server `serverUrl` names (connecting to the database it names). */
export async function createBenchDatabase(serverUrl: string): Promise<BenchPgDatabase> {
  const name = `keycard_bench_${randomBytes(6).toString('hex')}`;
  const serverVersion = await withClient(serverUrl, async (client) => {
    await client.query(`create database ${name}`);
    // "15.20 (Debian 15.20-0+deb12u1)": the version is the first word.
    return (await client.query<{ server_version: string }>('show server_version')).rows[0]!.server_version.split(' ')[0]!;
  }).catch((err: unknown) => {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot make a database on PostgreSQL at ${printable(serverUrl)}: ${reason} (unset BENCH_DATABASE_URL and TEST_DATABASE_URL to run without PostgreSQL)`);
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    serverVersion,
    // With force: a server that did not stop in time must not keep the database alive.
    drop: () => withClient(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/**
 * Copies the SQLite database `file` into the empty PostgreSQL database `url` (migrations included). Opening `file`
 * leaves a write-ahead log beside it, so it must be a copy nobody else copies from.
 */
export async function fillFromSqlite(file: string, url: string): Promise<void> {
  const source = openSqliteGymData(file);
  try {
    await copySqliteToPostgres(source, url);
  } finally {
    await source.close();
  }
}
