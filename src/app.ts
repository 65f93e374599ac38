import type http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import type express from 'express';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AccessTokens } from './auth/access-tokens.js';
import { bearerStrategy } from './auth/bearer.js';
import { prepareDummyHash } from './auth/passwords.js';
import type { KeyRing } from './auth/keys.js';
import { PartnerTokens } from './auth/partner-tokens.js';
import { RefreshTokens } from './auth/refresh-tokens.js';
import { cookieUnlessBearer, createSessionMiddleware, sessionStrategy } from './auth/session.js';
import { SqliteSessionStore } from './auth/session-store.js';
import { LoginThrottle } from './auth/throttle.js';
import type { GymStrategy } from './auth/viewer.js';
import type { Config } from './config.js';
import { createContext, type Context, type Services } from './context.js';
import type { GymDatabase } from './db/client.js';
import { getOrCreateSecret } from './db/secrets.js';
import { createHttpApp, graphqlDefaults, healthCheck, httpErrors, jsonBody, noStore, notFound, requestLogger, securityHeaders } from './shared/server.js';
import { createLogger } from './shared/logger.js';
import { buildSchema } from './schema.js';

export interface AppOptions {
  config: Config;
  database: GymDatabase;
  /** The signing keys: main loads them from KEYS_DIR (making one in development). */
  keyRing: KeyRing;
  logger?: Logger;
}

export interface KeycardApp {
  app: express.Express;
  httpServer: http.Server;
  apollo: ApolloServer<Context>;
  services: Services;
  /** Stops taking requests, drains those in flight, stops timers. The caller closes the database. */
  close(): Promise<void>;
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
export async function createApp({ config, database, keyRing, logger }: AppOptions): Promise<KeycardApp> {
  const log = logger ?? createLogger(config.logLevel);
  if (config.sessionSecrets.length === 0) throw new Error('createApp needs at least one session secret');
  const { db } = database;
  await prepareDummyHash();
  const sessionStore = new SqliteSessionStore(db, { idleTimeoutMs: config.sessionIdleTimeoutMs });
  const accessTokens = new AccessTokens(keyRing, { issuer: config.publicUrl, ttlMs: config.accessTokenTtlMs });
  const refreshTokens = new RefreshTokens(db, { ttlMs: config.refreshTokenTtlMs, graceMs: config.refreshReuseGraceMs });
  // Order matters: an Authorization header, when present, alone decides; only then is the cookie consulted.
  const strategies: GymStrategy[] = [
    bearerStrategy({ tokens: accessTokens, revocation: config.tokenRevocation }),
    sessionStrategy({ absoluteTimeoutMs: config.sessionAbsoluteTimeoutMs }),
  ];
  const partnerTokens = new PartnerTokens(keyRing, {
    issuer: config.publicUrl,
    ttlMs: config.partnerTokenTtlMs,
    partners: config.partners,
    pairwiseSecret: config.pairwiseSecret ?? getOrCreateSecret(db, 'pairwise-subject'),
  });
  const throttle = new LoginThrottle(db, config.login);
  const sessions = createSessionMiddleware({
    store: sessionStore,
    secrets: config.sessionSecrets,
    production: config.production,
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    absoluteTimeoutMs: config.sessionAbsoluteTimeoutMs,
  });
  const services: Services = { db, sessions, config, throttle, sessionStore, accessTokens, refreshTokens, partnerTokens, strategies, log };

  // Housekeeping, never keeping the process alive: pick up keys added by keys:rotate, drop dead rows.
  const housekeeping = setInterval(() => {
    try {
      keyRing.reload();
      throttle.sweep();
      refreshTokens.sweep();
    } catch (err) {
      log.warn({ err }, 'housekeeping failed; will try again');
    }
  }, 60_000);
  housekeeping.unref();

  const { app, httpServer } = createHttpApp();
  // Without TRUST_PROXY, req.ip is the socket's address and X-Forwarded-For is ignored: it cannot be forged.
  app.set('trust proxy', config.trustProxy);

  const apollo = new ApolloServer<Context>({
    schema: buildSchema(),
    ...graphqlDefaults<Context>({
      production: config.production,
      introspection: config.introspection,
      log,
      httpServer,
      // Sandbox sends the session cookie back, so signing in with mode: SESSION works there.
      sandbox: { document: SANDBOX_DOCUMENT, includeCookies: true },
    }),
  });
  await apollo.start();

  app.use(requestLogger(log));
  app.use(securityHeaders(config.production));
  app.get('/healthz', healthCheck(database.sqlite));

  // The published half of the key ring, for any reader of the gym's tokens (the pool next door, API gateways).
  app.get('/.well-known/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(keyRing.jwks());
  });
  app.get('/.well-known/openid-configuration', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.json({
      issuer: config.publicUrl,
      jwks_uri: `${config.publicUrl}/.well-known/jwks.json`,
      // What Keycard signs with, and that partners get pairwise subjects; it is not a full OpenID provider.
      id_token_signing_alg_values_supported: ['ES256'],
      subject_types_supported: ['public', 'pairwise'],
    });
  });

  const graphqlChain: RequestHandler[] = [noStore];
  // CORS only for the origins configured, always with credentials, never `*`; no origins: no CORS headers at all.
  if (config.corsOrigins.length > 0) graphqlChain.push(cors({ origin: config.corsOrigins, credentials: true, maxAge: 600 }));
  graphqlChain.push(
    jsonBody(),
    cookieUnlessBearer(sessions),
    expressMiddleware(apollo, {
      context: ({ req, res }) => createContext(services, req, res),
    }),
  );
  app.use('/graphql', ...graphqlChain);
  app.use(notFound);
  app.use(httpErrors(log));

  return {
    app,
    httpServer,
    apollo,
    services,
    async close() {
      clearInterval(housekeeping);
      await apollo.stop();
      sessionStore.close();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
