import express, { type Request, type RequestHandler, type Response } from 'express';
import type { KeyRing } from '../auth/keys.js';
import type { RateLimits } from '../auth/rate-limits.js';
import type { Services } from '../context.js';
import type { Clock } from '../shared/clock.js';
import { RateLimitedError } from '../shared/errors.js';
import { clientAddressOf } from '../shared/addresses.js';
import { checkClients } from './clients.js';
import { dropProviderSession } from './cookies.js';
import { interactionRoutes } from './interactions.js';
import { createOidcProvider, type OidcProvider } from './provider.js';
import { isAuthorizationPath, isProviderRoute } from './routes.js';

/** The longest URL the OpenID Provider takes (an authorization request and its parameters). */
const MAX_AUTHORIZATION_URL = 2_048;

const parseAuthorizationForm = express.urlencoded({ extended: false, limit: MAX_AUTHORIZATION_URL, type: () => true });

/** "Sign in with the gym" on the gym's app, following the key ring. */
export interface OidcMount {
  /** Mounts the interaction pages (`/interaction`), then the provider's own endpoints (discovery and `/oidc/`). */
  routes(app: express.Express): void;
  /** Makes the provider anew if the key ring changed since it was made, so it signs with the current key. */
  followKeyRing(): void;
}

/**
 * Sign in with the gym: the OpenID Provider (made and checked here: a client it would refuse stops the start), its
 * interaction pages, and the gym's middleware in front of its endpoints. The JWKS is the provider's too: one key ring
 * for everything Keycard signs.
 */
export async function createOidcMount({ services, keyRing, clock }: { services: Services; keyRing: KeyRing; clock: Clock }): Promise<OidcMount> {
  const { config, sessions, log } = services;
  const clientOrigins = [...new Set(config.oidcClients.flatMap((c) => c.redirectUris.map((uri) => new URL(uri).origin)))];
  // The OpenID Provider signs with the key ring as it was when it was made: it is made anew when the ring changes
  // (keys:rotate on any instance), so ID tokens are signed with the current key and never with one taken out.
  const makeOidc = () => createOidcProvider({
    issuer: config.publicUrl,
    data: services.data,
    keyRing,
    partnerTokens: services.partnerTokens,
    clients: config.oidcClients,
    cookieKeys: config.sessionSecrets,
    // Keycard sets the forwarded headers itself before the provider sees a request (providerEndpoints).
    proxy: true,
    accessSheet: (req) => sessions.accessSheetEntry(req),
    production: config.production,
    clientOrigins,
    log,
    refreshReuseGraceMs: config.refreshReuseGraceMs,
    clock,
  });
  let oidc = makeOidc();
  await checkClients(oidc.provider, config.oidcClients);
  let oidcKeys = keyRing.all().map((k) => k.kid).join(' ');
  const publicUrl = new URL(config.publicUrl);
  return {
    routes(app) {
      app.use('/interaction', interactionRoutes({ provider: () => oidc.provider, services, clientOrigins, log }));
      app.use(providerEndpoints(() => oidc, services.rateLimits, publicUrl));
    },
    followKeyRing() {
      const kids = keyRing.all().map((k) => k.kid).join(' ');
      if (kids === oidcKeys) return;
      oidcKeys = kids;
      oidc = makeOidc();
      log.info({ kid: keyRing.current.kid }, 'the OpenID Provider now signs with the current key');
    },
  };
}

/** The provider's endpoints, behind the gym's own rules: bounded requests, its public address, rate limits, the access sheet. */
function providerEndpoints(current: () => OidcProvider, rateLimits: RateLimits, publicUrl: URL): RequestHandler {
  return async (req, res, next) => {
    if (!isProviderRoute(req.method, req.path)) return next();
    // One provider for the whole request, even if the key ring makes a new one meanwhile.
    const oidc = current();
    if (!(await asProviderRequest(req, res, publicUrl))) return;
    if (isAuthorizationPath(req.path)) {
      try {
        if (!(await withinRateLimit(req, res, rateLimits))) return;
      } catch (err) {
        return next(err);
      }
    }
    if (req.path === '/oidc/auth') {
      dropProviderSession(req, res, oidc.cookieNames, oidc.secureCookies);
      try {
        await oidc.sessionFromAccessSheet(req, res);
      } catch (err) {
        return next(err);
      }
    }
    oidc.callback(req, res);
  };
}

/**
 * The request as the provider is to see it: an authorization request by POST as its GET, no longer than the provider
 * takes, and from the gym's public address. False when it has been answered already (400, 413 or 414).
 */
async function asProviderRequest(req: Request, res: Response, publicUrl: URL): Promise<boolean> {
  if (req.method === 'POST' && req.path === '/oidc/auth') {
    // OpenID Connect Core 3.1.2.1: a POST is the same request with its parameters form-serialized. oidc-provider
    // takes POST only with a SameSite=None session cookie, which Keycard has no use for (the access sheet decides
    // who is signed in), so the request goes on as the GET it is equivalent to.
    const form = await readAuthorizationForm(req, res);
    if (form === null) return false;
    req.url = `/oidc/auth?${form}`;
    req.method = 'GET';
  }
  // Every authorization request stores an interaction for a while: its parameters are bounded (a client's real
  // ones are a few hundred characters), so no one writes kilobytes into the database per request.
  if (req.originalUrl.length > MAX_AUTHORIZATION_URL || req.url.length > MAX_AUTHORIZATION_URL) {
    res.status(414).json({ errors: [{ message: 'Request URI too long', extensions: { code: 'BAD_REQUEST' } }] });
    return false;
  }
  // The provider speaks as PUBLIC_URL, whatever Host or X-Forwarded-* a client sent: its discovery document and
  // redirects name the gym's public address, never one a request chose. The client's address is Express's,
  // under TRUST_PROXY.
  req.headers['x-forwarded-host'] = publicUrl.host;
  req.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
  req.headers['x-forwarded-for'] = req.ip ?? '';
  return true;
}

/**
 * Each authorization request stores an interaction, and each resumption works on one: counted per client address, as
 * sign-ups are. False when the limit is reached (answered 429).
 */
async function withinRateLimit(req: Request, res: Response, rateLimits: RateLimits): Promise<boolean> {
  try {
    await rateLimits.consume(req.path === '/oidc/auth' ? 'authorize' : 'authorizeResume', clientAddressOf(req));
    return true;
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    res.setHeader('Retry-After', String(err.retryAfterSeconds));
    res.status(429).json({ errors: [{ message: err.message, extensions: { code: 'RATE_LIMITED', retryAfterSeconds: err.retryAfterSeconds } }] });
    return false;
  }
}

/**
 * The parameters of an authorization request sent by POST, as a query string; null when the answer is already sent
 * (a body that is not a form, or too long: 400 or 413, as any other body Keycard refuses).
 */
async function readAuthorizationForm(req: Request, res: Response): Promise<string | null> {
  if (!req.is('application/x-www-form-urlencoded')) {
    res.status(400).json({ errors: [{ message: 'An authorization request by POST is a form (application/x-www-form-urlencoded)', extensions: { code: 'BAD_REQUEST' } }] });
    return null;
  }
  try {
    await new Promise<void>((resolve, reject) => parseAuthorizationForm(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
  } catch (err) {
    const status = (err as { status?: number }).status === 413 ? 413 : 400;
    res.status(status).json({ errors: [{ message: status === 413 ? 'Request too large' : 'Malformed form', extensions: { code: 'BAD_REQUEST' } }] });
    return null;
  }
  const params = new URLSearchParams();
  // Every value, repeated ones too: the provider refuses a parameter given twice, as it does in a GET.
  for (const [name, value] of Object.entries(req.body as Record<string, unknown>)) for (const one of [value].flat()) params.append(name, String(one));
  return params.toString();
}
