import type { Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import type { GymStrategy } from './viewer.js';
import type { SqliteSessionStore } from './session-store.js';

export interface SessionOptions {
  store: SqliteSessionStore;
  /** The first signs, all verify: a new secret can be put in front without signing anyone out. */
  secrets: string[];
  production: boolean;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
}

/**
 * The `__Host-` prefix makes browsers refuse the cookie unless it is Secure, has Path=/ and no Domain, so no
 * subdomain or plain-HTTP page can plant or overwrite it (production only: it needs HTTPS).
 */
export function sessionCookieName(production: boolean): string {
  return production ? '__Host-keycard.sid' : 'keycard.sid';
}

function cookieOptions(options: Pick<SessionOptions, 'production'>) {
  return {
    // Scripts never see the session id, so an XSS cannot carry it off.
    httpOnly: true,
    // Lax: sent on top-level navigation, not on cross-site POSTs (with Apollo's CSRF prevention as a second wall).
    sameSite: 'lax' as const,
    path: '/',
    secure: options.production,
  };
}

/**
 * express-session configured for Keycard: sessions only for members who signed in (saveUninitialized: false),
 * a sliding idle timeout (rolling cookie, store expiry pushed on every request), the id read only from the signed
 * cookie (express-session never looks at the URL).
 */
export function createSessionMiddleware(options: SessionOptions): RequestHandler {
  return session({
    name: sessionCookieName(options.production),
    secret: options.secrets,
    store: options.store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    unset: 'destroy',
    cookie: { ...cookieOptions(options), maxAge: options.idleTimeoutMs },
  });
}

const promisify =
  (fn: (cb: (err?: unknown) => void) => void) =>
  (): Promise<void> =>
    new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

/** What login and logout may do to this request's session, without resolvers touching Express. */
export interface SessionControl {
  /** Signs this request's session in as the member, under a new session id (no fixation). */
  start(memberId: number): Promise<{ expiresAt: Date }>;
  /** Ends this request's session, server-side, and clears the cookie. True when there was one. */
  end(): Promise<boolean>;
  /** The id of this request's signed-in session, if any. */
  currentId(): string | undefined;
}

/**
 * Runs express-session only for requests without an Authorization header: when a bearer token decides, the cookie
 * is ignored altogether (not read, not touched, its idle timeout not extended). {@link createSessionControl} loads
 * it on demand if such a request signs in with a session after all.
 */
export function cookieUnlessBearer(sessions: RequestHandler): RequestHandler {
  return (req, res, next) => (req.headers.authorization === undefined ? sessions(req, res, next) : next());
}

export function createSessionControl(
  req: Request,
  res: Response,
  options: Pick<SessionOptions, 'production' | 'idleTimeoutMs'> & { sessions: RequestHandler },
): SessionControl {
  return {
    async start(memberId) {
      if (!req.session) await promisify((cb) => options.sessions(req, res, cb))();
      // A new id on every sign-in: a session id planted or seen before login is worthless after it.
      await promisify((cb) => req.session.regenerate(cb))();
      const now = Date.now();
      req.session.memberId = memberId;
      req.session.loginAt = now;
      await promisify((cb) => req.session.save(cb))();
      return { expiresAt: new Date(now + options.idleTimeoutMs) };
    },
    async end() {
      // No session loaded means a bearer token decided this request: its cookie is ignored, not cleared.
      if (!req.session) return false;
      const had = Boolean(req.session.memberId);
      await promisify((cb) => req.session.destroy(cb))();
      res.clearCookie(sessionCookieName(options.production), cookieOptions(options));
      return had;
    },
    currentId() {
      return req.session?.memberId ? req.sessionID : undefined;
    },
  };
}

/**
 * The access sheet: a request whose signed session cookie names a live session of an active member. The role and
 * status are read from the member row on every request (through the request's loader, so `me` costs nothing more):
 * a suspension or a role change is felt by sessions at once.
 */
export function sessionStrategy(options: Pick<SessionOptions, 'absoluteTimeoutMs'>): GymStrategy {
  return async (req, { loaders }) => {
    const s = req.session;
    if (!s?.memberId) return null;
    const loginAt = s.loginAt ?? 0;
    const absoluteEnd = loginAt + options.absoluteTimeoutMs;
    const end = () => promisify((cb) => s.destroy(cb))();
    if (Date.now() >= absoluteEnd) {
      await end();
      return null;
    }
    const member = await loaders.memberById.load(s.memberId);
    if (!member || member.status !== 'ACTIVE') {
      await end();
      return null;
    }
    const idleEnd = s.cookie.expires ? s.cookie.expires.getTime() : absoluteEnd;
    return {
      memberId: member.id,
      role: member.role,
      method: 'SESSION',
      expiresAt: new Date(Math.min(idleEnd, absoluteEnd)),
      scopes: [],
    };
  };
}
