import { GYM_MIGRATIONS_DIR } from '../shared/paths.js';
import { openSqlite, SqliteGate, sqliteHealth, type SqliteDatabase } from '../shared/sqlite.js';
import { direct } from '../shared/statements.js';
import type { GymData, GymQueries } from './data.js';
import { SQLITE, SQLITE_TABLES } from './dialect.js';
import * as schema from './schema.js';
import { gymStatements, hotStatements } from './statements/index.js';

/**
 * The gym's data on a SQLite file (or `:memory:`): the embedded default, nothing else to run. One connection serves
 * every statement and every atomic step, through a {@link SqliteGate}: statements outside a step wait while one is
 * open, and steps run one at a time. The hot statements are prepared once, on that connection, and shared by the steps.
 */
export class SqliteGymData implements GymData {
  readonly engine = 'sqlite' as const;
  readonly notifications = null;
  readonly rateLimitStore;
  readonly healthy: () => Promise<boolean>;
  readonly members: GymQueries['members'];
  readonly plans: GymQueries['plans'];
  readonly memberships: GymQueries['memberships'];
  readonly checkIns: GymQueries['checkIns'];
  readonly sessions: GymQueries['sessions'];
  readonly refresh: GymQueries['refresh'];
  readonly throttle: GymQueries['throttle'];
  readonly oidc: GymQueries['oidc'];
  readonly secrets: GymQueries['secrets'];
  private readonly gate: SqliteGate;
  /** The same statements, run straight on the connection: what a step, which holds it, runs. */
  private readonly inStep: GymQueries;

  constructor(
    /** The open file, for what only SQLite has (tests that age rows, the copy to PostgreSQL). */
    readonly sqlite: SqliteDatabase<typeof schema>,
  ) {
    const { db } = sqlite;
    this.gate = new SqliteGate(sqlite.sqlite);
    const hot = hotStatements(db, SQLITE_TABLES, SQLITE, false);
    const on = { db, t: SQLITE_TABLES, d: SQLITE, hot };
    const outside = gymStatements({ ...on, run: (query) => this.gate.run(query) });
    this.inStep = gymStatements({ ...on, run: direct });
    ({ members: this.members, plans: this.plans, memberships: this.memberships, checkIns: this.checkIns } = outside);
    ({ sessions: this.sessions, refresh: this.refresh, throttle: this.throttle, oidc: this.oidc, secrets: this.secrets } = outside);
    this.rateLimitStore = { storeClient: this.gate.client(db), schema: SQLITE_TABLES.rateLimits };
    this.healthy = sqliteHealth(sqlite.sqlite);
  }

  /** An immediate transaction, the connection the step's alone (see {@link SqliteGate.atomically}). */
  atomically<T>(step: (tx: GymQueries) => Promise<T>): Promise<T> {
    return this.gate.atomically(() => step(this.inStep));
  }

  async close(): Promise<void> {
    this.sqlite.close();
  }
}

/** Opens the gym's SQLite database and applies every migration in `drizzle/gym/sqlite`. */
export function openSqliteGymData(url: string, options: { onQuery?: (sql: string) => void } = {}): SqliteGymData {
  return new SqliteGymData(openSqlite(url, { schema, migrationsFolder: GYM_MIGRATIONS_DIR, ...options }));
}
