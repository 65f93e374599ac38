import type session from 'express-session';
import type { GymData } from '../db/data.js';
import { ServerSessionStore, sessionKey } from '../shared/session-store.js';
import { assertStillHolds } from './credential-version.js';
import type {} from './session-data.js';

/**
 * The access sheet's store: express-session's rows in the gym's own database (the shared {@link ServerSessionStore}:
 * ids hashed, expiry enforced on read), each row bound to its member, so that every session of a member can be ended
 * from anywhere, e.g. when a member is suspended.
 */
export class SessionStore extends ServerSessionStore {
  constructor(
    private readonly data: GymData,
    options: {
      /** When a session's row expires, from its data: {@link Sessions} owns the timeouts and says. */
      expiryOf: (data: session.SessionData) => number;
    },
  ) {
    super(data.sessions, options.expiryOf);
  }

  /**
   * Stores a session express-session has just started (at login, under a new id from regenerate). It never rewrites a
   * stored row: activity is recorded by {@link recordActivity}, an UPDATE that cannot recreate a row deleted meanwhile,
   * so express-session has nothing else to save.
   */
  protected insert(key: string, data: session.SessionData, expiresAt: number): Promise<void> {
    // Checked and written in one atomic step: a password change or suspension either comes first (and this sign-in is
    // refused) or after (and ends this session with the others).
    const record = { key, memberId: data.memberId, data: JSON.stringify(data), expiresAt };
    return this.data.atomically(async (tx) => {
      await assertStillHolds(tx, data.memberId, data.ver);
      await tx.sessions.insert(record);
    });
  }

  /**
   * Records a session's activity: its data and its new expiry, only if the row is still there and still the member's.
   * False when it is gone (ended meanwhile).
   */
  recordActivity(sid: string, memberId: number, data: session.SessionData, expiresAt: number): Promise<boolean> {
    return this.data.sessions.recordActivity({ key: sessionKey(sid), memberId, data: JSON.stringify(data), expiresAt });
  }
}
