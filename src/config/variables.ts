import { z } from 'zod';
import { duration, flag, list, logLevel, port, positiveInt, timezone } from '../shared/env.js';

/**
 * Every variable Keycard reads, with its default: one zod schema, so a start with several bad variables names them
 * all at once. What one variable cannot say about another (a secret production requires, workers that need
 * PostgreSQL) is checked after, in src/config.ts.
 */
export const EnvSchema = z.object({
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

/** The environment as the schema reads it: defaults filled in, durations in milliseconds. */
export type Variables = z.infer<typeof EnvSchema>;
