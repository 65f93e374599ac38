import { desc, eq, lte, sql } from 'drizzle-orm';
import type { NodePgQueryResultHKT } from 'drizzle-orm/node-postgres';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import { runAsync, type Script } from '../../shared/steps.js';
import { POOL_PG_MIGRATIONS_DIR } from '../../shared/paths.js';
import { openPostgres, postgresHealth, serializable, type PostgresDatabase, type QueueOptions } from '../../shared/postgres.js';
import type { NewVisit, PoolData, PoolQueries, PoolSessionRecord } from './data.js';
import * as pgSchema from './pg-schema.js';
import { sessions, visits } from './pg-schema.js';

type Schema = typeof pgSchema;
/** The pool's database, or a transaction on one of its connections. */
type Db = PgDatabase<NodePgQueryResultHKT, Schema>;

const recentVisitsOf = (db: Db) =>
  db
    .select({ admittedAt: visits.admittedAt })
    .from(visits)
    .where(eq(visits.subject, sql.placeholder('subject')))
    .orderBy(desc(visits.id))
    .limit(sql.placeholder('limit'));

/** The pool's statements on PostgreSQL, each answering as its SQLite twin does. */
class PgPoolQueries implements PoolQueries {
  /** The `visits` query, prepared under its name on the pool (every history read runs it); none in a transaction. */
  private readonly prepared: ReturnType<ReturnType<typeof recentVisitsOf>['prepare']> | null;

  constructor(
    protected readonly db: Db,
    options: { prepared?: boolean } = {},
  ) {
    this.prepared = options.prepared ? recentVisitsOf(db).prepare('pool_recent_visits') : null;
  }

  async recentVisits(subject: string, limit: number) {
    const rows = await (this.prepared ?? recentVisitsOf(this.db)).execute({ subject, limit });
    return rows.map((v) => v.admittedAt);
  }
  async lastVisit(subject: string) {
    const rows = await this.db.select().from(visits).where(eq(visits.subject, subject)).orderBy(desc(visits.id)).limit(1);
    return rows[0];
  }
  async insertVisit(values: NewVisit) {
    const [row] = await this.db.insert(visits).values(values).returning();
    return row!;
  }
}

/** The pool's data on PostgreSQL: what several pool processes share. */
export class PgPoolData extends PgPoolQueries implements PoolData {
  readonly engine = 'postgres' as const;

  /** Every page of a signed-in swimmer reads its session: prepared under its name on the pool. */
  private readonly sessionRead;

  constructor(private readonly postgres: PostgresDatabase<Schema>) {
    super(postgres.db, { prepared: true });
    this.sessionRead = postgres.db
      .select({ data: sessions.data, expiresAt: sessions.expiresAt })
      .from(sessions)
      .where(eq(sessions.sid, sql.placeholder('key')))
      .prepare('pool_session_by_key');
  }

  async sessionByKey(key: string) {
    const rows = await this.sessionRead.execute({ key });
    return rows[0];
  }
  async insertSession({ key, subject, data, expiresAt }: PoolSessionRecord) {
    await this.db.insert(sessions).values({ sid: key, subject, data, expiresAt }).onConflictDoNothing({ target: sessions.sid });
  }
  async deleteSession(key: string) {
    await this.db.delete(sessions).where(eq(sessions.sid, key));
  }
  async deleteExpiredSessions(now: number) {
    await this.db.delete(sessions).where(lte(sessions.expiresAt, now));
  }

  /**
   * A serializable transaction: two admissions of one swimmer at once both read "no recent visit", and PostgreSQL
   * aborts one of them before both can insert; run again, it finds the other's visit and gives that back.
   */
  atomically<T>(script: (q: PoolQueries) => Script<T>, options: QueueOptions = {}): Promise<T> {
    return serializable(this.postgres, (tx) => runAsync(script(new PgPoolQueries(tx))), options);
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
