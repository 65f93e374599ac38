import type express from 'express';
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
import { realClock, type Clock } from './shared/clock.js';
import { scheduleChores } from './shared/housekeeping.js';
import { createLogger } from './shared/logger.js';
import { createService, type Service } from './shared/server.js';
import { addressKey } from './shared/addresses.js';
import { LiveEvents } from './live/events.js';
import { openPubSub } from './live/open-pubsub.js';
import { createLiveServer } from './live/server.js';
import type { PubSub } from './live/pubsub.js';
import { createOidcMount, type OidcMount } from './oidc/mount.js';
import proxyaddr from 'proxy-addr';

export interface AppOptions {
  config: Config;
  database: GymData;
  /** The signing keys: main loads them from KEYS_DIR (making one in development). */
  keyRing: KeyRing;
  logger?: Logger;
  /**
   * The time session timeouts, token expiry and the refresh grace count by, and what runs the periodic chores: the
   * machine's clock unless given (tests move one forward instead of waiting).
   */
  clock?: Clock;
}

/** The gym's server: the shared service shell (Express, HTTP server, Apollo) and the services behind it. */
export interface KeycardApp extends Service<Context> {
  services: Services;
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

/** The services every request shares, and the pub/sub under their live events (closed with the app). */
async function gymServices(config: Config, data: GymData, keyRing: KeyRing, log: Logger, clock: Clock): Promise<{ services: Services; pubsub: PubSub }> {
  const accessTokens = new AccessTokens(keyRing, { issuer: config.publicUrl, ttlMs: config.accessTokenTtlMs, clock });
  const refreshTokens = new RefreshTokens(data, {
    ttlMs: config.refreshTokenTtlMs,
    graceMs: config.refreshReuseGraceMs,
    maxFamiliesPerMember: config.maxRefreshFamiliesPerMember,
    clock,
  });
  const sessions = new Sessions({
    data,
    secrets: config.sessionSecrets,
    production: config.production,
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    absoluteTimeoutMs: config.sessionAbsoluteTimeoutMs,
    clock,
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
  return { services, pubsub };
}

/** The published half of the key ring, for any reader of the gym's tokens (the pool next door, API gateways). */
function publishKeys(app: express.Express, keyRing: KeyRing): void {
  app.get('/.well-known/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(keyRing.jwks());
  });
}

/**
 * Every process keeps its own copy of the key ring: each reads KEYS_DIR again, so a key added by keys:rotate on any
 * instance sharing the folder signs everywhere within the interval (and verifies at once: see reloadForUnknownKid).
 * A bad file is logged by name and skipped. Returns a function that stops it.
 */
function followKeyRing(keyRing: KeyRing, oidc: OidcMount, config: Config, log: Logger, clock: Clock): () => void {
  return scheduleChores(
    {
      'reload signing keys': () => {
        keyRing.reload((file, problem) => log.warn({ file, problem }, 'skipping a file in KEYS_DIR that is not a usable key'));
        oidc.followKeyRing();
      },
    },
    log,
    config.keysReloadIntervalMs,
    clock,
  );
}

/**
 * Dead rows are dropped by every process: each sweep is one idempotent DELETE of rows past their deadline (the rate
 * limits' in batches), so instances sweeping at once only find less to delete, and correctness never depends on a
 * sweep (every read checks the deadline itself). Returns a function that stops them.
 */
function sweepDeadRows({ throttle, rateLimits, refreshTokens, sessions, data, log }: Services, clock: Clock): () => void {
  return scheduleChores(
    {
      'sweep login throttle': () => throttle.sweep(),
      'sweep rate limits': () => rateLimits.sweep(),
      'sweep refresh tokens': () => refreshTokens.sweep(),
      'sweep sessions': () => sessions.sweep(),
      'sweep the OpenID Provider': () => data.oidc.deleteExpired(Date.now()),
    },
    log,
    60_000,
    clock,
  );
}

/**
 * Builds the whole gym server (Express, sessions, Apollo) on an open database, without listening: main listens on
 * the configured port, tests on port 0.
 */
export async function createApp({ config, database: data, keyRing, logger, clock = realClock }: AppOptions): Promise<KeycardApp> {
  const log = logger ?? createLogger(config.logLevel);
  if (config.sessionSecrets.length === 0) throw new Error('createApp needs at least one session secret');
  await prepareDummyHash();
  const { services, pubsub } = await gymServices(config, data, keyRing, log, clock);
  const schema = buildSchema();
  const oidc = await createOidcMount({ services, keyRing, clock });
  const stopKeyReload = followKeyRing(keyRing, oidc, config, log, clock);
  const stopChores = sweepDeadRows(services, clock);

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
      publishKeys(app, keyRing);
      oidc.routes(app);
    },
    context: (req, res, requestLog) => createContext(services, req, res, requestLog),
    // Subscriptions on the same port and path, over graphql-ws, through the same GraphQL pipeline as HTTP.
    sockets: (httpServer, app, pipeline) =>
      createLiveServer({
        httpServer,
        pipeline,
        services,
        limits: config.live,
        clientAddress: (req) => addressKey(proxyaddr(req, app.get('trust proxy fn'))),
        corsOrigins: config.corsOrigins,
        publicOrigin: new URL(config.publicUrl).origin,
        production: config.production,
        clock,
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
