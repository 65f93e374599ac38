import { ConfigError } from './shared/errors.js';
import { issuesOf, parseTrustProxy, trustProxyProblem, withoutEmpty } from './shared/env.js';
import { isPostgresUrl } from './shared/postgres.js';
import type { HttpLimits } from './shared/server.js';
import { oidcClientsOf, parsePartners } from './config/clients.js';
import type { LiveLimits, OidcClientConfig, RateLimitRules } from './config/options.js';
import { EnvSchema, type Variables } from './config/variables.js';

/** The windows of the per-member limits: long enough to stop a flood, short enough that a real member never waits long. */
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

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

/** SESSION_SECRET: required in production, each secret long enough that it cannot be guessed. */
function secretProblems(e: Variables, production: boolean): string[] {
  const problems: string[] = [];
  if (production && e.SESSION_SECRET.length === 0) {
    problems.push('SESSION_SECRET: is required in production (comma-separated; the first signs, all verify)');
  }
  if (e.SESSION_SECRET.some((secret) => secret.length < 32)) problems.push('SESSION_SECRET: each secret must be at least 32 characters');
  return problems;
}

/** DATABASE_URL and WEB_CONCURRENCY: a database Keycard can open, and workers only where they can share it. */
function databaseProblems(e: Variables): string[] {
  const problems: string[] = [];
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
  return problems;
}

/** What one variable cannot say about another, each problem naming its variable, in the order of the variables. */
function crossProblems(e: Variables, production: boolean, partners: Map<string, string[]> | null, oidcProblems: string[]): string[] {
  const trustProblem = trustProxyProblem(parseTrustProxy(e.TRUST_PROXY));
  return [
    ...secretProblems(e, production),
    ...(partners ? [] : ['PARTNERS: must be audience=scope[ scope...] entries separated by commas, e.g. pool=pool:swim']),
    ...databaseProblems(e),
    ...(trustProblem ? [`TRUST_PROXY: ${trustProblem}`] : []),
    ...oidcProblems,
    ...e.CORS_ORIGINS.filter((origin) => origin === '*').map(() => 'CORS_ORIGINS: "*" cannot be used with credentials; list the origins'),
  ];
}

/** Where Keycard listens, what it stores in, and how it treats the requests it is sent. */
function serverOf(e: Variables, production: boolean) {
  return {
    env: e.NODE_ENV,
    production,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    webConcurrency: e.WEB_CONCURRENCY,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    seedDemo: e.SEED_DEMO,
    corsOrigins: e.CORS_ORIGINS,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    introspection: e.GRAPHQL_INTROSPECTION ?? !production,
    gymTimezone: e.GYM_TIMEZONE,
    logLevel: e.LOG_LEVEL,
  } satisfies Partial<Config>;
}

/** The session secrets, the signing keys and how long each credential lives. */
function credentialsOf(e: Variables) {
  return {
    sessionSecrets: e.SESSION_SECRET,
    keysDir: e.KEYS_DIR,
    keysReloadIntervalMs: e.KEYS_RELOAD_INTERVAL,
    accessTokenTtlMs: e.ACCESS_TOKEN_TTL,
    refreshTokenTtlMs: e.REFRESH_TOKEN_TTL,
    sessionIdleTimeoutMs: e.SESSION_IDLE_TIMEOUT,
    sessionAbsoluteTimeoutMs: e.SESSION_ABSOLUTE_TIMEOUT,
    refreshReuseGraceMs: e.REFRESH_REUSE_GRACE,
    tokenRevocation: e.TOKEN_REVOCATION,
    maxRefreshFamiliesPerMember: e.REFRESH_MAX_FAMILIES_PER_MEMBER,
    partnerTokenTtlMs: e.PARTNER_TOKEN_TTL,
    pairwiseSecret: e.PAIRWISE_SECRET,
  } satisfies Partial<Config>;
}

/** The rate limits besides the login throttle. */
function rateLimitsOf(e: Variables): RateLimitRules {
  return {
    signUp: { points: e.SIGNUP_MAX_PER_ADDRESS, windowMs: e.SIGNUP_WINDOW },
    login: { points: e.LOGIN_MAX_PER_MEMBER, windowMs: e.LOGIN_WINDOW },
    refresh: { points: e.REFRESH_MAX_PER_MEMBER, windowMs: HOUR_MS },
    checkIn: { points: e.CHECKIN_MAX_PER_MEMBER, windowMs: HOUR_MS },
    passwordCheck: { points: e.LOGIN_MAX_FAILURES_PER_EMAIL, windowMs: e.LOGIN_WINDOW },
    authorize: { points: e.OIDC_AUTHORIZE_MAX_PER_ADDRESS, windowMs: MINUTE_MS },
    // A sign-in resumes its request up to three times (after the password, after consent, after a new prompt): its
    // resumptions are counted apart, so the members behind one address get as many sign-ins as the limit says.
    authorizeResume: { points: 3 * e.OIDC_AUTHORIZE_MAX_PER_ADDRESS, windowMs: MINUTE_MS },
  };
}

/** What a client may make Keycard count, wait for or hold: the login throttle, the rate limits, HTTP and sockets. */
function limitsOf(e: Variables) {
  return {
    login: { maxFailuresPerEmail: e.LOGIN_MAX_FAILURES_PER_EMAIL, maxFailuresPerAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS, windowMs: e.LOGIN_WINDOW },
    rateLimits: rateLimitsOf(e),
    http: { requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT, headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT, maxConnections: e.HTTP_MAX_CONNECTIONS },
    live: {
      maxConnectionsPerMember: e.WS_MAX_CONNECTIONS_PER_MEMBER,
      maxConnectionsPerAddress: e.WS_MAX_CONNECTIONS_PER_ADDRESS,
      maxSubscriptionsPerConnection: e.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxQueuedEvents: e.WS_MAX_QUEUED_EVENTS,
    },
  } satisfies Partial<Config>;
}

/**
 * Validates the environment and returns the typed configuration, or throws a {@link ConfigError}
 * listing every bad variable. Production refuses to start without a session secret.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) throw new ConfigError(issuesOf(parsed.error));
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const partners = parsePartners(e.PARTNERS);
  const oidc = oidcClientsOf(e, production);
  const problems = crossProblems(e, production, partners, oidc.problems);
  if (problems.length > 0 || !partners) throw new ConfigError(problems);
  return { ...serverOf(e, production), ...credentialsOf(e), ...limitsOf(e), partners, oidcClients: oidc.clients };
}
