import { desc, eq, lte, sql } from 'drizzle-orm';
import { runSync, type Script } from '../../shared/steps.js';
import { POOL_MIGRATIONS_DIR } from '../../shared/paths.js';
import { immediately, openSqlite, sqliteHealth, type SqliteDatabase } from '../../shared/sqlite.js';
import type { NewVisit, PoolData, PoolQueries, PoolSessionRecord } from './data.js';
import * as schema from './schema.js';
import { sessions, visits } from './schema.js';

/** The pool's statements on SQLite: every answer at once, on the one connection (inside a transaction and out). */
export class SqlitePoolData implements PoolData {
  readonly engine = 'sqlite' as const;
  readonly healthy: () => Promise<boolean>;
  private readonly prepared;

  constructor(
    /** The open file, for what only SQLite has (tests that age rows). */
    readonly sqlite: SqliteDatabase<typeof schema>,
  ) {
    const db = sqlite.db;
    this.healthy = sqliteHealth(sqlite.sqlite);
    // Every `visits` query and every swim run these: prepared once, at start.
    this.prepared = {
      recentVisits: db
        .select({ admittedAt: visits.admittedAt })
        .from(visits)
        .where(eq(visits.subject, sql.placeholder('subject')))
        .orderBy(desc(visits.id))
        .limit(sql.placeholder('limit'))
        .prepare(),
      lastVisit: db.select().from(visits).where(eq(visits.subject, sql.placeholder('subject'))).orderBy(desc(visits.id)).limit(1).prepare(),
      // Every page of a signed-in swimmer reads its session.
      sessionByKey: db
        .select({ data: sessions.data, expiresAt: sessions.expiresAt })
        .from(sessions)
        .where(eq(sessions.sid, sql.placeholder('key')))
        .prepare(),
    };
  }

  recentVisits(subject: string, limit: number) {
    return this.prepared.recentVisits.all({ subject, limit }).map((v) => v.admittedAt);
  }
  lastVisit(subject: string) {
    return this.prepared.lastVisit.get({ subject });
  }
  insertVisit(values: NewVisit) {
    return this.sqlite.db.insert(visits).values(values).returning().get();
  }

  sessionByKey(key: string) {
    return this.prepared.sessionByKey.get({ key });
  }
  insertSession({ key, subject, data, expiresAt }: PoolSessionRecord) {
    this.sqlite.db.insert(sessions).values({ sid: key, subject, data, expiresAt }).onConflictDoNothing({ target: sessions.sid }).run();
  }
  deleteSession(key: string) {
    this.sqlite.db.delete(sessions).where(eq(sessions.sid, key)).run();
  }
  deleteExpiredSessions(now: number) {
    this.sqlite.db.delete(sessions).where(lte(sessions.expiresAt, now)).run();
  }

  /** An immediate transaction (see {@link immediately}): SQLite's steps never overlap, so they need no queue. */
  atomically<T>(script: (q: PoolQueries) => Script<T>): T {
    return immediately(this.sqlite, () => runSync(script(this)));
  }

  async close(): Promise<void> {
    this.sqlite.close();
  }
}

/** The pool's own SQLite file (or `:memory:`), with its own migrations in `drizzle/pool/sqlite`. */
export function openSqlitePoolData(url: string): SqlitePoolData {
  return new SqlitePoolData(openSqlite(url, { schema, migrationsFolder: POOL_MIGRATIONS_DIR }));
}
