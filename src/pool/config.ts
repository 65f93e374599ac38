import { z } from 'zod';
import { ConfigError } from '../shared/errors.js';
import { duration, flag, issuesOf, logLevel, port, positiveInt, timezone, trustProxy, withoutEmpty } from '../shared/env.js';
import { isPostgresUrl } from '../shared/postgres.js';

const PoolEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  POOL_PORT: port(4100),
  GYM_URL: z.url({ message: 'must be an absolute http(s) URL' }).default('http://localhost:4000'),
  GYM_ISSUER: z.url({ message: 'must be an absolute http(s) URL' }).optional(),
  POOL_DATABASE_URL: z
    .string()
    .min(1)
    .default('./data/pool.sqlite')
    // Any other URL must never be taken for a SQLite file name: that would quietly create a file named after it.
    .refine((url) => isPostgresUrl(url) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url), {
      message: 'must be a SQLite file (a path, or :memory:) or a postgres:// or postgresql:// URL',
    }),
  POOL_DATABASE_POOL_SIZE: positiveInt(5),
  POOL_AUDIENCE: z.string().min(1).default('pool'),
  JWKS_CACHE_MAX_AGE: duration('10m'),
  JWKS_STALE_MAX_AGE: duration('24h'),
  JWKS_REQUESTS_PER_MINUTE: positiveInt(6),
  GRAPHQL_INTROSPECTION: flag,
  LOG_LEVEL: logLevel,
  POOL_PUBLIC_URL: z.url({ message: 'must be an absolute http(s) URL' }).optional(),
  GYM_CLIENT_ID: z.string().min(1).default('pool'),
  GYM_CLIENT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  POOL_SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  POOL_LOGIN_MAX_PER_ADDRESS: positiveInt(30),
  POOL_TIMEZONE: timezone,
  TRUST_PROXY: trustProxy,
});

/** The pool's configuration: where the gym is, and how long to trust its keys when it cannot be reached. */
export interface PoolConfig {
  production: boolean;
  port: number;
  /** Where the gym's discovery document is: `${gymUrl}/.well-known/openid-configuration`. */
  gymUrl: string;
  /**
   * The issuer tokens must name, and discovery must announce. Unset: the issuer the gym's discovery document (at
   * GYM_URL, which the operator chose) announces, so an internal URL for the gym still works.
   */
  gymIssuer: string | undefined;
  /** A SQLite file (or `:memory:`), or a `postgres://` / `postgresql://` URL. */
  databaseUrl: string;
  /** PostgreSQL connections per process. */
  databasePoolSize: number;
  audience: string;
  jwks: { cacheMaxAgeMs: number; staleMaxAgeMs: number; requestsPerMinute: number };
  introspection: boolean;
  logLevel: string;
  /** Where browsers reach the pool's website: its sign-in callback is `${publicUrl}/callback`. */
  publicUrl: string;
  /** The pool as a client of the gym's OpenID Provider; no secret: a public client (development). */
  gymClient: { clientId: string; secret: string | undefined };
  /** Signs the website's session cookie (the id of a session kept in the pool's database); undefined in development: one made at start (sessions last until a restart). */
  sessionSecret: string | undefined;
  /** Sign-ins one client address may start in a minute: each stores a session for ten minutes. */
  loginMaxPerAddress: number;
  /** The IANA time zone the website shows times in. */
  timezone: string;
  /** Express `trust proxy`, as the gym's: false ignores X-Forwarded-For and X-Forwarded-Proto. */
  trustProxy: false | number | string;
}

export function loadPoolConfig(env: Record<string, string | undefined> = process.env): PoolConfig {
  const parsed = PoolEnvSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) throw new ConfigError(issuesOf(parsed.error));
  const e = parsed.data;
  if (e.NODE_ENV === 'production') {
    const problems: string[] = [];
    if (!e.POOL_SESSION_SECRET) problems.push('POOL_SESSION_SECRET: is required in production (at least 32 characters)');
    if (!e.GYM_CLIENT_SECRET) problems.push('GYM_CLIENT_SECRET: is required in production (the secret the gym holds for GYM_CLIENT_ID)');
    if (!e.POOL_PUBLIC_URL) problems.push('POOL_PUBLIC_URL: is required in production (where browsers reach the pool)');
    // The session cookie is Secure (and __Host-) in production: over http no browser would keep it, and every sign-in
    // would end on "start again".
    else if (!e.POOL_PUBLIC_URL.startsWith('https:')) problems.push('POOL_PUBLIC_URL: must be an https:// URL in production (the session cookie is Secure)');
    if (problems.length > 0) throw new ConfigError(problems);
  }
  const trim = (url: string) => url.replace(/\/+$/, '');
  return {
    production: e.NODE_ENV === 'production',
    port: e.POOL_PORT,
    gymUrl: trim(e.GYM_URL),
    gymIssuer: e.GYM_ISSUER === undefined ? undefined : trim(e.GYM_ISSUER),
    databaseUrl: e.POOL_DATABASE_URL,
    databasePoolSize: e.POOL_DATABASE_POOL_SIZE,
    audience: e.POOL_AUDIENCE,
    jwks: { cacheMaxAgeMs: e.JWKS_CACHE_MAX_AGE, staleMaxAgeMs: e.JWKS_STALE_MAX_AGE, requestsPerMinute: e.JWKS_REQUESTS_PER_MINUTE },
    introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== 'production',
    logLevel: e.LOG_LEVEL,
    publicUrl: trim(e.POOL_PUBLIC_URL ?? `http://localhost:${e.POOL_PORT}`),
    gymClient: { clientId: e.GYM_CLIENT_ID, secret: e.GYM_CLIENT_SECRET },
    sessionSecret: e.POOL_SESSION_SECRET,
    loginMaxPerAddress: e.POOL_LOGIN_MAX_PER_ADDRESS,
    timezone: e.POOL_TIMEZONE,
    trustProxy: e.TRUST_PROXY,
  };
}
