import { POOL_PG_MIGRATIONS_DIR } from '../../shared/paths.js';
import { openPostgres, postgresHealth, serializable, type PostgresDatabase, type QueueOptions } from '../../shared/postgres.js';
import { direct, StepStatements } from '../../shared/statements.js';
import type { PoolData, PoolQueries } from './data.js';
import * as pgSchema from './pg-schema.js';
import { PG_TABLES, poolStatements, type PoolDb } from './statements.js';

/** The pool's data on PostgreSQL: what several pool processes share. Its statements are the SQLite pool's. */
export class PgPoolData implements PoolData {
  readonly engine = 'postgres' as const;
  readonly visits: PoolData['visits'];
  readonly sessions: PoolData['sessions'];

  constructor(private readonly postgres: PostgresDatabase<typeof pgSchema>) {
    const db = postgres.db as unknown as PoolDb;
    ({ visits: this.visits, sessions: this.sessions } = poolStatements({ db, t: PG_TABLES, engine: 'postgres', run: direct, named: true }));
  }

  /**
   * A serializable transaction: two admissions of one swimmer at once both read "no recent visit", and PostgreSQL
   * aborts one of them before both can insert; run again, it finds the other's visit and gives that back.
   */
  atomically<T>(step: (tx: PoolQueries) => Promise<T>, options: QueueOptions = {}): Promise<T> {
    return serializable(
      this.postgres,
      (tx) => {
        const statements = new StepStatements();
        return statements.settle(() => step(poolStatements({ db: tx as unknown as PoolDb, t: PG_TABLES, engine: 'postgres', run: statements.run, named: false })));
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

/** Opens the pool's PostgreSQL database and applies its migrations in `drizzle/pool/pg`. */
export async function openPgPoolData(url: string, options: { poolSize: number; onError?: (err: Error) => void }): Promise<PgPoolData> {
  return new PgPoolData(await openPostgres(url, { schema: pgSchema, migrationsFolder: POOL_PG_MIGRATIONS_DIR, ...options }));
}
