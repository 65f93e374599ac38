import { createHash, createHmac, randomBytes } from 'node:crypto';
import { parse as parseCookie } from 'cookie';
import cookieSession from 'cookie-session';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { execute, parse, type GraphQLSchema } from 'graphql';
import * as openid from 'openid-client';
import type { Logger } from 'pino';
import type { PoolConfig } from '../config.js';
import type { PoolContext, PoolViewer } from '../context.js';
import type { PoolData } from '../db/data.js';
import { recentVisits } from '../visits.js';
import { escapeHtml, sameSecret, sendPage as sendSitePage } from '../../shared/pages.js';
import { POOL_SITE } from './pages.js';

/** Who is signed in at the pool's website, as its session cookie holds it (signed, so only the pool writes it). */
interface SwimmerSession {
  /** The pairwise subject the gym gave the pool: the same as a partner token's for this member. */
  sub: string;
  name: string;
  /** When the session ends (ms): at the membership's end, at most a day. */
  until: number;
  /** A hash of the ID token, to trace a visit back to the sign-in that let the swimmer in. */
  tokenId: string;
  /** The token every form of this session carries. */
  csrf: string;
}

/** The code flow between leaving for the gym and coming back (a cookie of its own, for ten minutes). */
interface PendingSignIn {
  verifier: string;
  state: string;
  nonce: string;
}

/** The session cookie's contents (cookie-session's `req.session`, typed here: the gym's express-session types claim it). */
type PoolCookie = Partial<SwimmerSession> & { notice?: string };
const cookieOf = (req: Request) => (req as unknown as { session: PoolCookie | null | undefined }).session;
const setCookie = (req: Request, value: PoolCookie | null) => {
  (req as unknown as { session: PoolCookie | null }).session = value;
};

/**
 * At most as long as a partner token lives (an hour): the pool does not hear of a suspension or a sign-out at the gym,
 * so a session outlives neither by more than a keycard for the pool would.
 */
const MAX_SESSION_MS = 60 * 60_000;
/**
 * How long a fetched discovery document serves /login before it asks the gym again: not long, since /login asking is
 * how a member learns the gym is down before being sent there; and never more than one request at a time.
 */
const DISCOVERY_FRESH_MS = 1_000;
const SWIM = parse('mutation { swim { admittedAt } }');

export interface PoolSiteOptions {
  config: PoolConfig;
  db: PoolData;
  schema: GraphQLSchema;
  sessionSecret: string;
  log: Logger;
}

/**
 * The pool's website: "Sign in with the gym" (the gym is an OpenID Provider, the pool its client, through
 * openid-client: the code flow with PKCE, state and nonce checked by the library), a session of the pool's own, and a
 * Swim button that runs the same @auth-guarded `swim` as the pool's GraphQL API, for the swimmer the session holds.
 *
 * While the gym is down a swimmer already signed in keeps swimming (the session is the pool's, the visits its own);
 * signing in anew says the gym cannot be reached.
 */
export function poolSite(options: PoolSiteOptions): Router {
  const { config, db, schema, log } = options;
  const secure = config.production;
  // In production the cookies carry the browser-enforced prefixes: `__Host-` (Secure, Path=/, no Domain) for the
  // session, `__Secure-` for the flow cookie, which lives on /callback only. No sibling host can plant either.
  const SESSION_COOKIE = secure ? '__Host-pool.session' : 'pool.session';
  const FLOW_COOKIE = secure ? '__Secure-pool.signin' : 'pool.signin';
  const router = express.Router();
  const callbackUrl = `${config.publicUrl}/callback`;
  router.use(express.urlencoded({ extended: false, limit: '2kb' }));
  // The pool's own cookie, with a name of its own: browsers share cookies between the ports of one host, so the gym's
  // `keycard.sid` and this one must never be mistaken for each other.
  router.use(
    cookieSession({ name: SESSION_COOKIE, keys: [options.sessionSecret], httpOnly: true, sameSite: 'lax', secure, maxAge: MAX_SESSION_MS, signed: true }),
  );

  let discovered: Promise<openid.Configuration> | undefined;
  let discoveredAt = 0;
  let fetching = false;
  /**
   * The gym's OpenID configuration, fetched once and again after a failure (the gym may have been down). `fresh`: no
   * older than DISCOVERY_FRESH_MS, so a sign-in about to send the member to the gym finds out first whether the gym
   * can be reached, without every visit to /login costing the gym a request.
   */
  const gym = (fresh = false) => {
    // A fetch under way serves every sign-in that starts meanwhile: at most one request to the gym at a time.
    if (fresh && !fetching && Date.now() - discoveredAt > DISCOVERY_FRESH_MS) discovered = undefined;
    if (!discovered) {
      discoveredAt = Date.now();
      fetching = true;
    }
    discovered ??= openid
      .discovery(new URL(config.gymIssuer ?? config.gymUrl), config.gymClient.clientId, config.gymClient.secret, config.gymClient.secret ? undefined : openid.None(), {
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

  const swimmerOf = (req: Request): SwimmerSession | null => {
    const session = cookieOf(req);
    if (!session?.sub || !session.name || typeof session.until !== 'number' || session.until <= Date.now()) return null;
    return session as SwimmerSession;
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

  router.get('/', async (req, res) => {
    const swimmer = swimmerOf(req);
    const cookie = cookieOf(req);
    const notice = typeof cookie?.notice === 'string' ? cookie.notice : '';
    if (cookie?.notice !== undefined) delete cookie.notice;
    if (!swimmer) {
      sendPage(
        res,
        200,
        'The pool next door',
        (notice ? `<p class="notice" role="status">${escapeHtml(notice)}</p>` : '') +
          `<p>Gym members swim free. Sign in with your gym account to swim.</p><p><a class="button" href="/login">Sign in with the gym</a></p>`,
      );
      return;
    }
    const visits = await recentVisits(db, swimmer.sub);
    sendPage(
      res,
      200,
      'The pool next door',
      (notice ? `<p class="notice" role="status">${escapeHtml(notice)}</p>` : '') +
        `<p>Signed in as <strong class="swimmer">${escapeHtml(swimmer.name)}</strong>.</p>` +
        `<form method="post" action="/swim"><input type="hidden" name="csrf" value="${escapeHtml(swimmer.csrf)}"><button type="submit">Swim</button></form>` +
        `<h2>Your visits</h2>${visits.length ? `<ul class="visits">${visits.slice(0, 10).map((at) => `<li>${escapeHtml(at.toISOString())}</li>`).join('')}</ul>` : '<p>None yet.</p>'}` +
        `<form method="post" action="/logout"><input type="hidden" name="csrf" value="${escapeHtml(swimmer.csrf)}"><button type="submit" class="secondary">Sign out</button></form>`,
    );
  });

  router.get('/login', async (_req, res) => {
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
    res.cookie(FLOW_COOKIE, sealFlow(pending, options.sessionSecret), { httpOnly: true, sameSite: 'lax', secure, maxAge: 10 * 60_000, path: '/callback' });
    res.redirect(303, url.toString());
  });

  router.get('/callback', async (req, res) => {
    // The cookie package decodes what it can and leaves the rest as it came: a mangled value is no pending sign-in.
    const pending = openFlow(parseCookie(req.headers.cookie ?? '')[FLOW_COOKIE], options.sessionSecret);
    res.clearCookie(FLOW_COOKIE, { path: '/callback', secure });
    const here = new URL(req.originalUrl, config.publicUrl);
    // A refusal counts only as the answer to this browser's own sign-in (its state): a link to /callback?error=...
    // from anywhere else changes nothing, and even the real one only adds a notice.
    if (here.searchParams.get('error') === 'access_denied' && pending && sameSecret(here.searchParams.get('state'), pending.state)) {
      const cookie = cookieOf(req);
      if (cookie && !swimmerOf(req)) cookie.notice = 'You did not allow the pool to use your gym account, so you are not signed in.';
      else if (!cookie) setCookie(req, { notice: 'You did not allow the pool to use your gym account, so you are not signed in.' });
      res.redirect(303, '/');
      return;
    }
    if (!pending) {
      sendPage(res, 400, 'Start again', '<p>This sign-in could not be verified. <a href="/login">Sign in with the gym</a> again.</p>');
      return;
    }
    try {
      const tokens = await openid.authorizationCodeGrant(await gym(), here, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
      });
      const claims = tokens.claims()!;
      const until = Math.min(Date.now() + MAX_SESSION_MS, Number(claims.membership_valid_until ?? 0) * 1000);
      setCookie(req, {
        sub: claims.sub,
        name: typeof claims.name === 'string' ? claims.name : 'Swimmer',
        until,
        tokenId: createHash('sha256').update(tokens.id_token ?? '').digest('base64url').slice(0, 22),
        csrf: randomBytes(24).toString('base64url'),
      } satisfies SwimmerSession);
      res.redirect(303, '/');
    } catch (err) {
      // A tampered state, a replayed code, a wrong nonce: openid-client refuses them, and so does the pool.
      log.warn({ err }, 'a sign-in with the gym was refused');
      sendPage(res, 400, 'Sign-in refused', '<p>This sign-in could not be verified. <a href="/login">Sign in with the gym</a> again.</p>');
    }
  });

  router.post('/swim', validForm, async (req, res) => {
    const swimmer = swimmerOf(req)!;
    const viewer: PoolViewer = {
      memberId: swimmer.sub,
      role: 'MEMBER',
      method: 'SESSION',
      scopes: ['pool:swim'],
      swimmer: { id: swimmer.sub, name: swimmer.name, scopes: ['pool:swim'], expiresAt: new Date(swimmer.until), tokenId: swimmer.tokenId },
    };
    // The same guarded operation the API runs: the website is one more caller of it, not a second implementation.
    const context: PoolContext = { db, viewer, authFailure: null, requestLog: {} };
    const result = await execute({ schema, document: SWIM, contextValue: context });
    if (result.errors?.length) log.warn({ errors: result.errors.map((e) => e.message) }, 'a swim from the website failed');
    cookieOf(req)!.notice = result.errors?.length ? 'The pool could not let you in just now. Try again.' : 'Enjoy your swim!';
    res.redirect(303, '/');
  });

  router.post('/logout', validForm, (req, res) => {
    setCookie(req, null);
    res.redirect(303, '/');
  });

  return router;
}

/** The pending sign-in, signed: the browser carries it to the gym and back, and cannot change it. */
function sealFlow(pending: PendingSignIn, secret: string): string {
  const body = Buffer.from(JSON.stringify(pending)).toString('base64url');
  return `${body}.${createHmac('sha256', secret).update(`flow\0${body}`).digest('base64url')}`;
}

function openFlow(sealed: string | undefined, secret: string): PendingSignIn | null {
  if (!sealed) return null;
  const [body = '', signature = ''] = sealed.split('.');
  if (!sameSecret(signature, createHmac('sha256', secret).update(`flow\0${body}`).digest('base64url'))) return null;
  try {
    const value = JSON.parse(Buffer.from(body, 'base64url').toString()) as Partial<PendingSignIn>;
    return typeof value.verifier === 'string' && typeof value.state === 'string' && typeof value.nonce === 'string' ? (value as PendingSignIn) : null;
  } catch {
    return null;
  }
}
