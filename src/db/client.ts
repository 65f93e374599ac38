import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { GYM_MIGRATIONS_DIR } from '../paths.js';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema>;

/** An open gym database: Drizzle for queries, the raw handle for pragmas, health checks and closing. */
export interface GymDatabase {
  db: Db;
  sqlite: Database.Database;
  close(): void;
}

/**
 * Opens (creating its folder if needed) the SQLite database at `url`, or an in-memory one for `:memory:`,
 * and applies every migration in `drizzle/gym`. WAL lets readers go on while a writer commits; foreign keys
 * are off by default in SQLite and must be asked for on every connection.
 */
export function openDatabase(
  url: string,
  options: {
    migrationsFolder?: string;
    /** Called with every SQL statement Drizzle runs: the benchmark and the N+1 tests count them. */
    onQuery?: (sql: string) => void;
  } = {},
): GymDatabase {
  if (url !== ':memory:') mkdirSync(path.dirname(path.resolve(url)), { recursive: true });
  const sqlite = new Database(url);
  if (url !== ':memory:') sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  const onQuery = options.onQuery;
  const db = drizzle(sqlite, { schema, ...(onQuery ? { logger: { logQuery: (query: string) => onQuery(query) } } : {}) });
  migrate(db, { migrationsFolder: options.migrationsFolder ?? GYM_MIGRATIONS_DIR });
  return {
    db,
    sqlite,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}
