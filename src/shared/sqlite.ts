import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';

/** An open SQLite database: Drizzle for queries, the raw handle for pragmas, health checks and closing. */
export interface SqliteDatabase<S extends Record<string, unknown>> {
  db: BetterSQLite3Database<S>;
  sqlite: Database.Database;
  close(): void;
}

/**
 * Makes the database file readable by its owner only before SQLite opens it: it holds password hashes and the
 * pairwise secret. A folder Keycard creates for it is 0700; the file is created (or narrowed) to 0600, and SQLite gives
 * its WAL and shared-memory files the permissions of the database file.
 */
function ownerOnly(file: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
}

/**
 * Opens (creating its folder if needed) a SQLite file, or an in-memory database for `:memory:`, with the pragmas
 * every Keycard service wants, and applies the migrations in `migrationsFolder`. WAL lets readers go on while a
 * writer commits; foreign keys are off by default in SQLite and must be asked for on every connection.
 */
export function openSqlite<S extends Record<string, unknown>>(
  url: string,
  options: { schema: S; migrationsFolder: string; onQuery?: (sql: string) => void },
): SqliteDatabase<S> {
  if (url !== ':memory:') ownerOnly(url);
  const sqlite = new Database(url);
  if (url !== ':memory:') sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  const onQuery = options.onQuery;
  const db = drizzle(sqlite, { schema: options.schema, ...(onQuery ? { logger: { logQuery: (query: string) => onQuery(query) } } : {}) });
  migrate(db, { migrationsFolder: options.migrationsFolder });
  return {
    db,
    sqlite,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}

/** The health probe of a SQLite database, its statement prepared once: true while the database answers. */
export function sqliteHealth(sqlite: Database.Database): () => Promise<boolean> {
  const probe = sqlite.prepare('select 1');
  return async () => {
    try {
      return probe.get() !== undefined;
    } catch {
      return false;
    }
  };
}

/**
 * Runs an atomic step in an immediate transaction: SQLite's write lock is taken before the first read, so steps run
 * one after another (between processes on the file too), and a step's reads are never stale by the time it writes.
 */
export function immediately<T>(database: SqliteDatabase<Record<string, unknown>>, run: () => T): T {
  return database.db.transaction(run, { behavior: 'immediate' });
}
