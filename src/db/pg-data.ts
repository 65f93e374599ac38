import { GYM_PG_MIGRATIONS_DIR } from '../shared/paths.js';
import { openPostgres, postgresHealth, serializable, type PostgresDatabase, type QueueOptions } from '../shared/postgres.js';
import { direct, StepStatements } from '../shared/statements.js';
import type { GymData, GymQueries } from './data.js';
import { POSTGRES, PG_TABLES, type Db } from './dialect.js';
import * as pgSchema from './pg-schema.js';
import { GymStatements, hotStatements } from './statements/index.js';

/** The statements on a PostgreSQL database or transaction, their hot ones prepared under their names or unnamed. */
const on = (db: Db, named: boolean, run = direct) => ({ db, t: PG_TABLES, d: POSTGRES, run, hot: hotStatements(db, PG_TABLES, POSTGRES, named) });

/**
 * The gym's data on PostgreSQL: what several processes (WEB_CONCURRENCY) share. The statements are the SQLite gym's
 * (`statements/`), built on the PostgreSQL tables; the hot ones are prepared under their names on the pool, and run
 * unnamed inside a transaction, on its connection.
 */
export class PgGymData extends GymStatements implements GymData {
  readonly engine = 'postgres' as const;
  readonly rateLimitStore;
  readonly notifications;

  constructor(private readonly postgres: PostgresDatabase<typeof pgSchema>) {
    super(on(postgres.db as unknown as Db, true));
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
        const statements = new StepStatements();
        return statements.settle(() => step(new GymStatements(on(tx as unknown as Db, false, statements.run))));
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
  options: { poolSize: number; onError?: (err: Error) => void; onQuery?: (sql: string) => void },
): Promise<PgGymData> {
  return new PgGymData(await openPostgres(url, { schema: pgSchema, migrationsFolder: GYM_PG_MIGRATIONS_DIR, ...options }));
}
