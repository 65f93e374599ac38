import type Database from 'better-sqlite3';
import pg from 'pg';
import { openDatabase } from '../../src/db/client.js';
import type { Engine, GymData } from '../../src/db/data.js';
import { SqliteGymData } from '../../src/db/sqlite-data.js';
import { createTestPgDatabase, TEST_DATABASE_URL } from './pg.js';

/**
 * The engine this test run's gyms use: SQLite, or PostgreSQL when the run is the PostgreSQL one (the vitest project
 * `postgres`, which sets KEYCARD_TEST_ENGINE and runs only when TEST_DATABASE_URL names a server).
 */
export const TEST_ENGINE: Engine = process.env.KEYCARD_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

/**
 * Plain SQL for a test to look into the database or age a row, in the dialect both engines speak (`?` for each
 * parameter; counts come back as numbers on both). What the gym itself runs goes through its data layer, never here.
 */
export interface TestSql {
  all<T = Record<string, unknown>>(text: string, ...params: unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(text: string, ...params: unknown[]): Promise<T | undefined>;
  /** Runs a statement; how many rows it changed. */
  run(text: string, ...params: unknown[]): Promise<number>;
  /** An instant as a parameter for a timestamp column: milliseconds on SQLite, a timestamptz on PostgreSQL. */
  instant(ms: number): unknown;
}

export interface TestDatabase {
  engine: Engine;
  url: string;
  data: GymData;
  sql: TestSql;
  /** The SQLite handle itself, for the tests that read SQLite's own catalog (the fuzzer's fingerprint). */
  sqlite(): Database.Database;
  /** Closes the gym's connections and the test's, and drops a PostgreSQL database made for the test. */
  close(): Promise<void>;
}

/** PostgreSQL's `bigint` (counts, millisecond instants) as a JavaScript number, as SQLite gives it. */
const NUMBERS = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text')),
};

function postgresSql(pool: pg.Pool): TestSql {
  const query = async (text: string, params: unknown[]) => {
    let n = 0;
    return pool.query({ text: text.replace(/\?/g, () => `$${++n}`), values: params, types: NUMBERS });
  };
  return {
    all: async <T>(text: string, ...params: unknown[]) => (await query(text, params)).rows as T[],
    get: async <T>(text: string, ...params: unknown[]) => (await query(text, params)).rows[0] as T | undefined,
    run: async (text: string, ...params: unknown[]) => (await query(text, params)).rowCount ?? 0,
    instant: (ms) => new Date(ms),
  };
}

function sqliteSql(data: SqliteGymData): TestSql {
  const db = data.sqlite.sqlite;
  return {
    all: async <T>(text: string, ...params: unknown[]) => db.prepare(text).all(...params) as T[],
    get: async <T>(text: string, ...params: unknown[]) => db.prepare(text).get(...params) as T | undefined,
    run: async (text: string, ...params: unknown[]) => db.prepare(text).run(...params).changes,
    instant: (ms) => ms,
  };
}

/**
 * A fresh gym database for one test (or one file), through the real migrations: `:memory:` (or `file`) on SQLite, a
 * database of its own on PostgreSQL.
 */
export async function openTestDatabase(
  options: {
    engine?: Engine;
    /** A SQLite file to open (made if missing), instead of `:memory:`. */
    file?: string;
    /** An existing database to open again (as a restarted server would), instead of a fresh one; not dropped. */
    reopen?: TestDatabase;
    onQuery?: (sql: string) => void;
  } = {},
): Promise<TestDatabase> {
  const engine = options.reopen?.engine ?? options.engine ?? TEST_ENGINE;
  const hooks = options.onQuery ? { onQuery: options.onQuery } : {};
  if (engine === 'sqlite') {
    const url = options.reopen?.url ?? options.file ?? ':memory:';
    const data = (await openDatabase(url, hooks)) as SqliteGymData;
    return { engine, url, data, sql: sqliteSql(data), sqlite: () => data.sqlite.sqlite, close: () => data.close() };
  }
  if (!TEST_DATABASE_URL) throw new Error('the PostgreSQL run needs TEST_DATABASE_URL');
  const made = options.reopen ? { url: options.reopen.url, drop: async () => undefined } : await createTestPgDatabase();
  const data = await openDatabase(made.url, { poolSize: 5, ...hooks });
  const pool = new pg.Pool({ connectionString: made.url, max: 2 });
  // pool.end() does not wait for its connections to close, and the drop that follows may end one first: the server's
  // "terminating connection" then reaches an idle connection, which must not become an uncaught error.
  pool.on('error', () => {});
  let closed = false;
  return {
    engine,
    url: made.url,
    data,
    sql: postgresSql(pool),
    sqlite() {
      throw new Error('this test reads SQLite itself: it belongs to the SQLite run');
    },
    async close() {
      if (closed) return;
      closed = true;
      // A test may have closed the gym's pool already (to see what a closed database does).
      await data.close().catch(() => undefined);
      await pool.end();
      await made.drop();
    },
  };
}
