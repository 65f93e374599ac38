import { createHash, randomBytes } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { execute, parse, type GraphQLSchema } from 'graphql';
import * as openid from 'openid-client';
import type { Logger } from 'pino';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { PoolConfig } from '../config.js';
import type { PoolContext, PoolViewer } from '../context.js';
import type { PoolData } from '../db/data.js';
import { recentVisits } from '../visits.js';
import { addressKey } from '../../shared/addresses.js';
import { escapeHtml, sameSecret, sendPage as sendSitePage } from '../../shared/pages.js';
import { toPublicLoopbackHost } from './loopback.js';
import { POOL_SITE } from './pages.js';
import { endSession, replaceSession, sessionOf, type PendingSignIn, type PoolSessions, type SwimmerSession } from './sessions.js';
import { visitTimes } from './visit-times.js';

/**
 * At most as long as a partner token lives (an hour): the pool does not hear of a suspension or a sign-out at the gym,
 * so a session outlives neither by more than a keycard for the pool would.
 */
const MAX_SESSION_MS = 60 * 60_000;
/** How long a sign-in may take at the gym (its session, holding only the flow, lasts this long). */
const SIGN_IN_MS = 10 * 60_000;
/**
 * How long a fetched discovery document serves /login before it asks the gym again: not long, since /login asking is
 * how a member learns the gym is down before being sent there; and never more than one request at a time.
 */
const DISCOVERY_FRESH_MS = 1_000;
const SWIM = parse('mutation { swim { admittedAt } }');

/**
 * The notices a redirect back to the front page may ask for, by name: fixed words, so a link carrying one can show
 * nothing else (and changes nothing: the session is never written for a notice).
 */
const NOTICES = {
  swum: 'Enjoy your swim!',
  'swim-failed': 'The pool could not let you in just now. Try again.',
  denied: 'You did not allow the pool to use your gym account, so you are not signed in.',
} as const;

export interface PoolSiteOptions {
  config: PoolConfig;
  db: PoolData;
  schema: GraphQLSchema;
  sessions: PoolSessions;
  log: Logger;
}

/**
 * The pool's website: "Sign in with the gym" (the gym is an OpenID Provider, the pool its client, through
 * openid-client: the code flow with PKCE, state and nonce checked by the library), sessions of the pool's own in its
 * database, and a Swim button that runs the same @auth-guarded `swim` as the pool's GraphQL API, for the swimmer the
 * session holds.
 *
 * While the gym is down a swimmer already signed in keeps swimming (the session is the pool's, the visits its own);
 * signing in anew says the gym cannot be reached.
 */
export function poolSite(options: PoolSiteOptions): Router {
  const { config, db, schema, log, sessions } = options;
  const router = express.Router();
  const callbackUrl = `${config.publicUrl}/callback`;
  const withSession = sessions.middleware;
  const samePublicHost = toPublicLoopbackHost(config.publicUrl);
  // Each /login stores a session for ten minutes: one client address starts only so many a minute.
  const logins = new RateLimiterMemory({ points: config.loginMaxPerAddress, duration: 60 });
  router.use(express.urlencoded({ extended: false, limit: '2kb' }));
  const gym = discoveryOf(config);

  const swimmerOf = (req: Request): SwimmerSession | null => {
    const session = sessionOf(req);
    if (!session.swimmer || typeof session.until !== 'number' || session.until <= Date.now()) return null;
    return session.swimmer;
  };

  const validForm: RequestHandler = (req, res, next) => {
    const swimmer = swimmerOf(req);
    const given = (req.body as Record<string, unknown> | undefined)?.csrf;
    const origin = req.headers.origin;
    const sameOrigin = origin === undefined || origin === config.publicUrl || origin === `${req.protocol}://${req.headers.host}`;
    if (!swimmer || !sameOrigin || !sameSecret(given, swimmer.csrf)) {
      sendPage(res, 403, 'Not allowed', '<p>This form has expired. <a href="/">Back to the pool</a>.</p>');
      return;
    }
    next();
  };

  const sendPage = (res: Response, status: number, title: string, body: string) => sendSitePage(res, POOL_SITE, status, title, body);
  const refused = (res: Response) =>
    sendPage(res, 400, 'Sign-in refused', '<p>This sign-in could not be verified. <a href="/login">Sign in with the gym</a> again.</p>');

  router.get('/', samePublicHost, withSession, async (req, res) => {
    const swimmer = swimmerOf(req);
    const name = req.query.notice;
    const notice = typeof name === 'string' && Object.hasOwn(NOTICES, name) ? NOTICES[name as keyof typeof NOTICES] : '';
    const noticeHtml = notice ? `<p class="notice" role="status">${escapeHtml(notice)}</p>` : '';
    if (!swimmer) {
      sendPage(res, 200, 'The pool next door', `${noticeHtml}<p>Gym members swim free. Sign in with your gym account to swim.</p><p><a class="button" href="/login">Sign in with the gym</a></p>`);
      return;
    }
    const visits = await recentVisits(db, swimmer.sub);
    sendPage(
      res,
      200,
      'The pool next door',
      noticeHtml +
        `<p>Signed in as <strong class="swimmer">${escapeHtml(swimmer.name)}</strong>.</p>` +
        `<form method="post" action="/swim"><input type="hidden" name="csrf" value="${escapeHtml(swimmer.csrf)}"><button type="submit">Swim</button></form>` +
        `<h2>Your visits</h2>${visits.length ? `<ul class="visits">${visitTimes(visits.slice(0, 10), config.timezone)}</ul>` : '<p>None yet.</p>'}` +
        `<form method="post" action="/logout"><input type="hidden" name="csrf" value="${escapeHtml(swimmer.csrf)}"><button type="submit" class="secondary">Sign out</button></form>`,
    );
  });

  router.get('/login', samePublicHost, withSession, async (req, res) => {
    if (swimmerOf(req)) {
      res.redirect(303, '/');
      return;
    }
    try {
      await logins.consume(addressKey(req.ip));
    } catch {
      res.setHeader('Retry-After', '60');
      sendPage(res, 429, 'Too many sign-ins', '<p>Too many sign-ins were started from here. Try again in a minute. <a href="/">Back to the pool</a>.</p>');
      return;
    }
    let configuration: openid.Configuration;
    try {
      configuration = await gym(true);
    } catch (err) {
      log.warn({ err }, 'the gym cannot be reached to sign in');
      sendPage(res, 503, 'The gym cannot be reached', '<p>Signing in needs the gym, and it cannot be reached right now. Try again in a few minutes. <a href="/">Back to the pool</a>.</p>');
      return;
    }
    const pending: PendingSignIn = { verifier: openid.randomPKCECodeVerifier(), state: openid.randomState(), nonce: openid.randomNonce() };
    const url = openid.buildAuthorizationUrl(configuration, {
      redirect_uri: callbackUrl,
      scope: 'openid profile pool:swim',
      code_challenge: await openid.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    // The flow lives in this browser's own session on the server, so only the browser that started it can finish it:
    // a callback elsewhere finds no pending sign-in (or another one), and signs no one in.
    await replaceSession(req, { until: Date.now() + SIGN_IN_MS, pending });
    res.redirect(303, url.toString());
  });

  router.get('/callback', withSession, async (req, res) => {
    const session = sessionOf(req);
    const pending = swimmerOf(req) ? undefined : session.pending;
    const here = new URL(req.originalUrl, config.publicUrl);
    // One callback per sign-in: whatever comes back, the flow is over (a second try starts again at /login). Signed in,
    // its session is replaced under a new id; otherwise it ends here.
    const refuse = async (answer: () => void) => {
      if (pending) await endSession(req);
      answer();
    };
    // A refusal counts only as the answer to this browser's own sign-in (its state): a link to /callback?error=...
    // from anywhere else changes nothing.
    if (here.searchParams.get('error') === 'access_denied' && pending && sameSecret(here.searchParams.get('state'), pending.state)) {
      await refuse(() => res.redirect(303, '/?notice=denied'));
      return;
    }
    if (!pending) {
      sendPage(res, 400, 'Start again', '<p>This sign-in could not be verified. <a href="/login">Sign in with the gym</a> again.</p>');
      return;
    }
    let swimmer: SwimmerSession;
    let until: number;
    try {
      const tokens = await openid.authorizationCodeGrant(await gym(), here, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
      });
      const claims = tokens.claims()!;
      until = Math.min(Date.now() + MAX_SESSION_MS, Number(claims.membership_valid_until ?? 0) * 1000);
      swimmer = {
        sub: claims.sub,
        name: typeof claims.name === 'string' ? claims.name : 'Swimmer',
        tokenId: createHash('sha256').update(tokens.id_token ?? '').digest('base64url').slice(0, 22),
        csrf: randomBytes(24).toString('base64url'),
      };
    } catch (err) {
      // A tampered state, a replayed code, a wrong nonce: openid-client refuses them, and so does the pool.
      log.warn({ err }, 'a sign-in with the gym was refused');
      await refuse(() => refused(res));
      return;
    }
    // No membership's end in the ID token (or one already past): nothing to be signed in for.
    if (until <= Date.now()) {
      await refuse(() => refused(res));
      return;
    }
    await replaceSession(req, { until, swimmer });
    res.redirect(303, '/');
  });

  router.post('/swim', withSession, validForm, async (req, res) => {
    const swimmer = swimmerOf(req)!;
    const viewer: PoolViewer = {
      memberId: swimmer.sub,
      role: 'MEMBER',
      method: 'SESSION',
      scopes: ['pool:swim'],
      swimmer: { id: swimmer.sub, name: swimmer.name, scopes: ['pool:swim'], expiresAt: new Date(sessionOf(req).until!), tokenId: swimmer.tokenId },
    };
    // The same guarded operation the API runs: the website is one more caller of it, not a second implementation.
    const context: PoolContext = { db, viewer, authFailure: null, requestLog: {} };
    const result = await execute({ schema, document: SWIM, contextValue: context });
    if (result.errors?.length) log.warn({ errors: result.errors.map((e) => e.message) }, 'a swim from the website failed');
    res.redirect(303, result.errors?.length ? '/?notice=swim-failed' : '/?notice=swum');
  });

  router.post('/logout', withSession, validForm, async (req, res) => {
    // The row goes: a copy of the cookie, wherever it is, signs in no one from now on.
    await endSession(req);
    res.clearCookie(sessions.cookieName, sessions.cookieOptions());
    res.redirect(303, '/');
  });

  return router;
}

/**
 * The gym's OpenID configuration, fetched once and again after a failure (the gym may have been down). `fresh`: no
 * older than DISCOVERY_FRESH_MS, so a sign-in about to send the member to the gym finds out first whether the gym can
 * be reached, without every visit to /login costing the gym a request.
 */
function discoveryOf(config: PoolConfig): (fresh?: boolean) => Promise<openid.Configuration> {
  let discovered: Promise<openid.Configuration> | undefined;
  let discoveredAt = 0;
  let fetching = false;
  const { clientId, secret } = config.gymClient;
  return (fresh = false) => {
    // A fetch under way serves every sign-in that starts meanwhile: at most one request to the gym at a time.
    if (fresh && !fetching && Date.now() - discoveredAt > DISCOVERY_FRESH_MS) discovered = undefined;
    if (!discovered) {
      discoveredAt = Date.now();
      fetching = true;
    }
    // The gym registers a confidential client for client_secret_basic only (the secret in the Authorization header);
    // openid-client would otherwise send it in the body (client_secret_post), and every code exchange would fail.
    discovered ??= openid
      .discovery(new URL(config.gymIssuer ?? config.gymUrl), clientId, undefined, secret ? openid.ClientSecretBasic(secret) : openid.None(), {
        ...(new URL(config.gymUrl).protocol === 'http:' ? { execute: [openid.allowInsecureRequests] } : {}),
        timeout: 5,
      })
      .finally(() => {
        fetching = false;
      })
      .catch((err: unknown) => {
        discovered = undefined;
        throw err;
      });
    return discovered;
  };
}
