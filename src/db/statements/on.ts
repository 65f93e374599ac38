import { and, asc, desc, eq, lt, sql } from 'drizzle-orm';
import type { Db, Dialect, Prepared, Tables } from '../dialect.js';

/**
 * Where the gym's statements run: a database (the pool or one connection on PostgreSQL, the one connection on SQLite,
 * or a transaction), its tables, its dialect, and how a statement outside an atomic step waits for one to end.
 */
export interface On {
  readonly db: Db;
  readonly t: Tables;
  readonly d: Dialect;
  /**
   * Runs one statement (a Drizzle query, which runs when awaited): at once, or, on SQLite, after the atomic step that
   * holds the connection (see SqliteGate). Inside a step, and on PostgreSQL, the statement itself.
   */
  run<T>(query: PromiseLike<T>): PromiseLike<T>;
  /** The statements every request runs, prepared (see {@link hotStatements}). */
  readonly hot: Hot;
}

/** The first row, or undefined. */
export const first = <T>(rows: T[]): T | undefined => rows[0];

/** The access sheet's four shapes of filter: one statement each, so that each keeps its own index and plan. */
export type SheetShape = 'all' | 'after' | 'member' | 'memberAfter';

function builders(db: Db, t: Tables, d: Dialect) {
  const { members, memberships, plans, checkIns, sessions } = t;
  const sheet = (member: boolean, cursor: boolean) => () =>
    db
      .select()
      .from(checkIns)
      .where(
        and(
          member ? eq(checkIns.memberId, sql.placeholder('memberId')) : undefined,
          cursor ? lt(checkIns.id, sql.placeholder('beforeId')) : undefined,
        ),
      )
      .orderBy(desc(checkIns.id))
      .limit(sql.placeholder('limit'));
  return {
    membersByIds: () => db.select().from(members).where(d.inList(members.id, 'ids')).orderBy(asc(members.id)),
    memberById: () => db.select().from(members).where(eq(members.id, sql.placeholder('id'))),
    membershipsByMemberIds: () => db.select().from(memberships).where(d.inList(memberships.memberId, 'ids')).orderBy(asc(memberships.memberId)),
    plansByIds: () => db.select().from(plans).where(d.inList(plans.id, 'ids')).orderBy(asc(plans.id)),
    allPlans: () => db.select().from(plans).orderBy(asc(plans.monthlyPriceCents), asc(plans.id)),
    checkInsByIds: () => db.select().from(checkIns).where(d.inList(checkIns.id, 'ids')).orderBy(asc(checkIns.id)),
    sheet_all: sheet(false, false),
    sheet_after: sheet(false, true),
    sheet_member: sheet(true, false),
    sheet_memberAfter: sheet(true, true),
    sessionByKey: () => db.select({ data: sessions.data, expiresAt: sessions.expiresAt }).from(sessions).where(eq(sessions.sid, sql.placeholder('key'))),
    sessionActivity: () =>
      db
        .update(sessions)
        .set({ data: sql`${sql.placeholder('data')}`, expiresAt: sql`${sql.placeholder('expiresAt')}` })
        .where(and(eq(sessions.sid, sql.placeholder('key')), eq(sessions.memberId, sql.placeholder('memberId'))))
        .returning({ sid: sessions.sid }),
  };
}

type Builders = ReturnType<typeof builders>;
type Rows<B> = B extends () => PromiseLike<infer R> ? R : never;
/** The prepared hot statements, by name. */
export type Hot = { readonly [K in keyof Builders]: Prepared<Rows<Builders[K]>> };

/**
 * The statements every request runs (authentication, `me`, the access sheet and its relations), each prepared the
 * first time it runs instead of being built and compiled on every call: on SQLite once, on its one connection; on
 * PostgreSQL's pool under its own name (PostgreSQL parses and plans it once per connection); in a PostgreSQL
 * transaction unnamed, on the transaction's connection (`named` false).
 */
export function hotStatements(db: Db, t: Tables, d: Dialect, named: boolean): Hot {
  const build = builders(db, t, d);
  const hot: Partial<Record<keyof Builders, Prepared<unknown>>> = {};
  const out = {} as Hot;
  for (const key of Object.keys(build) as (keyof Builders)[]) {
    Object.defineProperty(out, key, {
      get: () => (hot[key] ??= d.prepare(build[key]() as never, named ? `keycard_${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}` : undefined)),
    });
  }
  return out;
}
