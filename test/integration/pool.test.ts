import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSigningKey } from '../../src/auth/keys.js';
import { fromGlobalId } from '../../src/ids.js';
import { loadPoolConfig } from '../../src/pool/config.js';
import { ROOT } from '../../src/shared/paths.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, codes, type DemoName } from '../helpers/client.js';
import { TestClock } from '../helpers/clock.js';
import { gymToken, poolToken, startTestPool, swim, type TestPool } from '../helpers/pool.js';
import { decodeJwt, foreignKey, forgeEs256 } from '../helpers/tokens.js';

const ISSUE = 'mutation($aud: String!) { issuePartnerToken(audience: $aud) { token audience expiresAt } }';

describe('the pool next door', () => {
  let gym: TestApp;
  let pool: TestPool;
  beforeAll(async () => {
    gym = await startTestApp({ env: { PARTNERS: 'pool=pool:swim, spa=spa:enter' } });
    pool = await startTestPool(gym.url);
  });
  afterAll(async () => {
    await pool.close();
    await gym.close();
  });

  it('admits a gym member on a pool token and records the visit in its own database', async () => {
    const token = await poolToken(gym, 'alice');
    const res = await swim(pool, token);
    expect(res.errors).toBeUndefined();
    expect(res.data.swim.member.name).toBe('Alice Member');
    const visits = await swim(pool, token, '{ visits swimmer { name } }');
    expect(visits.data.visits).toEqual([res.data.swim.admittedAt]);
    expect(await pool.visitCount()).toBe(1);
  });

  it('issues a short-lived ES256 partner token with the pool audience, scope, name and a pairwise subject', async () => {
    const { accessToken, memberId } = await gymToken(gym, 'alice');
    const res = await new Client(gym.url).gql(ISSUE, { aud: 'pool' }, { authorization: `Bearer ${accessToken}` });
    const { header, payload } = decodeJwt(res.data.issuePartnerToken.token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'partner+jwt', kid: gym.keyRing.current.kid });
    expect(payload).toMatchObject({ iss: gym.url, aud: 'pool', scope: 'pool:swim', name: 'Alice Member' });
    expect(typeof payload.membership_valid_until).toBe('number');
    // PARTNER_TOKEN_TTL is an hour, but a partner token never outlives the access token that asked for it.
    expect(payload.exp).toBeLessThanOrEqual(decodeJwt(accessToken).payload.exp as number);
    expect((payload.exp as number) - (payload.iat as number)).toBeGreaterThan(800);
    // Pairwise: not the gym's global ID, nor its row id.
    expect(payload.sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(payload.sub).not.toBe(memberId);
    expect(payload.sub).not.toBe(String(fromGlobalId(memberId)!.id));
  });

  it('gives each member one stable pairwise subject per partner', async () => {
    const sub = async (who: DemoName, audience = 'pool') => decodeJwt(await poolToken(gym, who, audience)).payload.sub;
    const alice = await sub('alice');
    expect(await sub('alice')).toBe(alice);
    expect(await sub('staff')).not.toBe(alice);
    expect(await sub('alice', 'spa')).not.toBe(alice);
    const admitted = await swim(pool, await poolToken(gym, 'alice'));
    expect(admitted.data.swim.member.id).toBe(alice);
  });

  it('refuses an unknown partner, naming the argument, and a member without an active membership', async () => {
    const { accessToken } = await gymToken(gym, 'alice');
    const unknown = await new Client(gym.url).gql(ISSUE, { aud: 'casino' }, { authorization: `Bearer ${accessToken}` });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'audience' });
    const bob = await gymToken(gym, 'bob');
    const expired = await new Client(gym.url).gql(ISSUE, { aud: 'pool' }, { authorization: `Bearer ${bob.accessToken}` });
    expect(codes(expired)).toEqual(['MEMBERSHIP_INACTIVE']);
    expect(codes(await new Client(gym.url).gql(ISSUE, { aud: 'pool' }))).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses a gym access token at the pool, and a pool token at the gym', async () => {
    const { accessToken } = await gymToken(gym, 'alice');
    const atPool = await swim(pool, accessToken);
    expect(atPool.status).toBe(401);
    expect(atPool.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_token' });
    const atGym = await new Client(gym.url).gql('{ me { name } }', undefined, { authorization: `Bearer ${await poolToken(gym, 'alice')}` });
    expect(atGym.status).toBe(401);
    expect(atGym.data.me).toBeNull();
  });

  describe('forged pool tokens', () => {
    const claims = (overrides: Record<string, unknown> = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return { iss: gym.url, aud: 'pool', sub: 'someone', scope: 'pool:swim', name: 'Mallory', iat: now, exp: now + 600, ...overrides };
    };
    const header = () => ({ alg: 'ES256', typ: 'partner+jwt', kid: gym.keyRing.current.kid });

    it('refuses one signed with another key', async () => {
      const res = await swim(pool, forgeEs256(foreignKey(), header(), claims()));
      expect(res.status).toBe(401);
      expect(res.data).toBeNull();
    });

    it('refuses one for another audience', async () => {
      const res = await swim(pool, await poolToken(gym, 'alice', 'spa'));
      expect(res.status).toBe(401);
    });

    it('refuses one without the pool:swim scope with FORBIDDEN', async () => {
      const res = await swim(pool, forgeEs256(gym.keyRing.current.privateKey, header(), claims({ scope: 'pool:look' })));
      expect(codes(res)).toEqual(['FORBIDDEN']);
      expect(res.data).toBeNull();
    });

    it('refuses an expired one, saying so', async () => {
      const now = Math.floor(Date.now() / 1000);
      const res = await swim(pool, forgeEs256(gym.keyRing.current.privateKey, header(), claims({ iat: now - 7200, exp: now - 3600 })));
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'token_expired' });
    });

    it('refuses one from another issuer even when signed with a key it knows', async () => {
      const res = await swim(pool, forgeEs256(gym.keyRing.current.privateKey, header(), claims({ iss: 'https://other-gym.example.com' })));
      expect(res.status).toBe(401);
    });

    it('asks the gym for unknown kids no more often than its rate limit allows', async () => {
      const before = gym.logs.filter((l) => l.path === '/.well-known/jwks.json').length;
      const forged = Array.from({ length: 20 }, (_, i) => forgeEs256(foreignKey(), { ...header(), kid: `forged-${i}` }, claims()));
      const results = await Promise.all(forged.map((t) => swim(pool, t)));
      expect(results.every((r) => r.status === 401)).toBe(true);
      const fetches = gym.logs.filter((l) => l.path === '/.well-known/jwks.json').length - before;
      expect(fetches).toBeLessThanOrEqual(6);
    });
  });
});

describe('how the pool finds and trusts the gym', () => {
  it('trusts the issuer the gym announces, whatever address the pool reaches it by', async () => {
    const gym = await startTestApp();
    const pool = await startTestPool(gym.url.replace('127.0.0.1', 'localhost'));
    try {
      expect((await swim(pool, await poolToken(gym, 'alice'))).errors).toBeUndefined();
    } finally {
      await pool.close();
      await gym.close();
    }
  });

  it('refuses every token when the gym announces another issuer than the one pinned by GYM_ISSUER', async () => {
    const gym = await startTestApp();
    const pool = await startTestPool(gym.url, { GYM_ISSUER: 'https://the-real-gym.example.com' });
    try {
      const res = await swim(pool, await poolToken(gym, 'alice'));
      expect(res.status).toBe(401);
      expect(res.data).toBeNull();
    } finally {
      await pool.close();
      await gym.close();
    }
  });

  it('reaches the keys at GYM_URL when the announced jwks_uri is not reachable from the pool', async () => {
    const gym = await startTestApp({ env: { PUBLIC_URL: 'http://gym.invalid' } });
    const pool = await startTestPool(gym.url);
    try {
      expect((await swim(pool, await poolToken(gym, 'alice'))).errors).toBeUndefined();
    } finally {
      await pool.close();
      await gym.close();
    }
  });
});

describe('the pool when the gym changes or goes away', () => {
  it('picks up a rotated key on its first unknown kid, then keeps admitting from its cache while the gym is down', async () => {
    const gym = await startTestApp();
    // Keys are fresh for 1 s only: past that, a down gym means the stale-if-unreachable fallback must hold.
    const clock = new TestClock();
    const pool = await startTestPool(gym.url, { JWKS_CACHE_MAX_AGE: '1s', JWKS_STALE_MAX_AGE: '1h' }, { clock });
    try {
      // The pool caches the current key on a first swim.
      expect((await swim(pool, await poolToken(gym, 'alice'))).errors).toBeUndefined();

      // The gym rotates; the next token names a kid the pool has never seen.
      const newKid = addSigningKey(gym.keysDir);
      gym.keyRing.reload();
      const rotated = await poolToken(gym, 'staff');
      expect(decodeJwt(rotated).header.kid).toBe(newKid);
      expect((await swim(pool, rotated)).data.swim.member.name).toBe('Sam Staff');

      // The gym goes away entirely.
      await gym.close();
      const down = await fetch(`${gym.url}/healthz`).catch(() => null);
      expect(down).toBeNull();
      const again = await swim(pool, rotated);
      expect(again.errors).toBeUndefined();
      expect(again.data.swim.member.name).toBe('Sam Staff');
      await clock.advance(1_200);
      const later = await swim(pool, rotated);
      expect(later.errors).toBeUndefined();
      // The due refresh runs beside the swim (a hung gym must not hold it up), so its failure is logged just after.
      await expect.poll(() => pool.logs().some((l) => l.msg === 'gym unreachable: admitting with a cached key'), { timeout: 3_000 }).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('never imports the gym database layer', () => {
    // Walk every import reachable from the pool's entry point.
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) visit(path.resolve(path.dirname(file), `${match[1]}.ts`));
    };
    visit(path.join(ROOT, 'src/pool/main.ts'));
    const reached = [...seen].map((f) => path.relative(ROOT, f));
    expect(reached).toContain('src/pool/db/client.ts');
    expect(reached).toContain('src/shared/statements.ts');
    expect(reached.filter((f) => f.startsWith('src/db/'))).toEqual([]);
  });
});

describe("the pool's database setting", () => {
  const load = (env: Record<string, string>) => loadPoolConfig({ NODE_ENV: 'test', ...env });

  it('takes a SQLite file or a PostgreSQL URL, with a pool size, and refuses any other URL', () => {
    expect(load({})).toMatchObject({ databaseUrl: './data/pool.sqlite', databasePoolSize: 5 });
    expect(load({ POOL_DATABASE_URL: 'postgres://pool@db:5432/pool', POOL_DATABASE_POOL_SIZE: '12' })).toMatchObject({
      databaseUrl: 'postgres://pool@db:5432/pool',
      databasePoolSize: 12,
    });
    expect(load({ POOL_DATABASE_URL: 'postgresql://pool@db/pool' }).databaseUrl).toBe('postgresql://pool@db/pool');
    expect(() => load({ POOL_DATABASE_URL: 'mysql://pool@db/pool' })).toThrow(/POOL_DATABASE_URL: must be a SQLite file/);
    expect(() => load({ POOL_DATABASE_POOL_SIZE: '0' })).toThrow(/POOL_DATABASE_POOL_SIZE/);
  });
});

describe("the pool's website settings", () => {
  const load = (env: Record<string, string>) => loadPoolConfig({ NODE_ENV: 'test', ...env });

  it('reads TRUST_PROXY as the gym does, refusing a value that would let any client write its own address', () => {
    expect(load({}).trustProxy).toBe(false);
    expect(load({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8');
    expect(load({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(() => load({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY: "true" would trust an X-Forwarded-For written by any client/);
    expect(() => load({ TRUST_PROXY: 'not-an-address' })).toThrow(/TRUST_PROXY: must be a hop count/);
  });

  it('refuses to start in production on an http POOL_PUBLIC_URL, where no browser would keep its Secure cookie', () => {
    const production = { NODE_ENV: 'production', GYM_CLIENT_SECRET: 'c'.repeat(32), POOL_SESSION_SECRET: 's'.repeat(32) };
    expect(() => loadPoolConfig({ ...production, POOL_PUBLIC_URL: 'http://pool.example' })).toThrow(/POOL_PUBLIC_URL: must be an https:\/\/ URL in production/);
    expect(loadPoolConfig({ ...production, POOL_PUBLIC_URL: 'https://pool.example' }).publicUrl).toBe('https://pool.example');
  });

  it('shows times in POOL_TIMEZONE (UTC unless set), an IANA zone', () => {
    expect(load({}).timezone).toBe('UTC');
    expect(load({ POOL_TIMEZONE: 'Europe/Paris' }).timezone).toBe('Europe/Paris');
    expect(() => load({ POOL_TIMEZONE: 'Mars/Olympus' })).toThrow(/POOL_TIMEZONE: must be an IANA time zone/);
  });
});
