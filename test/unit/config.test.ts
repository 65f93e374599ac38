import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/shared/errors.js';
import { parseDuration } from '../../src/shared/env.js';

const SECRET = 'a'.repeat(40);

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      port: 4000,
      databaseUrl: './data/keycard.sqlite',
      publicUrl: 'http://localhost:4000',
      accessTokenTtlMs: 15 * 60_000,
      refreshTokenTtlMs: 30 * 86_400_000,
      sessionIdleTimeoutMs: 30 * 60_000,
      sessionAbsoluteTimeoutMs: 12 * 3_600_000,
      refreshReuseGraceMs: 5_000,
      tokenRevocation: 'stateless',
      introspection: true,
      trustProxy: false,
      login: { maxFailuresPerEmail: 5, maxFailuresPerAddress: 100, windowMs: 15 * 60_000 },
      rateLimits: {
        signUp: { points: 10, windowMs: 3_600_000 },
        login: { points: 50, windowMs: 15 * 60_000 },
        refresh: { points: 300, windowMs: 3_600_000 },
        checkIn: { points: 60, windowMs: 3_600_000 },
        passwordCheck: { points: 5, windowMs: 15 * 60_000 },
      },
      maxRefreshFamiliesPerMember: 30,
      gymTimezone: 'UTC',
      logLevel: 'info',
    });
  });

  it('lists every bad variable at once, each by name', () => {
    try {
      loadConfig({ PORT: '-1', ACCESS_TOKEN_TTL: 'abc', TOKEN_REVOCATION: 'sometimes', GYM_TIMEZONE: 'Mars/Olympus' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).message;
      for (const name of ['PORT', 'ACCESS_TOKEN_TTL', 'TOKEN_REVOCATION', 'GYM_TIMEZONE']) expect(text).toContain(name);
      expect((err as ConfigError).problems).toHaveLength(4);
    }
  });

  it('lists every problem between variables at once too, in the order of the variables', () => {
    const env = { NODE_ENV: 'production', PARTNERS: 'keycard=gym', WEB_CONCURRENCY: '2', TRUST_PROXY: 'true', OIDC_CLIENTS: 'spa=http://spa.example/cb', CORS_ORIGINS: '*' };
    try {
      loadConfig(env);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.slice(0, p.indexOf(':')))).toEqual([
        'SESSION_SECRET',
        'PARTNERS',
        'WEB_CONCURRENCY',
        'TRUST_PROXY',
        'OIDC_CLIENT_SECRETS',
        'OIDC_CLIENTS',
        'CORS_ORIGINS',
      ]);
    }
  });

  it('refuses to start in production without a session secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SESSION_SECRET: is required in production/);
  });

  it('turns on the strict defaults in production', () => {
    const config = loadConfig({ NODE_ENV: 'production', SESSION_SECRET: SECRET });
    expect(config).toMatchObject({ production: true, introspection: false });
  });

  it('takes several comma-separated session secrets: the first signs, all verify', () => {
    expect(loadConfig({ SESSION_SECRET: `${SECRET}, ${'b'.repeat(40)}` }).sessionSecrets).toEqual([SECRET, 'b'.repeat(40)]);
    expect(() => loadConfig({ SESSION_SECRET: 'short' })).toThrow(/at least 32 characters/);
  });

  it('refuses * among CORS origins, since credentials are always allowed', () => {
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
  });

  it('reads durations in ms, s, m, h and d', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('30d')).toBe(2_592_000_000);
    expect(parseDuration('1.5h')).toBeNull();
    expect(parseDuration('abc')).toBeNull();
  });

  it('never takes a database URL for a SQLite file name', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root@127.0.0.1/keycard' })).toThrow(/DATABASE_URL: must be a SQLite file/);
    expect(loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/keycard' }).databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/keycard');
    expect(loadConfig({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/keycard' }).databaseUrl).toBe('postgresql://postgres@127.0.0.1:5432/keycard');
    expect(loadConfig({ DATABASE_URL: './data/other.sqlite' }).databaseUrl).toBe('./data/other.sqlite');
  });

  it('runs several workers only on PostgreSQL', () => {
    expect(loadConfig({}).webConcurrency).toBe(1);
    expect(() => loadConfig({ WEB_CONCURRENCY: '2' })).toThrow(/WEB_CONCURRENCY: 2 workers need PostgreSQL/);
    expect(loadConfig({ WEB_CONCURRENCY: '2', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/keycard' }).webConcurrency).toBe(2);
    expect(() => loadConfig({ WEB_CONCURRENCY: '0' })).toThrow(/WEB_CONCURRENCY/);
  });

  it('passes TRUST_PROXY through as Express reads it', () => {
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback');
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    // `true` would believe any client's X-Forwarded-For, so every per-address limit would be the client's to choose.
    for (const value of ['true', 'TRUE', ' True ', 'loopback, 0.0.0.0/0', '::/0']) {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY: ".*" would trust an X-Forwarded-For written by any client/);
    }
    // A value Express could not compile stops the start with the variable's name, not a bare TypeError later.
    expect(() => loadConfig({ TRUST_PROXY: 'not-an-address' })).toThrow(/TRUST_PROXY: must be a hop count or a comma-separated list/);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8');
  });

  describe('the development registration of the pool next door', () => {
    it('registers the pool where npm run pool serves it, one redirect URI on one host, by its name', () => {
      expect(loadConfig({}).oidcClients).toEqual([{ clientId: 'pool', redirectUris: ['http://localhost:4100/callback'], name: 'The pool next door' }]);
    });

    it('follows the pool when POOL_PORT or POOL_PUBLIC_URL moves it, as the pool itself reads them', () => {
      expect(loadConfig({ POOL_PORT: '5100' }).oidcClients[0]!.redirectUris).toEqual(['http://localhost:5100/callback']);
      expect(loadConfig({ POOL_PORT: '5100', POOL_PUBLIC_URL: 'http://pool.localhost:8080/' }).oidcClients[0]!.redirectUris).toEqual(['http://pool.localhost:8080/callback']);
    });

    it('registers nothing by default in production, and names clients from OIDC_CLIENT_NAMES', () => {
      const production = { NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(32) };
      expect(loadConfig(production).oidcClients).toEqual([]);
      const clients = loadConfig({
        ...production,
        OIDC_CLIENTS: 'pool=https://pool.example/callback, spa=https://spa.example/cb',
        OIDC_CLIENT_SECRETS: `pool=${'p'.repeat(32)}, spa=${'s'.repeat(32)}`,
        OIDC_CLIENT_NAMES: 'spa=The spa upstairs',
      }).oidcClients;
      expect(clients.map((c) => [c.clientId, c.name])).toEqual([['pool', 'The pool next door'], ['spa', 'The spa upstairs']]);
    });

    it('refuses a client name that is not one printable line, naming the variable', () => {
      expect(() => loadConfig({ OIDC_CLIENT_NAMES: 'pool=<b>Pool</b>' })).toThrow(/OIDC_CLIENT_NAMES/);
      expect(() => loadConfig({ OIDC_CLIENT_NAMES: 'pool=' })).toThrow(/OIDC_CLIENT_NAMES/);
    });
  });
});
