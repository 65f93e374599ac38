import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { GYM_MIGRATIONS_DIR } from '../shared/paths.js';
import { openSqlite, type SqliteDatabase } from '../shared/sqlite.js';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema>;
export type GymDatabase = SqliteDatabase<typeof schema>;

/** Opens the gym's database and applies every migration in `drizzle/gym`. */
export function openDatabase(
  url: string,
  options: {
    /** Called with every SQL statement Drizzle runs: the benchmark and the N+1 tests count them. */
    onQuery?: (sql: string) => void;
  } = {},
): GymDatabase {
  return openSqlite(url, { schema, migrationsFolder: GYM_MIGRATIONS_DIR, ...options });
}
