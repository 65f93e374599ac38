import { isPostgresUrl } from '../shared/postgres.js';
import type { GymData } from './data.js';
import { openPgGymData } from './pg-data.js';
import { openSqliteGymData } from './sqlite-data.js';

export type { GymData };

export interface OpenOptions {
  /** Connections in the PostgreSQL pool of this process (DATABASE_POOL_SIZE); SQLite has one. */
  poolSize?: number;
  /** Called with every SQL statement run: the benchmark and the N+1 tests count them. */
  onQuery?: (sql: string) => void;
  /** Told when an idle PostgreSQL connection fails (the server restarting, a proxy closing it); it is dropped. */
  onError?: (err: Error) => void;
}

/**
 * Opens the gym's database on the engine its URL names, once, at start, and applies that engine's migrations
 * (`drizzle/gym/pg` or `drizzle/gym/sqlite`): PostgreSQL for `postgres://` and `postgresql://`, else a SQLite file (or
 * `:memory:`).
 */
export async function openDatabase(url: string, options: OpenOptions = {}): Promise<GymData> {
  if (isPostgresUrl(url)) {
    const { onQuery, onError } = options;
    return openPgGymData(url, { poolSize: options.poolSize ?? 10, ...(onQuery ? { onQuery } : {}), ...(onError ? { onError } : {}) });
  }
  return openSqliteGymData(url, options.onQuery ? { onQuery: options.onQuery } : {});
}
