import { createHash, randomBytes } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import * as openid from 'openid-client';
import type { Logger } from 'pino';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { PoolConfig } from '../config.js';
import { addressKey } from '../../shared/addresses.js';
import { sameSecret } from '../../shared/pages.js';
import { poolPage } from './pages.js';
import { endSession, replaceSession, sessionOf, swimmerOf, type PendingSignIn, type PoolSessions, type SwimmerSession } from './sessions.js';

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

/** The gym's OpenID configuration; `fresh`: fetched no longer than a moment ago. */
type Discovery = (fresh?: boolean) => Promise<openid.Configuration>;

/** The three steps of "Sign in with the gym" at the pool's website. */
export interface SignInFlow {
  /** `GET /login`: off to the gym, with a new sign-in under way in this browser's session. */
  start: RequestHandler;
  /** `GET /callback`: back from the gym; the code exchanged, the swimmer signed in under a new session. */
  finish: RequestHandler;
  /** `POST /logout` (behind the session's form check): the session ends, its row and its cookie. */
  end: RequestHandler;
}

/**
 * "Sign in with the gym": the gym is an OpenID Provider, the pool its client, through openid-client (the code flow
 * with PKCE, state and nonce checked by the library). The flow lives in the browser's own session on the server.
 */
export function signInFlow(options: { config: PoolConfig; sessions: PoolSessions; log: Logger }): SignInFlow {
  const { config, sessions, log } = options;
  const gym = discoveryOf(config);
  // Each /login stores a session for ten minutes: one client address starts only so many a minute.
  const logins = new RateLimiterMemory({ points: config.loginMaxPerAddress, duration: 60 });
  return {
    start: startSignIn(gym, logins, `${config.publicUrl}/callback`, log),
    finish: finishSignIn(gym, config.publicUrl, log),
    end: async (req, res) => {
      // The row goes: a copy of the cookie, wherever it is, signs in no one from now on.
      await endSession(req);
      res.clearCookie(sessions.cookieName, sessions.cookieOptions());
      res.redirect(303, '/');
    },
  };
}

function startSignIn(gym: Discovery, logins: RateLimiterMemory, callbackUrl: string, log: Logger): RequestHandler {
  return async (req, res) => {
    if (swimmerOf(req)) {
      res.redirect(303, '/');
      return;
    }
    try {
      await logins.consume(addressKey(req.ip));
    } catch {
      res.setHeader('Retry-After', '60');
      poolPage(res, 429, 'Too many sign-ins', '<p>Too many sign-ins were started from here. Try again in a minute. <a href="/">Back to the pool</a>.</p>');
      return;
    }
    let configuration: openid.Configuration;
    try {
      configuration = await gym(true);
    } catch (err) {
      log.warn({ err }, 'the gym cannot be reached to sign in');
      poolPage(res, 503, 'The gym cannot be reached', '<p>Signing in needs the gym, and it cannot be reached right now. Try again in a few minutes. <a href="/">Back to the pool</a>.</p>');
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
  };
}

function finishSignIn(gym: Discovery, publicUrl: string, log: Logger): RequestHandler {
  return async (req, res) => {
    const pending = swimmerOf(req) ? undefined : sessionOf(req).pending;
    const here = new URL(req.originalUrl, publicUrl);
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
      poolPage(res, 400, 'Start again', '<p>This sign-in could not be verified. <a href="/login">Sign in with the gym</a> again.</p>');
      return;
    }
    let signedIn: { until: number; swimmer: SwimmerSession };
    try {
      signedIn = await exchangeCode(await gym(), here, pending);
    } catch (err) {
      // A tampered state, a replayed code, a wrong nonce: openid-client refuses them, and so does the pool.
      log.warn({ err }, 'a sign-in with the gym was refused');
      await refuse(() => refused(res));
      return;
    }
    // No membership's end in the ID token (or one already past): nothing to be signed in for.
    if (signedIn.until <= Date.now()) {
      await refuse(() => refused(res));
      return;
    }
    await replaceSession(req, signedIn);
    res.redirect(303, '/');
  };
}

/** The code the gym sent back, exchanged (openid-client checks state, nonce and PKCE): the swimmer, and until when. */
async function exchangeCode(configuration: openid.Configuration, here: URL, pending: PendingSignIn): Promise<{ until: number; swimmer: SwimmerSession }> {
  const tokens = await openid.authorizationCodeGrant(configuration, here, {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
  });
  const claims = tokens.claims()!;
  const until = Math.min(Date.now() + MAX_SESSION_MS, Number(claims.membership_valid_until ?? 0) * 1000);
  const swimmer: SwimmerSession = {
    sub: claims.sub,
    name: typeof claims.name === 'string' ? claims.name : 'Swimmer',
    tokenId: createHash('sha256').update(tokens.id_token ?? '').digest('base64url').slice(0, 22),
    csrf: randomBytes(24).toString('base64url'),
  };
  return { until, swimmer };
}

function refused(res: Response): void {
  poolPage(res, 400, 'Sign-in refused', '<p>This sign-in could not be verified. <a href="/login">Sign in with the gym</a> again.</p>');
}

/**
 * The gym's OpenID configuration, fetched once and again after a failure (the gym may have been down). `fresh`: no
 * older than DISCOVERY_FRESH_MS, so a sign-in about to send the member to the gym finds out first whether the gym can
 * be reached, without every visit to /login costing the gym a request.
 */
function discoveryOf(config: PoolConfig): Discovery {
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
