import { desc, eq, lte, sql } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { prepare, type Prepared } from '../../shared/statements.js';
import type { PoolQueries, PoolSessionStatements, VisitRow } from './data.js';
import * as pgSchema from './pg-schema.js';
import * as sqliteSchema from './schema.js';

export const SQLITE_TABLES = { visits: sqliteSchema.visits, sessions: sqliteSchema.sessions };
type Tables = typeof SQLITE_TABLES;
/**
 * The same tables on PostgreSQL under the SQLite tables' types, so that each statement is written once: at run time
 * PostgreSQL gets its own tables; test/unit/pg-schema.test.ts holds the two definitions equal.
 */
export const PG_TABLES = { visits: pgSchema.visits, sessions: pgSchema.sessions } as unknown as Tables;

/** The database a statement is built on (a PostgreSQL one, or a transaction, under SQLite's type: see PG_TABLES). */
export type PoolDb = BetterSQLite3Database<typeof sqliteSchema>;

/** Where the pool's statements run (see the gym's `On`: the same shape, for the pool's two tables). */
export interface PoolOn {
  db: PoolDb;
  t: Tables;
  engine: 'sqlite' | 'postgres';
  /** Runs one statement: at once, or on SQLite after the atomic step that holds the connection. */
  run<T>(query: PromiseLike<T>): PromiseLike<T>;
  /** Whether the prepared statements are named (PostgreSQL's pool) or not (a transaction, SQLite). */
  named: boolean;
}

/**
 * Every `visits` read and every page of a signed-in swimmer run these: prepared the first time they run. Built once per
 * database (a SQLite step shares its store's), or per PostgreSQL transaction, where they run unnamed.
 */
export function poolHotStatements({ db, t, engine, named }: Omit<PoolOn, 'run'>) {
  const { visits, sessions } = t;
  const recent = () =>
    db.select({ admittedAt: visits.admittedAt }).from(visits).where(eq(visits.subject, sql.placeholder('subject'))).orderBy(desc(visits.id)).limit(sql.placeholder('limit'));
  const last = () => db.select().from(visits).where(eq(visits.subject, sql.placeholder('subject'))).orderBy(desc(visits.id)).limit(1);
  const session = () => db.select({ data: sessions.data, expiresAt: sessions.expiresAt }).from(sessions).where(eq(sessions.sid, sql.placeholder('key')));
  let prepared: { recent: Prepared<{ admittedAt: Date }[]>; last: Prepared<VisitRow[]>; session: Prepared<{ data: string; expiresAt: number }[]> } | undefined;
  return () =>
    (prepared ??= {
      recent: prepare(engine, recent(), named ? 'pool_recent_visits' : undefined),
      last: prepare(engine, last(), named ? 'pool_last_visit' : undefined),
      session: prepare(engine, session(), named ? 'pool_session_by_key' : undefined),
    });
}

/** The pool's statements, written once for both engines, with their hot ones prepared on `on` unless given. */
export function poolStatements(on: PoolOn, statements = poolHotStatements(on)): PoolQueries & { sessions: PoolSessionStatements } {
  const { db, t, run } = on;
  const { visits, sessions } = t;
  return {
    visits: {
      recent: async (subject, limit) => (await run(statements().recent.execute({ subject, limit }))).map((v) => v.admittedAt),
      last: async (subject) => (await run(statements().last.execute({ subject })))[0],
      insert: async (values) => (await run(db.insert(visits).values(values).returning()))[0]!,
    },
    sessions: {
      byKey: async (key) => (await run(statements().session.execute({ key })))[0],
      insert: async ({ key, subject, data, expiresAt }) => {
        await run(db.insert(sessions).values({ sid: key, subject, data, expiresAt }).onConflictDoNothing({ target: sessions.sid }));
      },
      delete: async (key) => {
        await run(db.delete(sessions).where(eq(sessions.sid, key)));
      },
      deleteExpired: async (now) => {
        await run(db.delete(sessions).where(lte(sessions.expiresAt, now)));
      },
    },
  };
}
