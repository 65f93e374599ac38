import { POOL_MIGRATIONS_DIR } from '../../shared/paths.js';
import { openSqlite, SqliteGate, sqliteHealth, type SqliteDatabase } from '../../shared/sqlite.js';
import type { PoolData, PoolQueries } from './data.js';
import * as schema from './schema.js';
import { poolHotStatements, poolStatements, SQLITE_TABLES } from './statements.js';

/**
 * The pool's data on SQLite: one connection for every statement and every atomic step, through a {@link SqliteGate}
 * (statements outside a step wait while one is open; steps run one at a time).
 */
export class SqlitePoolData implements PoolData {
  readonly engine = 'sqlite' as const;
  readonly healthy: () => Promise<boolean>;
  readonly visits: PoolData['visits'];
  readonly sessions: PoolData['sessions'];
  private readonly gate: SqliteGate;
  /** Where the statements run: a step's own are built on it with the step's `run` (see SqliteGate.atomically). */
  private readonly on;
  /** The hot statements, prepared once on the one connection, for the store and its steps alike. */
  private readonly hot;

  constructor(
    /** The open file, for what only SQLite has (tests that age rows). */
    readonly sqlite: SqliteDatabase<typeof schema>,
  ) {
    this.gate = new SqliteGate(sqlite.sqlite);
    const on = { db: sqlite.db, t: SQLITE_TABLES, engine: 'sqlite' as const, named: false };
    this.on = on;
    this.hot = poolHotStatements(on);
    ({ visits: this.visits, sessions: this.sessions } = poolStatements({ ...on, run: (query) => this.gate.run(query) }, this.hot));
    this.healthy = sqliteHealth(sqlite.sqlite);
  }

  /** An immediate transaction, the connection the step's alone (see {@link SqliteGate.atomically}). */
  atomically<T>(step: (tx: PoolQueries) => Promise<T>): Promise<T> {
    return this.gate.atomically((run) => step(poolStatements({ ...this.on, run }, this.hot)));
  }

  async close(): Promise<void> {
    this.sqlite.close();
  }
}

/** The pool's own SQLite file (or `:memory:`), with its own migrations in `drizzle/pool/sqlite`. */
export function openSqlitePoolData(url: string): SqlitePoolData {
  return new SqlitePoolData(openSqlite(url, { schema, migrationsFolder: POOL_MIGRATIONS_DIR }));
}
