import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { POOL_MIGRATIONS_DIR } from '../../shared/paths.js';
import { openSqlite, type SqliteDatabase } from '../../shared/sqlite.js';
import * as schema from './schema.js';

export type PoolDb = BetterSQLite3Database<typeof schema>;
export type PoolDatabase = SqliteDatabase<typeof schema>;

/** The pool's own SQLite file, with its own migrations in `drizzle/pool/sqlite`. It never opens the gym's. */
export function openPoolDatabase(url: string): PoolDatabase {
  return openSqlite(url, { schema, migrationsFolder: POOL_MIGRATIONS_DIR });
}
