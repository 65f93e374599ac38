import { z } from 'zod';
import { ConfigError } from './shared/errors.js';
import { isPostgresUrl } from './shared/postgres.js';
import { duration, flag, issuesOf, list, logLevel, parseTrustProxy, port, positiveInt, timezone, trustProxyProblem, withoutEmpty } from './shared/env.js';
import type { HttpLimits } from './shared/server.js';
import type { RateLimitRules } from './auth/rate-limits.js';
import type { LiveLimits } from './live/server.js';
import type { OidcClientConfig } from './oidc/provider.js';

/** The windows of the per-member limits: long enough to stop a flood, short enough that a real member never waits long. */
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port(4000),
  DATABASE_URL: z.string().min(1, 'must not be empty').default('./data/keycard.sqlite'),
  DATABASE_POOL_SIZE: positiveInt(10),
  WEB_CONCURRENCY: positiveInt(1),
  PUBLIC_URL: z.url({ message: 'must be an absolute http(s) URL' }).optional(),
  SESSION_SECRET: list,
  KEYS_DIR: z.string().min(1).default('./data/keys'),
  KEYS_RELOAD_INTERVAL: duration('1m'),
  ACCESS_TOKEN_TTL: duration('15m'),
  REFRESH_TOKEN_TTL: duration('30d'),
  SESSION_IDLE_TIMEOUT: duration('30m'),
  SESSION_ABSOLUTE_TIMEOUT: duration('12h'),
  REFRESH_REUSE_GRACE: duration('5s'),
  SEED_DEMO: flag,
  TOKEN_REVOCATION: z.enum(['stateless', 'strict'], { message: 'must be stateless or strict' }).default('stateless'),
  CORS_ORIGINS: list,
  TRUST_PROXY: z.string().optional(),
  GRAPHQL_INTROSPECTION: flag,
  LOGIN_MAX_FAILURES_PER_EMAIL: positiveInt(5),
  LOGIN_MAX_FAILURES_PER_ADDRESS: positiveInt(100),
  LOGIN_WINDOW: duration('15m'),
  LOGIN_MAX_PER_MEMBER: positiveInt(50),
  SIGNUP_MAX_PER_ADDRESS: positiveInt(10),
  SIGNUP_WINDOW: duration('1h'),
  REFRESH_MAX_PER_MEMBER: positiveInt(300),
  REFRESH_MAX_FAMILIES_PER_MEMBER: positiveInt(30),
  CHECKIN_MAX_PER_MEMBER: positiveInt(60),
  OIDC_AUTHORIZE_MAX_PER_ADDRESS: positiveInt(30),
  GYM_TIMEZONE: timezone,
  PARTNERS: z.string().default('pool=pool:swim'),
  PARTNER_TOKEN_TTL: duration('1h'),
  PAIRWISE_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  OIDC_CLIENTS: z.string().optional(),
  OIDC_CLIENT_SECRETS: z.string().optional(),
  OIDC_CLIENT_NAMES: z.string().default(''),
  // Read only for the development registration of the pool next door, which lives where the pool says it does.
  POOL_PORT: port(4100),
  POOL_PUBLIC_URL: z.url({ message: 'must be an absolute http(s) URL' }).optional(),
  LOG_LEVEL: logLevel,
  HTTP_REQUEST_TIMEOUT: duration('30s'),
  HTTP_HEADERS_TIMEOUT: duration('10s'),
  HTTP_MAX_CONNECTIONS: positiveInt(1000),
  WS_MAX_CONNECTIONS_PER_MEMBER: positiveInt(10),
  WS_MAX_CONNECTIONS_PER_ADDRESS: positiveInt(50),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: positiveInt(20),
  WS_MAX_QUEUED_EVENTS: positiveInt(100),
});

/** Everything Keycard reads from its environment, parsed once at boot. Nothing else reads `process.env`. */
export interface Config {
  env: 'development' | 'production' | 'test';
  production: boolean;
  port: number;
  /** A SQLite file (or `:memory:`), or a `postgres://` / `postgresql://` URL. */
  databaseUrl: string;
  /** PostgreSQL connections per process. */
  databasePoolSize: number;
  /** Worker processes serving the gym on one port (more than one needs PostgreSQL). */
  webConcurrency: number;
  publicUrl: string;
  /** The first signs new session cookies; all of them verify (rotation). Empty until resolved at boot in development. */
  sessionSecrets: string[];
  keysDir: string;
  /** How often KEYS_DIR is read again for keys added by keys:rotate (on any instance sharing the folder). */
  keysReloadIntervalMs: number;
  accessTokenTtlMs: number;
  refreshTokenTtlMs: number;
  sessionIdleTimeoutMs: number;
  sessionAbsoluteTimeoutMs: number;
  refreshReuseGraceMs: number;
  /** undefined: seed only a development database that is empty. */
  seedDemo: boolean | undefined;
  tokenRevocation: 'stateless' | 'strict';
  corsOrigins: string[];
  /** Express `trust proxy`; false ignores X-Forwarded-For entirely. */
  trustProxy: false | number | string;
  introspection: boolean;
  login: { maxFailuresPerEmail: number; maxFailuresPerAddress: number; windowMs: number };
  /** The rate limits besides the login throttle (sign-ups per address; logins, refreshes, check-ins per member). */
  rateLimits: RateLimitRules;
  /** Live refresh families (signed-in devices) one member may hold; the least recently used beyond it is revoked. */
  maxRefreshFamiliesPerMember: number;
  gymTimezone: string;
  logLevel: string;
  /** How long a client may take to send a whole request, and its headers; how many connections at once. */
  http: HttpLimits;
  /** What one process lets sockets hold (subscriptions over graphql-ws). */
  live: LiveLimits;
  /** Partners that may receive a member's keycard, by audience, with the scopes their tokens carry. */
  partners: Map<string, string[]>;
  partnerTokenTtlMs: number;
  /** Overrides the pairwise-subject key Keycard otherwise makes once and keeps in its database. */
  pairwiseSecret: string | undefined;
  /** The websites that may ask members to sign in with the gym (the gym as an OpenID Provider). */
  oidcClients: OidcClientConfig[];
}

/**
 * In development the pool next door is a registered client where `npm run pool` serves it (POOL_PUBLIC_URL, else
 * http://localhost:POOL_PORT, read as the pool reads them, so one environment moves both), a public one (PKCE alone:
 * there is no secret to share with it on a laptop); production registers only the clients it is given, each with a
 * secret. One redirect URI on one host: a pairwise client whose redirects span hosts needs a sector identifier, and
 * the pool sends a person who typed another loopback name (127.0.0.1) to its public URL before signing in.
 */
function developmentClients(poolPublicUrl: string | undefined, poolPort: number): string {
  return `pool=${(poolPublicUrl ?? `http://localhost:${poolPort}`).replace(/\/+$/, '')}/callback`;
}

/**
 * `pool=https://pool.example/callback, spa=https://spa.example/cb https://spa.example/cb2` with the secrets of
 * `pool=<secret>, ...`: the clients, or the problems.
 */
function parseOidcClients(text: string, secretsText: string, namesText: string, production: boolean): { clients: OidcClientConfig[]; problems: string[] } {
  const problems: string[] = [];
  // The pool next door has its name without being told; OIDC_CLIENT_NAMES names the others (or renames it).
  const names = new Map<string, string>([['pool', 'The pool next door']]);
  for (const entry of namesText.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = entry.indexOf('=');
    const id = entry.slice(0, at).trim();
    const name = entry.slice(at + 1).trim();
    // A name is shown on the gym's own pages: printable, short, and never mistaken for markup (it is escaped anyway).
    if (at <= 0 || !AUDIENCE.test(id) || name.length === 0 || name.length > 60 || /[\p{Cc}\p{Cf}<>]/u.test(name)) {
      problems.push('OIDC_CLIENT_NAMES: must be client=name entries separated by commas (a name of 1 to 60 printable characters), e.g. pool=The pool next door');
    } else names.set(id, name);
  }
  const secrets = new Map<string, string>();
  for (const entry of secretsText.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = entry.indexOf('=');
    const id = entry.slice(0, at).trim();
    const secret = entry.slice(at + 1).trim();
    if (at <= 0 || !AUDIENCE.test(id)) problems.push('OIDC_CLIENT_SECRETS: must be client=secret entries separated by commas');
    else if (secret.length < 32) problems.push(`OIDC_CLIENT_SECRETS: the secret of ${id} must be at least 32 characters`);
    else secrets.set(id, secret);
  }
  const clients: OidcClientConfig[] = [];
  for (const entry of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [id = '', uris = ''] = entry.split('=').map((s) => s.trim());
    const redirectUris = uris.split(/\s+/).filter(Boolean);
    const valid = AUDIENCE.test(id) && redirectUris.length > 0 && redirectUris.every((uri) => /^https?:\/\/[^\s#]+$/.test(uri) && URL.canParse(uri));
    if (!valid) {
      problems.push('OIDC_CLIENTS: must be client=redirect_uri[ redirect_uri...] entries separated by commas, e.g. pool=https://pool.example/callback');
      continue;
    }
    if (production && !secrets.has(id)) problems.push(`OIDC_CLIENT_SECRETS: production needs a secret for the client ${id}`);
    if (production && redirectUris.some((uri) => uri.startsWith('http:'))) problems.push(`OIDC_CLIENTS: production redirects ${id} over HTTPS only`);
    clients.push({ clientId: id, redirectUris, name: names.get(id) ?? id, ...(secrets.has(id) ? { secret: secrets.get(id)! } : {}) });
  }
  return { clients, problems };
}

/** The clients the environment registers: OIDC_CLIENTS, or the pool next door in development. */
function oidcClientsOf(e: z.infer<typeof EnvSchema>, production: boolean) {
  const clients = e.OIDC_CLIENTS ?? (production ? '' : developmentClients(e.POOL_PUBLIC_URL, e.POOL_PORT));
  return parseOidcClients(clients, e.OIDC_CLIENT_SECRETS ?? '', e.OIDC_CLIENT_NAMES, production);
}

const AUDIENCE = /^[a-z][a-z0-9-]{0,31}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** `pool=pool:swim, spa=spa:enter spa:towel` → audience → scopes; null when malformed. */
function parsePartners(text: string): Map<string, string[]> | null {
  const partners = new Map<string, string[]>();
  for (const entry of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [audience, scopes = ''] = entry.split('=').map((s) => s.trim());
    const list = scopes.split(/\s+/).filter(Boolean);
    // The gym's own audience is never a partner: a partner token must never open the gym.
    if (!audience || !AUDIENCE.test(audience) || audience === 'keycard' || list.length === 0 || !list.every((s) => SCOPE.test(s))) return null;
    partners.set(audience, list);
  }
  return partners;
}

/**
 * Validates the environment and returns the typed configuration, or throws a {@link ConfigError}
 * listing every bad variable. Production refuses to start without a session secret.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(withoutEmpty(env));
  const problems: string[] = parsed.success ? [] : issuesOf(parsed.error);
  const e = parsed.data;
  if (e) {
    const production = e.NODE_ENV === 'production';
    if (production && e.SESSION_SECRET.length === 0) {
      problems.push('SESSION_SECRET: is required in production (comma-separated; the first signs, all verify)');
    }
    for (const secret of e.SESSION_SECRET) {
      if (secret.length < 32) {
        problems.push('SESSION_SECRET: each secret must be at least 32 characters');
        break;
      }
    }
    if (!parsePartners(e.PARTNERS)) {
      problems.push('PARTNERS: must be audience=scope[ scope...] entries separated by commas, e.g. pool=pool:swim');
    }
    // Any other URL must never be taken for a SQLite file name: that would quietly create a file named after it.
    const postgres = isPostgresUrl(e.DATABASE_URL);
    if (!postgres && /^[a-z][a-z0-9+.-]*:\/\//i.test(e.DATABASE_URL)) {
      problems.push('DATABASE_URL: must be a SQLite file (a path, or :memory:) or a postgres:// or postgresql:// URL');
    }
    // Workers on one SQLite file would wait on each other's write lock with their event loops blocked, and only
    // PostgreSQL carries events between processes.
    if (!postgres && e.WEB_CONCURRENCY > 1) {
      problems.push(`WEB_CONCURRENCY: ${e.WEB_CONCURRENCY} workers need PostgreSQL (DATABASE_URL=postgres://...); on SQLite, Keycard runs one process`);
    }
    const trustProblem = trustProxyProblem(parseTrustProxy(e.TRUST_PROXY));
    if (trustProblem) problems.push(`TRUST_PROXY: ${trustProblem}`);
    problems.push(...oidcClientsOf(e, production).problems);
    for (const origin of e.CORS_ORIGINS) {
      if (origin === '*') problems.push('CORS_ORIGINS: "*" cannot be used with credentials; list the origins');
    }
  }
  if (problems.length > 0 || !e) throw new ConfigError(problems);

  const production = e.NODE_ENV === 'production';
  return {
    env: e.NODE_ENV,
    production,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    webConcurrency: e.WEB_CONCURRENCY,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    sessionSecrets: e.SESSION_SECRET,
    keysDir: e.KEYS_DIR,
    keysReloadIntervalMs: e.KEYS_RELOAD_INTERVAL,
    accessTokenTtlMs: e.ACCESS_TOKEN_TTL,
    refreshTokenTtlMs: e.REFRESH_TOKEN_TTL,
    sessionIdleTimeoutMs: e.SESSION_IDLE_TIMEOUT,
    sessionAbsoluteTimeoutMs: e.SESSION_ABSOLUTE_TIMEOUT,
    refreshReuseGraceMs: e.REFRESH_REUSE_GRACE,
    seedDemo: e.SEED_DEMO,
    tokenRevocation: e.TOKEN_REVOCATION,
    corsOrigins: e.CORS_ORIGINS,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    introspection: e.GRAPHQL_INTROSPECTION ?? !production,
    login: {
      maxFailuresPerEmail: e.LOGIN_MAX_FAILURES_PER_EMAIL,
      maxFailuresPerAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS,
      windowMs: e.LOGIN_WINDOW,
    },
    rateLimits: {
      signUp: { points: e.SIGNUP_MAX_PER_ADDRESS, windowMs: e.SIGNUP_WINDOW },
      login: { points: e.LOGIN_MAX_PER_MEMBER, windowMs: e.LOGIN_WINDOW },
      refresh: { points: e.REFRESH_MAX_PER_MEMBER, windowMs: HOUR_MS },
      checkIn: { points: e.CHECKIN_MAX_PER_MEMBER, windowMs: HOUR_MS },
      passwordCheck: { points: e.LOGIN_MAX_FAILURES_PER_EMAIL, windowMs: e.LOGIN_WINDOW },
      authorize: { points: e.OIDC_AUTHORIZE_MAX_PER_ADDRESS, windowMs: MINUTE_MS },
      // A sign-in resumes its request up to three times (after the password, after consent, after a new prompt): its
      // resumptions are counted apart, so the members behind one address get as many sign-ins as the limit says.
      authorizeResume: { points: 3 * e.OIDC_AUTHORIZE_MAX_PER_ADDRESS, windowMs: MINUTE_MS },
    },
    maxRefreshFamiliesPerMember: e.REFRESH_MAX_FAMILIES_PER_MEMBER,
    gymTimezone: e.GYM_TIMEZONE,
    logLevel: e.LOG_LEVEL,
    http: { requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT, headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT, maxConnections: e.HTTP_MAX_CONNECTIONS },
    live: {
      maxConnectionsPerMember: e.WS_MAX_CONNECTIONS_PER_MEMBER,
      maxConnectionsPerAddress: e.WS_MAX_CONNECTIONS_PER_ADDRESS,
      maxSubscriptionsPerConnection: e.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxQueuedEvents: e.WS_MAX_QUEUED_EVENTS,
    },
    partners: parsePartners(e.PARTNERS)!,
    partnerTokenTtlMs: e.PARTNER_TOKEN_TTL,
    pairwiseSecret: e.PAIRWISE_SECRET,
    oidcClients: oidcClientsOf(e, production).clients,
  };
}
