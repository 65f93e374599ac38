import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { POOL_MIGRATIONS_DIR } from '../../shared/paths.js';
import { isPostgresUrl } from '../../shared/postgres.js';
import { openSqlite, type SqliteDatabase } from '../../shared/sqlite.js';
import type { PoolData } from './data.js';
import { openPgPoolData } from './pg-data.js';
import * as schema from './schema.js';
import { openSqlitePoolData } from './sqlite-data.js';

export type { PoolData };
export type PoolDb = BetterSQLite3Database<typeof schema>;
export type PoolDatabase = SqliteDatabase<typeof schema>;

/** The pool's own SQLite file, with its own migrations in `drizzle/pool/sqlite`, opened bare (no statements). */
export function openPoolDatabase(url: string): PoolDatabase {
  return openSqlite(url, { schema, migrationsFolder: POOL_MIGRATIONS_DIR });
}

/**
 * Opens the pool's database on the engine its URL names, once, at start, and applies that engine's migrations:
 * PostgreSQL for `postgres://` and `postgresql://`, else a SQLite file (or `:memory:`). It never opens the gym's.
 */
export async function openPoolData(url: string, options: { poolSize: number; onError?: (err: Error) => void }): Promise<PoolData> {
  if (isPostgresUrl(url)) return openPgPoolData(url, options);
  return openSqlitePoolData(url);
}
