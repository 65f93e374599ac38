import { GYM_MIGRATIONS_DIR } from '../shared/paths.js';
import { openSqlite, SqliteGate, sqliteHealth, type SqliteDatabase } from '../shared/sqlite.js';
import type { GymData, GymQueries } from './data.js';
import { SQLITE, SQLITE_TABLES } from './dialect.js';
import * as schema from './schema.js';
import { GymStatements, hotStatements } from './statements/index.js';

/**
 * The gym's data on a SQLite file (or `:memory:`): the embedded default, nothing else to run. One connection serves
 * every statement and every atomic step, through a {@link SqliteGate}: statements outside a step wait while one is
 * open, and steps run one at a time. The hot statements are prepared once, on that connection, and shared by the steps.
 */
export class SqliteGymData extends GymStatements implements GymData {
  readonly engine = 'sqlite' as const;
  readonly notifications = null;
  readonly rateLimitStore;
  readonly healthy: () => Promise<boolean>;
  private readonly gate: SqliteGate;
  /** Where the statements run: a step's own are built on it with the step's `run` (see SqliteGate.atomically). */
  private readonly on;

  constructor(
    /** The open file, for what only SQLite has (tests that age rows, the copy to PostgreSQL). */
    readonly sqlite: SqliteDatabase<typeof schema>,
  ) {
    const { db } = sqlite;
    const gate = new SqliteGate(sqlite.sqlite);
    const on = { db, t: SQLITE_TABLES, d: SQLITE, hot: hotStatements(db, SQLITE_TABLES, SQLITE, false) };
    super({ ...on, run: (query) => gate.run(query) });
    this.gate = gate;
    this.on = on;
    this.rateLimitStore = { storeClient: gate.client(db), schema: SQLITE_TABLES.rateLimits };
    this.healthy = sqliteHealth(sqlite.sqlite);
  }

  /** An immediate transaction, the connection the step's alone (see {@link SqliteGate.atomically}). */
  atomically<T>(step: (tx: GymQueries) => Promise<T>): Promise<T> {
    return this.gate.atomically((run) => step(new GymStatements({ ...this.on, run })));
  }

  async close(): Promise<void> {
    this.sqlite.close();
  }
}

/** Opens the gym's SQLite database and applies every migration in `drizzle/gym/sqlite`. */
export function openSqliteGymData(url: string, options: { onQuery?: (sql: string) => void } = {}): SqliteGymData {
  return new SqliteGymData(openSqlite(url, { schema, migrationsFolder: GYM_MIGRATIONS_DIR, ...options }));
}
