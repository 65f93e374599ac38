import { createHash } from 'node:crypto';
import { and, eq, lte, sql } from 'drizzle-orm';
import session from 'express-session';
import type {} from './sessions.js';
import type { Db } from '../db/client.js';
import { sessions } from '../db/schema.js';
import { assertStillHolds } from './credential-version.js';

/**
 * Rows are keyed by the SHA-256 of the session id: a copy of the database holds no id a browser could present. The id
 * is 24 random bytes from express-session (uid-safe), so an unsalted hash is enough.
 */
function rowKey(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url');
}

type Callback<T = void> = (err?: unknown, value?: T) => void;

/**
 * express-session's store in the gym's own SQLite database (never MemoryStore: sessions must survive a restart
 * and be ended from anywhere, e.g. when a member is suspended). Expiry is enforced on read, not only by the
 * sweep, so a session is dead the moment its deadline passes.
 */
export class SqliteSessionStore extends session.Store {
  private sweeper: NodeJS.Timeout | undefined;
  private readonly expiryOf: (data: session.SessionData) => number;
  /** Read on every request that carries a session cookie, and the write of recorded activity: prepared once. */
  private readonly byId;
  private readonly activity;

  constructor(
    private readonly db: Db,
    options: {
      /** When a session's row expires, from its data: {@link Sessions} owns the timeouts and says. */
      expiryOf: (data: session.SessionData) => number;
      sweepIntervalMs?: number;
    },
  ) {
    super();
    this.expiryOf = options.expiryOf;
    this.byId = db.select().from(sessions).where(eq(sessions.sid, sql.placeholder('sid'))).prepare();
    this.activity = db
      .update(sessions)
      .set({ data: sql`${sql.placeholder('data')}`, expiresAt: sql`${sql.placeholder('expiresAt')}` })
      .where(and(eq(sessions.sid, sql.placeholder('sid')), eq(sessions.memberId, sql.placeholder('memberId'))))
      .prepare();
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10 * 60_000);
    // The sweep is housekeeping only: it must never keep the process (or a test run) alive.
    this.sweeper.unref();
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    try {
      callback(undefined, this.read(sid));
    } catch (err) {
      callback(err);
    }
  }

  /** The live session `sid` names, or null; a row past its expiry is deleted as it is found. */
  read(sid: string): session.SessionData | null {
    const row = this.byId.get({ sid: rowKey(sid) });
    if (!row) return null;
    if (row.expiresAt <= Date.now()) {
      this.destroyNow(sid);
      return null;
    }
    return JSON.parse(row.data) as session.SessionData;
  }

  /** Deletes one session at once (its deadline passed, or its member may no longer sign in). */
  destroyNow(sid: string): void {
    this.db.delete(sessions).where(eq(sessions.sid, rowKey(sid))).run();
  }

  /**
   * Stores a session express-session has just started (at login, under a new id from regenerate). It never rewrites a
   * stored row: activity is recorded by {@link recordActivity}, an UPDATE that cannot recreate a row deleted meanwhile,
   * so express-session has nothing else to save.
   */
  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    try {
      // Checked and written in one immediate transaction: a password change or suspension either comes first (and
      // this sign-in is refused) or after (and ends this session with the others).
      this.db.transaction(
        (tx) => {
          assertStillHolds(tx, data.memberId, data.ver);
          tx.insert(sessions)
            .values({ sid: rowKey(sid), memberId: data.memberId, data: JSON.stringify(data), expiresAt: this.expiryOf(data) })
            .onConflictDoNothing({ target: sessions.sid })
            .run();
        },
        { behavior: 'immediate' },
      );
      callback?.();
    } catch (err) {
      callback?.(err);
    }
  }

  /**
   * Records a session's activity: its data and its new expiry, only if the row is still there and still the member's.
   * False when it is gone (ended meanwhile).
   */
  recordActivity(sid: string, memberId: number, data: session.SessionData, expiresAt: number): boolean {
    return this.activity.run({ sid: rowKey(sid), memberId, data: JSON.stringify(data), expiresAt }).changes === 1;
  }

  override destroy(sid: string, callback?: Callback): void {
    try {
      this.destroyNow(sid);
      callback?.();
    } catch (err) {
      callback?.(err);
    }
  }

  /** Ends every session of a member (logout everywhere, a password change, a suspension). Returns how many ended. */
  destroyAllFor(memberId: number): number {
    return this.db.delete(sessions).where(eq(sessions.memberId, memberId)).run().changes;
  }

  /** Deletes expired rows. */
  sweep(now = Date.now()): void {
    try {
      this.db.delete(sessions).where(lte(sessions.expiresAt, now)).run();
    } catch {
      // The database may already be closed during shutdown; the next start sweeps again.
    }
  }

  /** Stops the sweep timer (tests, shutdown). */
  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
