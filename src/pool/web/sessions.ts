import type { Request, RequestHandler } from 'express';
import session from 'express-session';
import type { PoolData } from '../db/data.js';
import { ServerSessionStore } from '../../shared/session-store.js';

/** A sign-in under way: the code flow between leaving for the gym and coming back, bound to the browser that left. */
export interface PendingSignIn {
  verifier: string;
  state: string;
  nonce: string;
}

/** Who is signed in at the pool's website. */
export interface SwimmerSession {
  /** The pairwise subject the gym gave the pool: the same as a partner token's for this member. */
  sub: string;
  name: string;
  /** A hash of the ID token, to trace a visit back to the sign-in that let the swimmer in. */
  tokenId: string;
  /** The token every form of this session carries. */
  csrf: string;
}

/** What a website session holds: a sign-in under way, or, once it came back, the swimmer (under a new id). */
export interface PoolSessionData {
  /** When the session ends (ms): its row's deadline and its cookie's expiry. */
  until: number;
  pending?: PendingSignIn;
  swimmer?: SwimmerSession;
}

/** A request's session as the website reads and writes it (express-session's object, with the pool's own fields). */
export type PoolSession = session.Session & Partial<PoolSessionData>;

/**
 * This request's session: express-session's `req.session`, typed with the pool's fields (the module's own type holds
 * the gym's). Only routes that run {@link PoolSessions.middleware} have one.
 */
export function sessionOf(req: Request): PoolSession {
  return req.session as unknown as PoolSession;
}

/** The website's sessions in the pool's database: the shared store, each row carrying its swimmer's subject. */
export class PoolSessionStore extends ServerSessionStore {
  constructor(private readonly data: PoolData) {
    super(data.sessions, (stored) => (stored as unknown as PoolSessionData).until);
  }

  protected insert(key: string, stored: session.SessionData, expiresAt: number): Promise<void> {
    // The subject on the row, so that a swimmer's sessions can be ended in one statement (a logout at the gym).
    const subject = (stored as unknown as PoolSessionData).swimmer?.sub ?? null;
    return this.data.sessions.insert({ key, subject, data: JSON.stringify(stored), expiresAt });
  }
}

/** The website's session cookie and its store. */
export class PoolSessions {
  readonly cookieName: string;
  readonly store: PoolSessionStore;
  /** express-session over the store: it reads a session only where a route asks for one, and writes new ones. */
  readonly middleware: RequestHandler;

  constructor(private readonly options: { data: PoolData; secret: string; production: boolean }) {
    // `__Host-` in production: browsers take it only Secure, with Path=/ and no Domain, so no sibling host can plant a
    // session (a sign-in under way) in a victim's browser. Development keeps a plain name of the pool's own: browsers
    // share cookies between the ports of one host, so it must never be mistaken for the gym's `keycard.sid`.
    this.cookieName = options.production ? '__Host-pool.session' : 'pool.session';
    this.store = new PoolSessionStore(options.data);
    this.middleware = session({
      name: this.cookieName,
      secret: options.secret,
      store: this.store,
      // A row only when /login starts a sign-in (and when it comes back): an anonymous page view stores nothing.
      saveUninitialized: false,
      // Rows are never rewritten (see the store): a session changes by being replaced under a new id.
      resave: false,
      rolling: false,
      unset: 'destroy',
      // Secure comes from the request as Express sees it: behind a TLS-terminating proxy, under TRUST_PROXY.
      cookie: this.cookieOptions(),
    });
  }

  /** The cookie's attributes (also to clear it): scripts never read it, cross-site POSTs never carry it. */
  cookieOptions() {
    return { httpOnly: true, sameSite: 'lax' as const, path: '/', secure: this.options.production };
  }
}

const promisify =
  (fn: (cb: (err?: unknown) => void) => void): Promise<void> =>
    new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

/**
 * Replaces this request's session with a new one under a new id (the old row deleted), holding `data` until its
 * deadline: a sign-in starting, or a swimmer signed in (no fixation: an id seen before is worthless after).
 */
export async function replaceSession(req: Request, data: PoolSessionData): Promise<void> {
  await promisify((cb) => req.session.regenerate(cb));
  const fresh = sessionOf(req);
  Object.assign(fresh, data);
  fresh.cookie.expires = new Date(data.until);
  await promisify((cb) => req.session.save(cb));
}

/** Ends this request's session: its row deleted, so every copy of its cookie is signed out. */
export function endSession(req: Request): Promise<void> {
  return promisify((cb) => req.session.destroy(cb));
}

/** The swimmer this request's session holds, or null: none, or past its deadline. */
export function swimmerOf(req: Request): SwimmerSession | null {
  const session = sessionOf(req);
  if (!session.swimmer || typeof session.until !== 'number' || session.until <= Date.now()) return null;
  return session.swimmer;
}
