import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { addSigningKey } from '../../src/auth/keys.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { TestClock } from '../helpers/clock.js';
import { poolToken, startTestPool, swim, type TestPool } from '../helpers/pool.js';
import { decodeJwt, foreignKey, forgeEs256 } from '../helpers/tokens.js';

/** How the pool holds the gym's keys: a flood of forged kids, key expiry and rotation, and where it fetches keys. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pool token signed by nobody the gym knows, naming a kid nobody has ever published. */
function forgedWithUnknownKid(gym: TestApp): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES256', typ: 'partner+jwt', kid: `forged-${randomBytes(6).toString('hex')}` };
  const claims = { iss: gym.url, aud: 'pool', sub: 'mallory', scope: 'pool:swim', name: 'Mallory', iat: now, exp: now + 600 };
  return forgeEs256(foreignKey(), header, claims);
}

async function flood(pool: TestPool, gym: TestApp, count: number): Promise<void> {
  const results = await Promise.all(Array.from({ length: count }, () => swim(pool, forgedWithUnknownKid(gym))));
  expect(results.map((r) => r.status)).toEqual(results.map(() => 401));
}

const jwksFetches = (gym: TestApp) => gym.logs.filter((l) => l.path === '/.well-known/jwks.json').length;
const discoveryFetches = (gym: TestApp) => gym.logs.filter((l) => l.path === '/.well-known/openid-configuration').length;

describe('a flood of forged kids', () => {
  it('cannot lock the real swimmer out when the keys expire, with the gym up or down', async () => {
    const gym = await startTestApp();
    // Keys are due for a refresh after 1 s; unknown kids may make the pool ask the gym once every 10 s (the default).
    const clock = new TestClock();
    const pool = await startTestPool(gym.url, { JWKS_CACHE_MAX_AGE: '1s', JWKS_STALE_MAX_AGE: '1h' }, { clock });
    try {
      const token = await poolToken(gym, 'alice');
      expect((await swim(pool, token)).errors).toBeUndefined();

      const before = jwksFetches(gym);
      await flood(pool, gym, 30);
      const floodFetches = jwksFetches(gym) - before;

      // The key set is now past its age: refreshing it is the pool's own business, not something the flood spent.
      await clock.advance(1_200);
      const afterExpiry = await swim(pool, token);
      expect(afterExpiry.errors).toBeUndefined();
      expect(afterExpiry.data.swim.member.name).toBe('Alice Member');
      // The unknown kids were worth one look at the gym's keys, not thirty.
      expect(floodFetches).toBeLessThanOrEqual(1);

      // Again with the gym gone: the last good key set keeps admitting.
      await flood(pool, gym, 30);
      await gym.close();
      await clock.advance(1_200);
      await flood(pool, gym, 30);
      const gymDown = await swim(pool, token);
      expect(gymDown.errors).toBeUndefined();
      expect(gymDown.data.swim.member.name).toBe('Alice Member');
      expect(pool.logs().some((l) => l.msg === 'gym unreachable: admitting with a cached key')).toBe(true);
    } finally {
      await pool.close();
      await gym.close().catch(() => {});
    }
  });

  it('cannot keep out a key the gym rotates in: the pool picks it up within seconds while the flood goes on', async () => {
    const gym = await startTestApp();
    // One look at the gym per second for unknown kids; the key set itself would be trusted for its default 10 minutes.
    const pool = await startTestPool(gym.url, { JWKS_REQUESTS_PER_MINUTE: '60' });
    let flooding = true;
    let sent = 0;
    const attacker = (async () => {
      while (flooding) {
        await flood(pool, gym, 5);
        sent += 5;
        await sleep(20);
      }
    })();
    try {
      expect((await swim(pool, await poolToken(gym, 'alice'))).errors).toBeUndefined();
      while (sent < 100) await sleep(20);

      const newKid = addSigningKey(gym.keysDir);
      gym.keyRing.reload();
      const rotated = await poolToken(gym, 'staff');
      expect(decodeJwt(rotated).header.kid).toBe(newKid);

      const started = Date.now();
      let admitted = await swim(pool, rotated);
      while (admitted.errors && Date.now() - started < 8_000) {
        await sleep(100);
        admitted = await swim(pool, rotated);
      }
      expect(admitted.errors).toBeUndefined();
      expect(admitted.data.swim.member.name).toBe('Sam Staff');
      // Bounded by the unknown-kid interval (1 s here), with room for a busy machine.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      flooding = false;
      await attacker.catch(() => {});
      await pool.close();
      await gym.close();
    }
  });
});

interface FakeServer {
  url: string;
  /** The paths asked for, in order. */
  hits: string[];
  close(): Promise<void>;
}

/** A plain HTTP server on port 0 standing in for a gym (or an attacker's host) in front of the pool. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, url: string) => void): Promise<FakeServer> {
  const hits: string[] = [];
  let url = '';
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const json = (res: ServerResponse, body: unknown) => {
  res.setHeader('content-type', 'application/json');
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

const redirect = (res: ServerResponse, location: string) => {
  res.statusCode = 302;
  res.setHeader('location', location);
  res.end();
};

/**
 * A front for the gym at GYM_URL: its discovery document names the real gym as issuer and `jwksUri(own url)` for the
 * keys; `routes` answers everything else.
 */
async function fakeGym(gym: TestApp, jwksUri: (own: string) => string, routes: Record<string, (res: ServerResponse, own: string) => void>) {
  return serve((req, res, own) => {
    const route = routes[req.url ?? ''];
    if (route) return route(res, own);
    if (req.url === '/.well-known/openid-configuration') return json(res, { issuer: gym.url, jwks_uri: jwksUri(own) });
    res.statusCode = 404;
    res.end();
  });
}

describe('where the pool fetches the gym keys', () => {
  async function admittedThrough(gym: TestApp, front: FakeServer): Promise<{ status: number; pool: TestPool }> {
    const pool = await startTestPool(front.url);
    const res = await swim(pool, await poolToken(gym, 'alice'));
    await pool.close();
    return { status: res.status, pool };
  }

  it('admits through a front that serves the keys on its own origin (the control for the cases below)', async () => {
    const gym = await startTestApp();
    const jwks = await (await fetch(`${gym.url}/.well-known/jwks.json`)).text();
    const front = await fakeGym(gym, (own) => `${own}/keys`, { '/keys': (res) => json(res, jwks) });
    try {
      expect((await admittedThrough(gym, front)).status).toBe(200);
      expect(front.hits).toEqual(['/.well-known/openid-configuration', '/keys']);
    } finally {
      await front.close();
      await gym.close();
    }
  });

  it('refuses a jwks_uri on another origin than the gym, says so in its log, and never contacts it', async () => {
    const gym = await startTestApp();
    const jwks = await (await fetch(`${gym.url}/.well-known/jwks.json`)).text();
    // Whoever runs this host would choose the keys the pool trusts (here it even serves the gym's real ones).
    const foreign = await serve((_req, res) => json(res, jwks));
    const front = await fakeGym(gym, () => `${foreign.url}/keys`, {});
    try {
      const { status, pool } = await admittedThrough(gym, front);
      expect(status).toBe(401);
      expect(foreign.hits).toEqual([]);
      const complaint = pool.logs().find((l) => (l.level as number) >= 40 && String(l.err).includes(`${foreign.url}/keys`));
      expect(complaint?.err).toMatch(/jwks_uri .* not on the gym's origin/);
    } finally {
      await foreign.close();
      await front.close();
      await gym.close();
    }
  });

  it('does not follow a redirect of the discovery document', async () => {
    const gym = await startTestApp();
    const front = await serve((_req, res) => redirect(res, `${gym.url}/.well-known/openid-configuration`));
    try {
      const before = discoveryFetches(gym);
      const { status, pool } = await admittedThrough(gym, front);
      expect(status).toBe(401);
      expect(discoveryFetches(gym) - before).toBe(0);
      expect(pool.logs().some((l) => (l.level as number) >= 40 && /redirect/.test(String(l.err)))).toBe(true);
    } finally {
      await front.close();
      await gym.close();
    }
  });

  it('does not follow a redirect of the key set', async () => {
    const gym = await startTestApp();
    const front = await fakeGym(gym, (own) => `${own}/.well-known/jwks.json`, {
      '/.well-known/jwks.json': (res) => redirect(res, `${gym.url}/.well-known/jwks.json`),
    });
    try {
      const before = jwksFetches(gym);
      const { status, pool } = await admittedThrough(gym, front);
      expect(status).toBe(401);
      expect(front.hits).toContain('/.well-known/jwks.json');
      expect(jwksFetches(gym) - before).toBe(0);
      expect(pool.logs().some((l) => (l.level as number) >= 40 && /redirect/.test(String(l.err)))).toBe(true);
    } finally {
      await front.close();
      await gym.close();
    }
  });
});

describe('a gym that hangs', () => {
  it('does not hold up a swimmer whose key the pool already has: the due refresh runs beside the swim', async () => {
    const gym = await startTestApp();
    const jwks = await (await fetch(`${gym.url}/.well-known/jwks.json`)).text();
    let hang = false;
    const front = await fakeGym(gym, (own) => `${own}/keys`, {
      // Once hung, the front takes every connection and never answers (the pool gives up on a fetch after 5 s).
      '/keys': (res) => (hang ? undefined : json(res, jwks)),
      '/.well-known/openid-configuration': (res, own) => (hang ? undefined : json(res, { issuer: gym.url, jwks_uri: `${own}/keys` })),
    });
    const clock = new TestClock();
    const pool = await startTestPool(front.url, { JWKS_CACHE_MAX_AGE: '1s', JWKS_STALE_MAX_AGE: '1h' }, { clock });
    try {
      const token = await poolToken(gym, 'alice');
      expect((await swim(pool, token)).errors).toBeUndefined();
      hang = true;
      await clock.advance(1_200);
      const started = Date.now();
      const res = await swim(pool, token);
      expect(res.errors).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await pool.close();
      await front.close().catch(() => {});
      await gym.close();
    }
  });
});
