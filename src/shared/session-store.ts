import { createHash } from 'node:crypto';
import session from 'express-session';

/**
 * The rows a server-side session store reads and deletes, whichever service and engine holds them (the gym's access
 * sheet, the pool's swimmers): one table keyed by the SHA-256 of the session id, with each row's deadline.
 */
export interface SessionRows {
  byKey(key: string): Promise<{ data: string; expiresAt: number } | undefined>;
  delete(key: string): Promise<void>;
  deleteExpired(now: number): Promise<void>;
}

/**
 * Rows are keyed by the SHA-256 of the session id: a copy of the database holds no id a browser could present. The id
 * is 24 random bytes from express-session (uid-safe), so an unsalted hash is enough.
 */
export function sessionKey(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url');
}

type Callback<T = void> = (err?: unknown, value?: T) => void;

/** Calls back with an answer when it comes; errors to the callback. */
function answer<T>(run: () => Promise<T>, callback: Callback<T> | undefined): void {
  let answered: Promise<T>;
  try {
    answered = run();
  } catch (err) {
    // A throw before the first await (a session that cannot be serialised) is an answer too.
    callback?.(err);
    return;
  }
  answered.then(
    (value) => callback?.(undefined, value),
    (err: unknown) => callback?.(err),
  );
}

/**
 * express-session's store in a service's own database, whichever the engine (never MemoryStore: sessions must survive
 * a restart, be shared by every instance, and be ended from anywhere). Expiry is enforced on read, not only by the
 * sweep, so a session is dead the moment its deadline passes. It has no `touch`, so express-session never writes a
 * session that did not change; a service says how a new session is written ({@link insert}), and never rewrites one
 * through `set`.
 */
export abstract class ServerSessionStore extends session.Store {
  constructor(
    private readonly rows: SessionRows,
    /** When a session's row expires, from its data (ms): the service owns its timeouts and says. */
    protected readonly expiryOf: (data: session.SessionData) => number,
  ) {
    super();
  }

  /**
   * Writes a session express-session has just started (under a new id from regenerate): a row already under that key
   * is left alone, so nothing a request saves late can bring back a session ended meanwhile.
   */
  protected abstract insert(key: string, data: session.SessionData, expiresAt: number): Promise<void>;

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    answer(() => this.read(sid), callback);
  }

  /** The live session `sid` names, or null; a row past its expiry is deleted as it is found. */
  async read(sid: string): Promise<session.SessionData | null> {
    return this.alive(sid, await this.rows.byKey(sessionKey(sid)));
  }

  /**
   * A row's session while it lives. Past its deadline: null, once the row is deleted, so that nothing finds it again
   * after this answer (should the delete fail, the session is dead all the same, and the sweep deletes the row later).
   */
  private async alive(sid: string, row: { data: string; expiresAt: number } | undefined): Promise<session.SessionData | null> {
    if (!row) return null;
    if (row.expiresAt > Date.now()) return JSON.parse(row.data) as session.SessionData;
    await this.destroyNow(sid).catch(() => undefined);
    return null;
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    answer(() => this.insert(sessionKey(sid), data, this.expiryOf(data)), callback);
  }

  /** Deletes one session at once (its deadline passed, its owner signed out, or may no longer sign in). */
  destroyNow(sid: string): Promise<void> {
    return this.rows.delete(sessionKey(sid));
  }

  override destroy(sid: string, callback?: Callback): void {
    answer(() => this.destroyNow(sid), callback);
  }

  /** Deletes expired rows (housekeeping: a dead session is refused on read whether or not it was swept). */
  sweep(now = Date.now()): Promise<void> {
    return this.rows.deleteExpired(now);
  }
}
