import type { Request, RequestHandler, Response } from 'express';
import { parse as parseCookie } from 'cookie';
import { sign, unsign } from 'cookie-signature';
import session from 'express-session';
import type { GymData } from '../db/data.js';
import { createLoaders } from '../db/loaders.js';
import { stillHolds } from './credential-version.js';
import type { Presented } from '../shared/strategies.js';
import type {} from './session-data.js';
import { SessionStore } from './session-store.js';
import type { GymStrategy } from './viewer.js';
import { realClock, type Clock } from '../shared/clock.js';

export interface SessionsOptions {
  data: GymData;
  /** The first signs, all verify: a new secret can be put in front without signing anyone out. */
  secrets: string[];
  production: boolean;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  /** The time the timeouts count by (the machine's by default). */
  clock?: Pick<Clock, 'now'>;
}

/** What login and logout may do to this request's session, without resolvers touching Express. */
export interface SessionControl {
  /**
   * Signs this request's session in as the member, under a new session id (no fixation), bound to the credential
   * version the sign-in checked. Rejects with CredentialsChangedError when that version is no longer the member's.
   */
  start(memberId: number, credentialVersion: number): Promise<{ expiresAt: Date }>;
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
 * The access sheet, in one object built once from the configuration: reading a request's session, the session
 * strategy, and each request's control (login, logout). It owns these rules:
 *
 * - **A bearer header alone decides.** The bearer strategy comes first, so a request with an Authorization header
 *   never reads its cookie's session (not read, not extended).
 * - **Reading is cheap; express-session starts and ends sessions.** A request's session is read here: the signed
 *   cookie checked with the same secrets and the same signature scheme as express-session's, then one prepared row
 *   read. express-session is loaded (on demand) only to start a session (login) or end one (logout). Activity is
 *   recorded here, by an UPDATE that can never bring back a session ended meanwhile, and the cookie is sent again
 *   with the new expiry. A request without the cookie costs nothing at all.
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
  private readonly store: SessionStore;
  /** The session id each request was recognised by (a request lives as long as its object, and no longer here). */
  private readonly readIds = new WeakMap<Presented, string>();
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly options: SessionsOptions) {
    this.clock = options.clock ?? realClock;
    // The `__Host-` prefix makes browsers refuse the cookie unless it is Secure, has Path=/ and no Domain, so no
    // subdomain or plain-HTTP page can plant or overwrite it (production only: it needs HTTPS).
    this.cookieName = options.production ? '__Host-keycard.sid' : 'keycard.sid';
    this.cookieMarker = `${this.cookieName}=`;
    this.touchIntervalMs = Math.min(MAX_TOUCH_INTERVAL_MS, Math.floor(options.idleTimeoutMs / 10));
    this.store = new SessionStore(options.data, { expiryOf: (data) => this.deadlineOf(data) });
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
   * The front desk checks its sheet: a request whose signed cookie names a live session of an active member. The
   * role and status are read from the member row on every request (through the request's loader, so `me` costs
   * nothing more): a suspension or a role change is felt by sessions at once.
   */
  readonly strategy: GymStrategy = async (req, { loaders, recordActivity = true }) => {
    const found = await this.read(req);
    if (!found?.data.memberId) return null;
    const { sid, data } = found;
    const now = this.clock.now();
    let deadline = this.deadlineOf(data);
    if (now >= deadline) {
      await this.store.destroyNow(sid);
      return null;
    }
    const member = await loaders.memberById.load(data.memberId);
    if (!stillHolds(member, data.ver)) {
      await this.store.destroyNow(sid);
      return null;
    }
    if (recordActivity && now - (data.seenAt ?? data.loginAt ?? 0) >= this.touchIntervalMs) {
      const seen = { ...data, seenAt: now };
      deadline = this.deadlineOf(seen);
      // An UPDATE of the row as it is: if the session was ended meanwhile (logout, logout everywhere, a password
      // change, a suspension), nothing is written, nothing comes back to life, and this request is anonymous.
      if (!(await this.store.recordActivity(sid, member.id, seen, deadline))) return null;
      // Over HTTP the cookie goes out again with the new expiry; a socket has no response to carry it.
      req.res?.cookie(this.cookieName, `s:${sign(sid, this.options.secrets[0]!)}`, { ...this.cookieOptions(), expires: new Date(deadline) });
    }
    this.readIds.set(req, sid);
    return { memberId: member.id, role: member.role, method: 'SESSION', expiresAt: new Date(deadline), scopes: [], signedInAt: new Date(data.loginAt) };
  };

  /**
   * The member this request's session cookie signs in and when they gave their password, or null, judged as the strategy judges it but without
   * recording activity: for the sign-in with the gym, which only asks who is on the access sheet.
   */
  async accessSheetEntry(req: Presented): Promise<{ memberId: number; authTime: number } | null> {
    const viewer = await this.strategy(req, { loaders: createLoaders(this.options.data), recordActivity: false });
    if (!viewer) return null;
    // auth_time is in whole seconds (OpenID Connect Core 2): when the password was given, never later.
    return { memberId: viewer.memberId, authTime: Math.floor((viewer.signedInAt?.getTime() ?? 0) / 1000) };
  }

  /**
   * The session this request's cookie names, or null: no cookie, a signature that none of the secrets made (a
   * tampered or foreign cookie), or no live row. express-session's own cookie format: `s:` + id + `.` + HMAC. Null at
   * once, without a promise, when there is no signed cookie to look up.
   */
  private read(req: Presented): Promise<{ sid: string; data: session.SessionData } | null> | null {
    const header = req.headers.cookie;
    if (header === undefined || !header.includes(this.cookieMarker)) return null;
    const raw = parseCookie(header)[this.cookieName];
    if (!raw?.startsWith('s:')) return null;
    let sid: string | false = false;
    for (const secret of this.options.secrets) {
      sid = unsign(raw.slice(2), secret);
      if (sid !== false) break;
    }
    if (sid === false) return null;
    const id = sid;
    return this.store.read(id).then((data) => (data ? { sid: id, data } : null));
  }

  /** Runs express-session for this request, if it has not run yet: only when the session is about to change. */
  private async load(req: Request, res: Response): Promise<void> {
    if (!req.session) await promisify((cb) => this.expressSession(req, res, cb))();
  }

  /** This request's session, as login and logout see it. */
  control(req: Request, res: Response): SessionControl {
    return {
      start: async (memberId, credentialVersion) => {
        await this.load(req, res);
        // A new id on every sign-in: a session id planted or seen before login is worthless after it.
        await promisify((cb) => req.session.regenerate(cb))();
        const now = this.clock.now();
        req.session.memberId = memberId;
        req.session.loginAt = now;
        req.session.seenAt = now;
        req.session.ver = credentialVersion;
        try {
          await promisify((cb) => req.session.save(cb))();
        } catch (err) {
          // Not stored (the member's credentials changed meanwhile): no cookie for it, and nothing saved at the end.
          await promisify((cb) => req.session.destroy(cb))();
          throw err;
        }
        return { expiresAt: new Date(this.deadlineOf(req.session)) };
      },
      end: async () => {
        // No session read: a bearer token decided this request (its cookie is ignored, not cleared), or none was sent.
        if (!req.session && !this.readIds.has(req)) return false;
        await this.load(req, res);
        const had = Boolean(req.session.memberId);
        await promisify((cb) => req.session.destroy(cb))();
        res.clearCookie(this.cookieName, this.cookieOptions());
        return had;
      },
      currentId: () => (req.session ? (req.session.memberId ? req.sessionID : undefined) : this.readIds.get(req)),
    };
  }

  /** Deletes expired sessions (housekeeping: a dead session is refused on read whether or not it was swept). */
  sweep(): Promise<void> {
    return this.store.sweep(this.clock.now());
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
