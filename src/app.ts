import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { AccessTokens } from './auth/access-tokens.js';
import { bearerStrategy } from './auth/bearer.js';
import type { KeyRing } from './auth/keys.js';
import { PartnerTokens } from './auth/partner-tokens.js';
import { prepareDummyHash } from './auth/passwords.js';
import { RateLimits } from './auth/rate-limits.js';
import { RefreshTokens } from './auth/refresh-tokens.js';
import { Sessions } from './auth/sessions.js';
import { LoginThrottle } from './auth/throttle.js';
import type { Config } from './config.js';
import { createContext, type Context, type Services } from './context.js';
import type { GymData } from './db/data.js';
import { getOrCreateSecret } from './db/secrets.js';
import { buildSchema } from './schema.js';
import { scheduleChores } from './shared/housekeeping.js';
import { createLogger } from './shared/logger.js';
import { createService, type Service } from './shared/server.js';
import { addressKey } from './shared/addresses.js';
import { LiveEvents } from './live/events.js';
import { openPubSub } from './live/open-pubsub.js';
import { createLiveServer } from './live/server.js';
import { RateLimitedError } from './errors.js';
import { interactionRoutes } from './oidc/interactions.js';
import { checkClients, createOidcProvider, forgetProviderSession, isAuthorizationPath, isProviderRoute } from './oidc/provider.js';
import proxyaddr from 'proxy-addr';

export interface AppOptions {
  config: Config;
  database: GymData;
  /** The signing keys: main loads them from KEYS_DIR (making one in development). */
  keyRing: KeyRing;
  logger?: Logger;
}

/** The gym's server: the shared service shell (Express, HTTP server, Apollo) and the services behind it. */
export interface KeycardApp extends Service<Context> {
  services: Services;
}

/** The longest URL the OpenID Provider takes (an authorization request and its parameters). */
const MAX_AUTHORIZATION_URL = 2_048;

const parseAuthorizationForm = express.urlencoded({ extended: false, limit: MAX_AUTHORIZATION_URL, type: () => true });

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

/** The document Sandbox opens with in development: sign in, look around, check in. */
const SANDBOX_DOCUMENT = `# Sign in as a demo member. SESSION sets the keycard.sid cookie, which Sandbox sends back.
mutation Login {
  login(input: { email: "alice@keycard.test", password: "keycard-alice-pass", mode: SESSION }) {
    method
    member { id name email }
  }
}

query WhoAmI {
  viewer { authenticated method role expiresAt }
  me { name email membership { status validUntil plan { code name } } }
}

mutation CheckIn {
  checkIn(door: "main") { at door method }
}
`;

/**
 * Builds the whole gym server (Express, sessions, Apollo) on an open database, without listening: main listens on
 * the configured port, tests on port 0.
 */
export async function createApp({ config, database: data, keyRing, logger }: AppOptions): Promise<KeycardApp> {
  const log = logger ?? createLogger(config.logLevel);
  if (config.sessionSecrets.length === 0) throw new Error('createApp needs at least one session secret');
  await prepareDummyHash();
  const accessTokens = new AccessTokens(keyRing, { issuer: config.publicUrl, ttlMs: config.accessTokenTtlMs });
  const refreshTokens = new RefreshTokens(data, {
    ttlMs: config.refreshTokenTtlMs,
    graceMs: config.refreshReuseGraceMs,
    maxFamiliesPerMember: config.maxRefreshFamiliesPerMember,
  });
  const sessions = new Sessions({
    data,
    secrets: config.sessionSecrets,
    production: config.production,
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    absoluteTimeoutMs: config.sessionAbsoluteTimeoutMs,
  });
  const partnerTokens = new PartnerTokens(keyRing, {
    issuer: config.publicUrl,
    ttlMs: config.partnerTokenTtlMs,
    partners: config.partners,
    pairwiseSecret: config.pairwiseSecret ?? (await getOrCreateSecret(data, 'pairwise-subject')),
  });
  const throttle = new LoginThrottle(data, config.login);
  const pubsub = await openPubSub(data, log);
  const rateLimits = new RateLimits(data, config.rateLimits);
  const services: Services = {
    data,
    config,
    throttle,
    rateLimits,
    sessions,
    accessTokens,
    refreshTokens,
    partnerTokens,
    // Order matters: an Authorization header, when present, alone decides; only then is the cookie consulted.
    strategies: [bearerStrategy({ tokens: accessTokens, revocation: config.tokenRevocation }), sessions.strategy],
    live: new LiveEvents(pubsub, log),
    log,
  };
  const schema = buildSchema();
  // The OpenID Provider signs with the key ring as it was when it was made: it is made anew when the ring changes
  // (keys:rotate on any instance), so ID tokens are signed with the current key and never with one taken out.
  const clientOrigins = [...new Set(config.oidcClients.flatMap((c) => c.redirectUris.map((uri) => new URL(uri).origin)))];
  const makeOidc = () => createOidcProvider({
    issuer: config.publicUrl,
    data,
    keyRing,
    partnerTokens,
    clients: config.oidcClients,
    cookieKeys: config.sessionSecrets,
    // Keycard sets the forwarded headers itself before the provider sees a request (below).
    proxy: true,
    accessSheet: (req) => sessions.accessSheetEntry(req),
    production: config.production,
    clientOrigins,
    log,
    refreshReuseGraceMs: config.refreshReuseGraceMs,
  });
  let oidc = makeOidc();
  await checkClients(oidc.provider, config.oidcClients);
  let oidcKeys = keyRing.all().map((k) => k.kid).join(' ');
  const followKeyRing = () => {
    const kids = keyRing.all().map((k) => k.kid).join(' ');
    if (kids === oidcKeys) return;
    oidcKeys = kids;
    oidc = makeOidc();
    log.info({ kid: keyRing.current.kid }, 'the OpenID Provider now signs with the current key');
  };
  const publicUrl = new URL(config.publicUrl);

  // Every process keeps its own copy of the key ring: each reads KEYS_DIR again, so a key added by keys:rotate on any
  // instance sharing the folder signs everywhere within the interval (and verifies at once: see reloadForUnknownKid).
  // A bad file is logged by name and skipped.
  const stopKeyReload = scheduleChores(
    {
      'reload signing keys': () => {
        keyRing.reload((file, problem) => log.warn({ file, problem }, 'skipping a file in KEYS_DIR that is not a usable key'));
        followKeyRing();
      },
    },
    log,
    config.keysReloadIntervalMs,
  );
  // Dead rows are dropped by every process: each sweep is one idempotent DELETE of rows past their deadline (the rate
  // limits' in batches), so instances sweeping at once only find less to delete, and correctness never depends on a
  // sweep (every read checks the deadline itself).
  const stopChores = scheduleChores(
    {
      'sweep login throttle': () => throttle.sweep(),
      'sweep rate limits': () => rateLimits.sweep(),
      'sweep refresh tokens': () => refreshTokens.sweep(),
      'sweep sessions': () => sessions.sweep(),
      'sweep the OpenID Provider': () => data.oidc.deleteExpired(Date.now()),
    },
    log,
  );

  const service = await createService<Context>({
    log,
    httpLimits: config.http,
    production: config.production,
    introspection: config.introspection,
    schema,
    // Sandbox sends the session cookie back, so signing in with mode: SESSION works there.
    sandbox: { document: SANDBOX_DOCUMENT, includeCookies: true },
    healthy: () => data.healthy(),
    corsOrigins: config.corsOrigins,
    trustProxy: config.trustProxy,
    routes: (app) => {
      // The published half of the key ring, for any reader of the gym's tokens (the pool next door, API gateways).
      app.get('/.well-known/jwks.json', (_req, res) => {
        res.setHeader('Cache-Control', 'public, max-age=300');
        res.json(keyRing.jwks());
      });
      // Sign in with the gym: the OpenID Provider's pages, then its own endpoints (discovery, authorization, token,
      // userinfo, revocation). The JWKS above is the provider's too: one key ring for everything Keycard signs.
      app.use('/interaction', interactionRoutes({ provider: () => oidc.provider, services, clientOrigins, log }));
      app.use(async (req, res, next) => {
        if (!isProviderRoute(req.method, req.path)) return next();
        // One provider for the whole request, even if the key ring makes a new one meanwhile.
        const current = oidc;
        if (req.method === 'POST' && req.path === '/oidc/auth') {
          // OpenID Connect Core 3.1.2.1: a POST is the same request with its parameters form-serialized. oidc-provider
          // takes POST only with a SameSite=None session cookie, which Keycard has no use for (the access sheet decides
          // who is signed in), so the request goes on as the GET it is equivalent to.
          const form = await readAuthorizationForm(req, res);
          if (form === null) return;
          req.url = `/oidc/auth?${form}`;
          req.method = 'GET';
        }
        // Every authorization request stores an interaction for a while: its parameters are bounded (a client's real
        // ones are a few hundred characters), so no one writes kilobytes into the database per request.
        if (req.originalUrl.length > MAX_AUTHORIZATION_URL || req.url.length > MAX_AUTHORIZATION_URL) {
          res.status(414).json({ errors: [{ message: 'Request URI too long', extensions: { code: 'BAD_REQUEST' } }] });
          return;
        }
        // The provider speaks as PUBLIC_URL, whatever Host or X-Forwarded-* a client sent: its discovery document and
        // redirects name the gym's public address, never one a request chose. The client's address is Express's,
        // under TRUST_PROXY.
        req.headers['x-forwarded-host'] = publicUrl.host;
        req.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
        req.headers['x-forwarded-for'] = req.ip ?? '';
        if (isAuthorizationPath(req.path)) {
          // Each authorization request stores an interaction, and each resumption works on one: counted per client
          // address, as sign-ups are.
          try {
            await rateLimits.consume(req.path === '/oidc/auth' ? 'authorize' : 'authorizeResume', addressKey(req.ip ?? req.socket.remoteAddress));
          } catch (err) {
            if (!(err instanceof RateLimitedError)) return next(err);
            res.setHeader('Retry-After', String(err.retryAfterSeconds));
            res.status(429).json({ errors: [{ message: err.message, extensions: { code: 'RATE_LIMITED', retryAfterSeconds: err.retryAfterSeconds } }] });
            return;
          }
        }
        if (req.path === '/oidc/auth') {
          const names = current.cookieNames;
          const cookie = forgetProviderSession(req.headers.cookie, names.session);
          if (cookie === undefined) delete req.headers.cookie;
          else req.headers.cookie = cookie;
          // ...and the browser drops it, so the sign-in resumes on the session this request starts, not an older one.
          const secure = current.secureCookies ? '; Secure' : '';
          for (const name of [names.session, `${names.session}.sig`]) res.append('Set-Cookie', `${name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax${secure}`);
          try {
            await current.sessionFromAccessSheet(req, res);
          } catch (err) {
            return next(err);
          }
        }
        current.callback(req, res);
      });
    },
    context: (req, res, requestLog) => createContext(services, req, res, requestLog),
    // Subscriptions on the same port and path, over graphql-ws.
    sockets: (httpServer, app) =>
      createLiveServer({
        httpServer,
        schema,
        services,
        limits: config.live,
        clientAddress: (req) => addressKey(proxyaddr(req, app.get('trust proxy fn'))),
        corsOrigins: config.corsOrigins,
        publicOrigin: new URL(config.publicUrl).origin,
        production: config.production,
        log,
      }),
    onClose: async () => {
      stopKeyReload();
      stopChores();
      await pubsub.close();
    },
  }).catch(async (err: unknown) => {
    stopKeyReload();
    stopChores();
    await pubsub.close();
    throw err;
  });
  return { ...service, services };
}
