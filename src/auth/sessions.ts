import type { Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import type { Db } from '../db/client.js';
import { SqliteSessionStore } from './session-store.js';
import type { GymStrategy } from './viewer.js';

declare module 'express-session' {
  interface SessionData {
    /** The signed-in member; absent on a session that never signed in. */
    memberId: number;
    /** When this session signed in (ms): the absolute timeout counts from here and is never extended. */
    loginAt: number;
    /** The last activity recorded (ms): the idle timeout counts from here. Recorded at most every touch interval. */
    seenAt: number;
  }
}

export interface SessionsOptions {
  db: Db;
  /** The first signs, all verify: a new secret can be put in front without signing anyone out. */
  secrets: string[];
  production: boolean;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
}

/** What login and logout may do to this request's session, without resolvers touching Express. */
export interface SessionControl {
  /** Signs this request's session in as the member, under a new session id (no fixation). */
  start(memberId: number): Promise<{ expiresAt: Date }>;
  /** Ends this request's session, server-side, and clears the cookie. True when there was one. */
  end(): Promise<boolean>;
  /** The id of this request's signed-in session, if any. */
  currentId(): string | undefined;
}

/** At most this often is a session's activity written back: a busy session costs one read a request, not a write. */
const MAX_TOUCH_INTERVAL_MS = 60_000;

const promisify =
  (fn: (cb: (err?: unknown) => void) => void) =>
  (): Promise<void> =>
    new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

/**
 * The access sheet, in one object built once from the configuration: the express-session middleware, the session
 * strategy, and each request's control (login, logout). It owns three rules:
 *
 * - **A bearer header alone decides.** A request with an Authorization header never loads its cookie's session
 *   (not read, not extended); {@link SessionControl.start} loads it on demand if such a request signs in by session.
 * - **No cookie, no work.** express-session runs only for a request that carries Keycard's session cookie.
 * - **Timeouts in one place**: {@link Sessions.deadlineOf}. A session ends at the earlier of its idle deadline (last
 *   recorded activity + idle timeout) and its absolute one (login + absolute timeout, never extended). The store
 *   writes that deadline with every save and refuses a row past it; the strategy checks it again with the current
 *   configuration. Activity is recorded when it moves the idle deadline by more than the touch interval (a minute,
 *   or a tenth of a short idle timeout), so a session can end up to one interval before "exactly idle", never after.
 */
export class Sessions {
  readonly cookieName: string;
  /** How far the idle deadline must move before the session is written back (and its cookie sent again). */
  readonly touchIntervalMs: number;
  private readonly expressSession: RequestHandler;
  private readonly cookieMarker: string;
  private readonly store: SqliteSessionStore;

  constructor(private readonly options: SessionsOptions) {
    // The `__Host-` prefix makes browsers refuse the cookie unless it is Secure, has Path=/ and no Domain, so no
    // subdomain or plain-HTTP page can plant or overwrite it (production only: it needs HTTPS).
    this.cookieName = options.production ? '__Host-keycard.sid' : 'keycard.sid';
    this.cookieMarker = `${this.cookieName}=`;
    this.touchIntervalMs = Math.min(MAX_TOUCH_INTERVAL_MS, Math.floor(options.idleTimeoutMs / 10));
    this.store = new SqliteSessionStore(options.db, { expiryOf: (data) => this.deadlineOf(data) });
    this.expressSession = session({
      name: this.cookieName,
      secret: options.secrets,
      store: this.store,
      // Sessions only for members who signed in; written only when something changed (login, recorded activity).
      resave: false,
      saveUninitialized: false,
      // Not rolling: the cookie is sent again when activity is recorded, which is when the server's deadline moves.
      rolling: false,
      unset: 'destroy',
      cookie: { ...this.cookieOptions(), maxAge: options.idleTimeoutMs },
    });
  }

  /** When a session ends: the earlier of its idle and absolute deadlines (ms). */
  deadlineOf(data: Partial<session.SessionData>): number {
    const loginAt = data.loginAt ?? 0;
    const seenAt = data.seenAt ?? loginAt;
    return Math.min(seenAt + this.options.idleTimeoutMs, loginAt + this.options.absoluteTimeoutMs);
  }

  /**
   * The middleware on `/graphql`: express-session for a request that carries the session cookie and no
   * Authorization header; nothing at all for every other request.
   */
  readonly middleware: RequestHandler = (req, res, next) => {
    if (req.headers.authorization !== undefined || !req.headers.cookie?.includes(this.cookieMarker)) return next();
    return this.expressSession(req, res, next);
  };

  /**
   * The front desk checks its sheet: a request whose signed cookie names a live session of an active member. The
   * role and status are read from the member row on every request (through the request's loader, so `me` costs
   * nothing more): a suspension or a role change is felt by sessions at once.
   */
  readonly strategy: GymStrategy = async (req, { loaders }) => {
    const s = req.session;
    if (!s?.memberId) return null;
    const now = Date.now();
    const end = () => promisify((cb) => s.destroy(cb))();
    if (now >= this.deadlineOf(s)) {
      await end();
      return null;
    }
    const member = await loaders.memberById.load(s.memberId);
    if (!member || member.status !== 'ACTIVE') {
      await end();
      return null;
    }
    // Recording the activity modifies the session, so express-session saves it (with its new deadline) and sends the
    // cookie again when the response goes out.
    if (now - (s.seenAt ?? s.loginAt ?? 0) >= this.touchIntervalMs) s.seenAt = now;
    return { memberId: member.id, role: member.role, method: 'SESSION', expiresAt: new Date(this.deadlineOf(s)), scopes: [] };
  };

  /** This request's session, as login and logout see it. */
  control(req: Request, res: Response): SessionControl {
    return {
      start: async (memberId) => {
        // Skipped by the middleware (a bearer header, or no cookie yet): load it now, as this request signs in.
        if (!req.session) await promisify((cb) => this.expressSession(req, res, cb))();
        // A new id on every sign-in: a session id planted or seen before login is worthless after it.
        await promisify((cb) => req.session.regenerate(cb))();
        const now = Date.now();
        req.session.memberId = memberId;
        req.session.loginAt = now;
        req.session.seenAt = now;
        await promisify((cb) => req.session.save(cb))();
        return { expiresAt: new Date(this.deadlineOf(req.session)) };
      },
      end: async () => {
        // No session loaded: a bearer token decided this request (its cookie is ignored, not cleared), or none was sent.
        if (!req.session) return false;
        const had = Boolean(req.session.memberId);
        await promisify((cb) => req.session.destroy(cb))();
        res.clearCookie(this.cookieName, this.cookieOptions());
        return had;
      },
      currentId: () => (req.session?.memberId ? req.sessionID : undefined),
    };
  }

  /**
   * Ends every session of a member (logout everywhere, a password change, a suspension), except `keepSid`, the
   * caller's own session where it should survive. Returns how many ended.
   */
  endAllFor(memberId: number, keepSid?: string): number {
    return this.store.destroyAllFor(memberId, keepSid);
  }

  /** Stops the store's sweep timer. */
  close(): void {
    this.store.close();
  }

  private cookieOptions() {
    return {
      // Scripts never see the session id, so an XSS cannot carry it off.
      httpOnly: true,
      // Lax: sent on top-level navigation, not on cross-site POSTs (with Apollo's CSRF prevention as a second wall).
      sameSite: 'lax' as const,
      path: '/',
      secure: this.options.production,
    };
  }
}
