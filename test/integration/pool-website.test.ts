import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTestApp, type TestApp } from '../helpers/app.js';
import type { DemoName } from '../helpers/client.js';
import { poolToken, PoolVisitor, startTestPool, type TestPool } from '../helpers/pool.js';
import { decodeJwt } from '../helpers/tokens.js';

/**
 * The pool's website over plain HTTP, against a real gym: where its sessions live (the pool's own database, on the
 * engine of the run), what its cookies are, and what a copy of one is worth after a sign-out or a deadline. The same
 * flow in a real browser is in test/browser/sign-in-with-the-gym.test.ts.
 */

const HOUR = 3_600_000;
const SECRET = 'a-client-secret-of-at-least-32-characters';

/** The session id an express-session cookie value carries (`s:<id>.<signature>`, URL-encoded). */
const idOf = (cookie: string) => decodeURIComponent(cookie).slice(2, decodeURIComponent(cookie).lastIndexOf('.'));
const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

describe("the pool's website keeps its sessions on the server", () => {
  let gym: TestApp;
  let pool: TestPool;
  beforeAll(async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    gym = await startTestApp({ env: { OIDC_CLIENTS: `pool=${url}/callback`, OIDC_AUTHORIZE_MAX_PER_ADDRESS: '500' } });
    pool = await startTestPool(gym.url, { POOL_PUBLIC_URL: url, POOL_SESSION_SECRET: 's'.repeat(40), POOL_TIMEZONE: 'Europe/Paris' }, { port });
  });
  afterAll(async () => {
    await pool?.close();
    await gym?.close();
  });

  const signedIn = async (who: DemoName) => {
    const visitor = new PoolVisitor(pool, gym.url);
    expect(await visitor.signIn(who)).toMatchObject({ status: 303, location: '/' });
    return visitor;
  };
  const subjectOf = async (who: DemoName) => String(decodeJwt(await poolToken(gym, who)).payload.sub);
  const rowOf = async (cookie: string) => (await pool.sessionRows()).find((row) => row.sid === sha256(idOf(cookie)));

  it('stores the swimmer in its database under the hash of the id, with the subject, for an hour at most', async () => {
    const before = Date.now();
    const visitor = await signedIn('alice');
    const cookie = visitor.cookies.get('pool.session')!;
    const row = await rowOf(cookie);
    expect(row).toMatchObject({ subject: await subjectOf('alice') });
    expect(row!.expiresAt).toBeGreaterThan(before + HOUR - 60_000);
    expect(row!.expiresAt).toBeLessThanOrEqual(Date.now() + HOUR);
    expect(JSON.stringify(await pool.sessionRows())).not.toContain(idOf(cookie));
    expect((await visitor.request('/')).html).toContain('Alice Member');
  });

  it('signs every copy of the cookie out at Sign out: a copy neither shows the swimmer nor swims', async () => {
    const visitor = await signedIn('staff');
    const copy = new PoolVisitor(pool, gym.url);
    for (const [name, value] of visitor.cookies) copy.cookies.set(name, value);
    const csrf = await visitor.csrf();
    expect((await copy.request('/')).html).toContain('Sam Staff');
    expect(await visitor.request('/logout', { csrf })).toMatchObject({ status: 303, location: '/' });
    expect(visitor.cookies.has('pool.session')).toBe(false);
    const page = await copy.request('/');
    expect(page.html).not.toContain('Sam Staff');
    expect(page.html).toContain('Sign in with the gym');
    const subject = await subjectOf('staff');
    const visits = await pool.visitCount(subject);
    expect((await copy.request('/swim', { csrf })).status).toBe(403);
    expect(await pool.visitCount(subject)).toBe(visits);
    expect((await pool.sessionRows()).filter((row) => row.subject === subject)).toEqual([]);
  });

  it('ends a session at its deadline whatever its cookie says, and the sweep drops rows past theirs', async () => {
    const visitor = await signedIn('admin');
    const cookie = visitor.cookies.get('pool.session')!;
    await pool.ageSessions(HOUR);
    expect((await visitor.request('/')).html).toContain('Sign in with the gym');
    expect(await rowOf(cookie)).toBeUndefined();
    await signedIn('admin');
    await pool.ageSessions(HOUR);
    expect((await pool.sessionRows()).length).toBeGreaterThan(0);
    await pool.pool.sessions.store.sweep();
    expect(await pool.sessionRows()).toEqual([]);
  });

  it('stores nothing for a page view; /login stores a ten-minute session the callback replaces under a new id', async () => {
    const visitor = new PoolVisitor(pool, gym.url);
    const rows = (await pool.sessionRows()).length;
    expect((await visitor.request('/')).setCookies).toEqual([]);
    expect(await pool.sessionRows()).toHaveLength(rows);
    const login = await visitor.request('/login');
    expect(login.setCookies).toHaveLength(1);
    expect(login.setCookies[0]).toMatch(/^pool\.session=[^;]+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
    const started = visitor.cookies.get('pool.session')!;
    const pending = await rowOf(started);
    expect(pending?.subject).toBeNull();
    expect(pending!.expiresAt).toBeGreaterThan(Date.now() + 9 * 60_000);
    expect(pending!.expiresAt).toBeLessThanOrEqual(Date.now() + 10 * 60_000);

    expect(await visitor.request(await visitor.callbackFromGym(login.location!, 'alice'))).toMatchObject({ status: 303, location: '/' });
    const signedInCookie = visitor.cookies.get('pool.session')!;
    expect(idOf(signedInCookie)).not.toBe(idOf(started));
    expect(await rowOf(started)).toBeUndefined();
    const before = new PoolVisitor(pool, gym.url);
    before.cookies.set('pool.session', started);
    expect((await before.request('/')).html).toContain('Sign in with the gym');
  });

  it('finishes a sign-in only in the browser that started it: its callback elsewhere signs no one in', async () => {
    const attacker = new PoolVisitor(pool, gym.url);
    const callback = await attacker.callbackFromGym((await attacker.request('/login')).location!, 'alice');
    const stranger = new PoolVisitor(pool, gym.url);
    expect((await stranger.request(callback)).status).toBe(400);
    const midway = new PoolVisitor(pool, gym.url);
    await midway.request('/login');
    expect((await midway.request(callback)).html).toContain('Sign-in refused');
    for (const victim of [stranger, midway]) expect((await victim.request('/')).html).toContain('Sign in with the gym');
    // The callback itself was good: the browser that started its flow is let in with it.
    expect(await attacker.request(callback)).toMatchObject({ status: 303, location: '/' });
  });

  it('shows visits as a person reads them, in POOL_TIMEZONE, each in a <time> with the instant', async () => {
    const visitor = await signedIn('alice');
    await pool.data.visits.insert({ subject: await subjectOf('alice'), name: 'Alice Member', admittedAt: new Date('2026-12-03T14:33:00.000Z'), tokenId: null });
    expect((await visitor.request('/')).html).toContain('<li><time datetime="2026-12-03T14:33:00.000Z">3 Dec 2026, 15:33</time></li>');
  });

  it('sends a page asked for on another loopback name to the public URL, path and query kept', async () => {
    const port = new URL(pool.url).port;
    const visitor = new PoolVisitor(pool, gym.url);
    expect(await visitor.request(`http://localhost:${port}/login?from=menu`)).toMatchObject({ status: 303, location: `${pool.url}/login?from=menu` });
    expect(await visitor.request(`http://[::1]:${port}/`)).toMatchObject({ status: 303, location: `${pool.url}/` });
    expect(visitor.cookies.size).toBe(0);
  });
});

describe('a sign-in started too often from one address', () => {
  it('is refused past POOL_LOGIN_MAX_PER_ADDRESS a minute, storing nothing', async () => {
    const gym = await startTestApp();
    const port = await freePort();
    const pool = await startTestPool(gym.url, { POOL_LOGIN_MAX_PER_ADDRESS: '2', POOL_PUBLIC_URL: `http://127.0.0.1:${port}` }, { port });
    try {
      for (let i = 0; i < 2; i++) expect((await new PoolVisitor(pool, gym.url).request('/login')).location?.startsWith(`${gym.url}/oidc/auth?`)).toBe(true);
      expect(await pool.sessionRows()).toHaveLength(2);
      const refused = await new PoolVisitor(pool, gym.url).request('/login');
      expect(refused.status).toBe(429);
      expect(refused.setCookies).toEqual([]);
      expect(await pool.sessionRows()).toHaveLength(2);
    } finally {
      await pool.close();
      await gym.close();
    }
  });
});

describe('the pool in production, behind a TLS-terminating proxy', () => {
  const publicUrl = 'https://pool.example';
  let gym: TestApp;
  const pools: TestPool[] = [];
  const production = async (env: Record<string, string> = {}) => {
    const pool = await startTestPool(gym.url, {
      NODE_ENV: 'production',
      POOL_PUBLIC_URL: publicUrl,
      GYM_CLIENT_SECRET: SECRET,
      POOL_SESSION_SECRET: 's'.repeat(40),
      ...env,
    });
    pools.push(pool);
    return pool;
  };
  beforeAll(async () => {
    gym = await startTestApp({ env: { OIDC_CLIENTS: `pool=${publicUrl}/callback`, OIDC_CLIENT_SECRETS: `pool=${SECRET}`, OIDC_AUTHORIZE_MAX_PER_ADDRESS: '500' } });
  });
  afterAll(async () => {
    for (const pool of pools) await pool.close();
    await gym?.close();
  });

  it('signs in with its client secret and __Host- cookies only, swims, and signs out (TRUST_PROXY names the proxy)', async () => {
    const visitor = new PoolVisitor(await production({ TRUST_PROXY: 'loopback' }), gym.url, { publicUrl });
    const login = await visitor.request('/login');
    expect(login.setCookies).toHaveLength(1);
    expect(login.setCookies[0]).toMatch(/^__Host-pool\.session=[^;]+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/);
    // The code is exchanged with the secret in the Authorization header (client_secret_basic), as the gym registers it.
    const back = await visitor.request(await visitor.callbackFromGym(login.location!, 'alice'));
    expect(back).toMatchObject({ status: 303, location: '/' });
    expect(back.setCookies[0]).toMatch(/^__Host-pool\.session=[^;]+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/);
    expect([...visitor.cookies.keys()]).toEqual(['__Host-pool.session']);
    expect((await visitor.request('/')).html).toContain('Alice Member');
    const csrf = await visitor.csrf();
    expect(await visitor.request('/swim', { csrf })).toMatchObject({ status: 303, location: '/?notice=swum' });
    expect(await visitor.request('/logout', { csrf })).toMatchObject({ status: 303, location: '/' });
    expect(visitor.cookies.size).toBe(0);
  });

  it('exchanges the code with its client secret in the Authorization header (client_secret_basic), as the gym registers it', async () => {
    const pool = await startTestPool(gym.url, { POOL_PUBLIC_URL: publicUrl, GYM_CLIENT_SECRET: SECRET });
    pools.push(pool);
    expect(await new PoolVisitor(pool, gym.url, { publicUrl }).signIn('staff')).toMatchObject({ status: 303, location: '/' });
  });

  it('sets no Secure cookie on a request it cannot tell came over HTTPS (no TRUST_PROXY), and never redirects on a real domain', async () => {
    const pool = await production();
    const visitor = new PoolVisitor(pool, gym.url, { publicUrl });
    expect((await visitor.request('/login')).setCookies).toEqual([]);
    const direct = new PoolVisitor(pool, gym.url);
    expect((await direct.request('/')).status).toBe(200);
  });
});
