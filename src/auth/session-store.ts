import { createHash } from 'node:crypto';
import session from 'express-session';
import type {} from './sessions.js';
import type { GymData } from '../db/data.js';
import { isPromise, step, thenStep, type Step } from '../shared/steps.js';
import { assertStillHolds } from './credential-version.js';

/**
 * Rows are keyed by the SHA-256 of the session id: a copy of the database holds no id a browser could present. The id
 * is 24 random bytes from express-session (uid-safe), so an unsalted hash is enough.
 */
function rowKey(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url');
}

/** Calls back with a step's answer: at once on SQLite, when it comes on PostgreSQL; errors to the callback. */
function answer<T>(run: () => Step<T>, callback: ((err?: unknown, value?: T) => void) | undefined): void {
  try {
    const result = run();
    if (isPromise(result)) result.then((value) => callback?.(undefined, value), (err: unknown) => callback?.(err));
    else callback?.(undefined, result);
  } catch (err) {
    callback?.(err);
  }
}

type Callback<T = void> = (err?: unknown, value?: T) => void;

/**
 * express-session's store in the gym's own database, whichever the engine (never MemoryStore: sessions must survive a
 * restart, be shared by every instance, and be ended from anywhere, e.g. when a member is suspended). Expiry is
 * enforced on read, not only by the sweep, so a session is dead the moment its deadline passes.
 */
export class SessionStore extends session.Store {
  private readonly expiryOf: (data: session.SessionData) => number;

  constructor(
    private readonly data: GymData,
    options: {
      /** When a session's row expires, from its data: {@link Sessions} owns the timeouts and says. */
      expiryOf: (data: session.SessionData) => number;
    },
  ) {
    super();
    this.expiryOf = options.expiryOf;
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    answer(() => this.read(sid), callback);
  }

  /** The live session `sid` names, or null; a row past its expiry is deleted as it is found. */
  read(sid: string): Step<session.SessionData | null> {
    return thenStep(this.data.sessionByKey(rowKey(sid)), (row) => {
      if (!row) return null;
      if (row.expiresAt <= Date.now()) {
        const deleted = this.destroyNow(sid);
        // Dead either way: if this delete fails, the sweep deletes the row later.
        if (isPromise(deleted)) deleted.catch(() => undefined);
        return null;
      }
      return JSON.parse(row.data) as session.SessionData;
    });
  }

  /** Deletes one session at once (its deadline passed, or its member may no longer sign in). */
  destroyNow(sid: string): Step<void> {
    return this.data.deleteSession(rowKey(sid));
  }

  /**
   * Stores a session express-session has just started (at login, under a new id from regenerate). It never rewrites a
   * stored row: activity is recorded by {@link recordActivity}, an UPDATE that cannot recreate a row deleted meanwhile,
   * so express-session has nothing else to save.
   */
  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    // Checked and written in one atomic step: a password change or suspension either comes first (and this sign-in is
    // refused) or after (and ends this session with the others).
    const record = { key: rowKey(sid), memberId: data.memberId, data: JSON.stringify(data), expiresAt: this.expiryOf(data) };
    answer(
      () =>
        this.data.atomically(function* (q) {
          yield* assertStillHolds(q, data.memberId, data.ver);
          yield* step(q.insertSession(record));
        }),
      callback,
    );
  }

  /**
   * Records a session's activity: its data and its new expiry, only if the row is still there and still the member's.
   * False when it is gone (ended meanwhile).
   */
  recordActivity(sid: string, memberId: number, data: session.SessionData, expiresAt: number): Step<boolean> {
    return this.data.recordSessionActivity({ key: rowKey(sid), memberId, data: JSON.stringify(data), expiresAt });
  }

  override destroy(sid: string, callback?: Callback): void {
    answer(() => this.destroyNow(sid), callback);
  }

  /** Deletes expired rows (housekeeping). */
  sweep(now = Date.now()): Step<void> {
    return this.data.deleteExpiredSessions(now);
  }
}
