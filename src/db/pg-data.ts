import { GYM_PG_MIGRATIONS_DIR } from '../shared/paths.js';
import { openPostgres, postgresHealth, serializable, type PostgresDatabase, type QueueOptions } from '../shared/postgres.js';
import { direct } from '../shared/statements.js';
import type { GymData, GymQueries } from './data.js';
import { POSTGRES, PG_TABLES, type Db } from './dialect.js';
import * as pgSchema from './pg-schema.js';
import { gymStatements, hotStatements } from './statements/index.js';

/**
 * The gym's data on PostgreSQL: what several processes (WEB_CONCURRENCY) share. The statements are the SQLite gym's
 * (`statements/`), built on the PostgreSQL tables; the hot ones are prepared under their names on the pool, and run
 * unnamed inside a transaction, on its connection.
 */
export class PgGymData implements GymData {
  readonly engine = 'postgres' as const;
  readonly rateLimitStore;
  readonly notifications;
  readonly members: GymQueries['members'];
  readonly plans: GymQueries['plans'];
  readonly memberships: GymQueries['memberships'];
  readonly checkIns: GymQueries['checkIns'];
  readonly sessions: GymQueries['sessions'];
  readonly refresh: GymQueries['refresh'];
  readonly throttle: GymQueries['throttle'];
  readonly oidc: GymQueries['oidc'];
  readonly secrets: GymQueries['secrets'];

  constructor(private readonly postgres: PostgresDatabase<typeof pgSchema>) {
    const db = postgres.db as unknown as Db;
    const all = gymStatements({ db, t: PG_TABLES, d: POSTGRES, run: direct, hot: hotStatements(db, PG_TABLES, POSTGRES, true) });
    ({ members: this.members, plans: this.plans, memberships: this.memberships, checkIns: this.checkIns } = all);
    ({ sessions: this.sessions, refresh: this.refresh, throttle: this.throttle, oidc: this.oidc, secrets: this.secrets } = all);
    // rate-limiter-flexible's Drizzle store speaks to a node-postgres Drizzle client as it does to a SQLite one.
    this.rateLimitStore = { storeClient: postgres.db, schema: pgSchema.rateLimits };
    this.notifications = { pool: postgres.pool, url: postgres.url };
  }

  /**
   * A serializable transaction: PostgreSQL lets atomic steps run side by side and aborts one whose reads another has
   * since made stale (or that deadlocks); it then runs again, from the start of the step, on the new state. So a step
   * decides as it would running alone, as on SQLite, where steps run one after another.
   */
  atomically<T>(step: (tx: GymQueries) => Promise<T>, options: QueueOptions = {}): Promise<T> {
    return serializable(
      this.postgres,
      (tx) => {
        const db = tx as unknown as Db;
        return step(gymStatements({ db, t: PG_TABLES, d: POSTGRES, run: direct, hot: hotStatements(db, PG_TABLES, POSTGRES, false) }));
      },
      options,
    );
  }

  healthy(): Promise<boolean> {
    return postgresHealth(this.postgres.pool);
  }

  close(): Promise<void> {
    return this.postgres.close();
  }
}

/** Opens the gym's PostgreSQL database and applies every migration in `drizzle/gym/pg`. */
export async function openPgGymData(
  url: string,
  options: { poolSize: number; onQuery?: (sql: string) => void; onError?: (err: Error) => void },
): Promise<PgGymData> {
  return new PgGymData(await openPostgres(url, { schema: pgSchema, migrationsFolder: GYM_PG_MIGRATIONS_DIR, ...options }));
}
