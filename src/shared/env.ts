import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { clip } from './text.js';

/**
 * The parsers every Keycard service reads its environment with (the gym and the pool alike): durations, ports,
 * flags, lists, and one line per problem naming its variable.
 */

/** A duration written `<n>ms|s|m|h|d`, as every TTL and timeout in the environment is. */
const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `15m` into 900000. Returns null for anything else, so callers decide how to complain. */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** A zod field for a duration variable with a default, parsed to milliseconds. */
export const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `must be a duration such as 30s, 15m, 12h or 30d (got "${text}")` });
        return z.NEVER;
      }
      return ms;
    });

export const positiveInt = (fallback: number) =>
  z.coerce
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .positive('must be greater than 0')
    .default(fallback);

export const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes')
  .optional();

/** A comma-separated list, blanks dropped. */
export const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** An IANA time zone name. */
export const timezone = z
  .string()
  .default('UTC')
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be an IANA time zone such as UTC or Europe/Paris' },
  );

export const port = (fallback: number) =>
  z.coerce
    .number({ message: 'must be a port number' })
    .int('must be a port number')
    .min(0, 'must be between 0 and 65535')
    .max(65535, 'must be between 0 and 65535')
    .default(fallback);

/** `TRUST_PROXY` as Express's `trust proxy` takes it: false when unset or `false`, a hop count, or proxy addresses. */
export function parseTrustProxy(value: string | undefined): false | number | string {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'false') return false;
  if (/^\d+$/.test(text)) return Number(text);
  return text;
}

/**
 * Why a TRUST_PROXY value is refused, or null. `true` (any case) and the catch-all ranges believe the left-most
 * X-Forwarded-For entry, which any client writes: every per-address limit would be the client's to choose. Anything
 * else must be what Express's `trust proxy` compiles (proxy-addr): names like `loopback`, addresses and CIDR ranges,
 * or a hop count.
 */
export function trustProxyProblem(trust: false | number | string): string | null {
  if (typeof trust !== 'string') return null;
  const entries = trust.split(',').map((s) => s.trim());
  if (entries.some((entry) => /^true$/i.test(entry) || entry === '0.0.0.0/0' || entry === '::/0')) {
    return `"${clip(trust, 40)}" would trust an X-Forwarded-For written by any client; name your proxies (e.g. loopback, 10.0.0.0/8) or the number of proxy hops (e.g. 1)`;
  }
  try {
    proxyaddr.compile(entries);
    return null;
  } catch {
    return 'must be a hop count or a comma-separated list of proxy addresses, CIDR ranges or loopback, linklocal, uniquelocal';
  }
}

/** A zod field for `TRUST_PROXY`: parsed as Express takes it, refused when it would let clients choose their address. */
export const trustProxy = z
  .string()
  .optional()
  .transform((text, ctx) => {
    const trust = parseTrustProxy(text);
    const problem = trustProxyProblem(trust);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return trust;
  });

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

/** Every problem of a failed parse, one line each, naming its variable. */
export function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

/** An empty variable means "not set", the way shells and .env files usually write it. */
export function withoutEmpty(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}
