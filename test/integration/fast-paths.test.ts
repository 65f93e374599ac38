import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../src/auth/access-tokens.js';
import { addSigningKey, KeyRing } from '../../src/auth/keys.js';
import { CLOCK_TOLERANCE_SECONDS } from '../../src/shared/jwt.js';
import { bearer as authorization, Client, dataOf, LOGIN, sessionClient, signInWithKeycard } from '../helpers/client.js';
import { startTestApp, type TestApp, useTestApp } from '../helpers/app.js';
import { TestClock } from '../helpers/clock.js';
import { graphql } from '../helpers/__generated__/index.js';

/**
 * Each shortcut Keycard takes for speed, and the guarantee it must keep: a remembered token still expires when
 * verification says so and is still revoked, a session written back less often still never outlives its idle timeout, and requests without a
 * session cookie cost the access sheet nothing.
 */

const VIEWER = graphql(/* GraphQL */ `query FastViewer { viewer { authenticated method } me { name } }`);

const bearer = (app: TestApp, token: string, query: string = String(VIEWER)) => new Client(app.url).gql(query, undefined, authorization(token));

describe('a remembered access token in strict mode', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { TOKEN_REVOCATION: 'strict' } });
  });
  afterAll(() => app.close());

  it('stops at logoutEverywhere at once, although its signature was verified and remembered before', async () => {
    const { accessToken } = await signInWithKeycard(app.url, 'alice');
    const other = await signInWithKeycard(app.url, 'alice');
    expect((await bearer(app, accessToken)).data.viewer).toEqual({ authenticated: true, method: 'TOKEN' });
    expect((await bearer(app, other.accessToken, 'mutation { logoutEverywhere }')).data).toEqual({ logoutEverywhere: true });
    const after = await bearer(app, accessToken);
    expect(after.data.viewer).toEqual({ authenticated: false, method: null });
    expect(after.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_token' });
  });

  it('still reads the member row on every request, cache hit or not, and takes the role from it', async () => {
    const { accessToken } = await signInWithKeycard(app.url, 'alice');
    await bearer(app, accessToken);
    app.queries.length = 0;
    await bearer(app, accessToken, '{ viewer { role } }');
    expect(app.queries).toHaveLength(1);
    expect(app.queries[0]).toMatch(/from "members"/);
  });
});

describe('the cache of verified tokens, on its own', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('refuses a remembered token as expired at the very instant verification would, and serves it until then', () => {
    const tokens = new AccessTokens(app.keyRing, { issuer: app.config.publicUrl, ttlMs: 60_000 });
    const issuedAt = Date.now();
    const { token, expiresAt } = tokens.issue({ id: 3, role: 'MEMBER', tokenVersion: 0 }, 'family', issuedAt);
    expect(tokens.verify(token, issuedAt).memberId).toBe(3);
    expect(tokens.cachedCount).toBe(1);
    // The deadline is exp plus the 30 s clock tolerance, as jsonwebtoken applies it to a token seen for the first time.
    const deadline = expiresAt.getTime() + CLOCK_TOLERANCE_SECONDS * 1000;
    expect(tokens.verify(token, deadline - 1).memberId).toBe(3);
    expect(() => tokens.verify(token, deadline)).toThrow(expect.objectContaining({ reason: 'token_expired' }));
    // A fresh reader (no cache) agrees on both sides of the deadline.
    const fresh = () => new AccessTokens(app.keyRing, { issuer: app.config.publicUrl, ttlMs: 60_000 });
    expect(fresh().verify(token, deadline - 1000).memberId).toBe(3);
    expect(() => fresh().verify(token, deadline)).toThrow(expect.objectContaining({ reason: 'token_expired' }));
  });

  it('stays within its bound however many distinct tokens it sees', async () => {
    const tokens = new AccessTokens(app.keyRing, { issuer: app.config.publicUrl, ttlMs: 60_000, cacheSize: 5 });
    for (let i = 0; i < 20; i++) tokens.verify(tokens.issue({ id: 3, role: 'MEMBER', tokenVersion: 0 }, `family-${i}`).token);
    expect(tokens.cachedCount).toBe(5);
  });

  it('forgets a token once the key that signed it leaves the ring', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keycard-keys-'));
    try {
      const oldKid = addSigningKey(dir);
      const ring = KeyRing.fromDirectory(dir);
      const tokens = new AccessTokens(ring, { issuer: 'https://gym.test', ttlMs: 60_000 });
      const token = tokens.issue({ id: 3, role: 'MEMBER', tokenVersion: 0 }, 'family').token;
      expect(tokens.verify(token).memberId).toBe(3);
      // The operator retires the old key (keys:rotate, then deletes the file); the ring reloads its directory.
      addSigningKey(dir);
      rmSync(path.join(dir, `${oldKid}.pem`));
      ring.reload();
      expect(() => tokens.verify(token)).toThrow(expect.objectContaining({ reason: 'invalid_token' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never remembers a refusal: a forged token costs a full verification every time and is always refused', async () => {
    const { accessToken } = await signInWithKeycard(app.url, 'alice');
    const [h, p, sig] = accessToken.split('.');
    const forged = `${h}.${p}.${sig!.slice(0, -4)}AAAA`;
    for (let i = 0; i < 3; i++) expect((await bearer(app, forged)).status).toBe(401);
    expect((await bearer(app, accessToken)).data.me).toEqual({ name: 'Alice Member' });
  });
});

describe('the access sheet, written back only when it must', () => {
  // The default idle timeout (30 minutes) and its touch interval (a minute), passed by moving the gym's clock.
  const clock = new TestClock();
  const app = useTestApp({ clock });

  const viewer = async (client: Client, cookie = client.cookieHeader()) => {
    const res = await new Client(app.url).gql(VIEWER, undefined, { cookie });
    return { authenticated: dataOf(res).viewer.authenticated, setCookies: res.setCookies };
  };

  it('costs nothing to a request that carries no session cookie: no session read, no cookie set', async () => {
    app.queries.length = 0;
    const res = await new Client(app.url).gql('{ plans { code } }');
    expect(res.data.plans).toHaveLength(2);
    expect(res.setCookies).toEqual([]);
    expect(app.queries.filter((q) => /sessions/.test(q))).toEqual([]);
  });

  it('reads the session without writing it while the deadline would barely move, and sends no cookie then', async () => {
    const client = await sessionClient(app.url, 'alice');
    app.queries.length = 0;
    const res = await client.gql(VIEWER);
    expect(dataOf(res).viewer).toEqual({ authenticated: true, method: 'SESSION' });
    expect(res.setCookies).toEqual([]);
    expect(app.queries.filter((q) => /^(insert|update|delete)/i.test(q.trim()))).toEqual([]);
  });

  it('records activity (one write, a fresh cookie) once the deadline would move by more than the touch interval', async () => {
    const client = await sessionClient(app.url, 'alice');
    await clock.advance(app.keycard.services.sessions.touchIntervalMs + 1_000);
    app.queries.length = 0;
    const res = await viewer(client);
    expect(res.authenticated).toBe(true);
    expect(res.setCookies.some((c) => c.startsWith('keycard.sid='))).toBe(true);
    expect(app.queries.filter((q) => /^(insert|update|delete)/i.test(q.trim()))).toEqual([expect.stringMatching(/^update "sessions"/i)]);
  });

  it('never lets a session outlive its idle timeout after its last use, recorded or not', async () => {
    const idle = app.config.sessionIdleTimeoutMs;
    const touch = app.keycard.services.sessions.touchIntervalMs;
    const client = await sessionClient(app.url, 'alice');
    // Within the touch interval: served, but not recorded...
    await clock.advance(touch / 2);
    expect((await viewer(client)).authenticated).toBe(true);
    // ...so the session ends an idle timeout after the login, not after that use.
    await clock.advance(idle - touch / 2 - 1_000);
    const recorded = await viewer(client);
    expect(recorded.authenticated).toBe(true);
    // That use was recorded (it moved the deadline by far more than the interval); now stay idle past it.
    expect(recorded.setCookies).toHaveLength(1);
    await clock.advance(idle + 1_000);
    expect((await viewer(client)).authenticated).toBe(false);
  });
});

describe('protections computed once', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { CORS_ORIGINS: 'https://app.example' } });
  });
  afterAll(() => app.close());

  it("sends helmet's security headers on every response", async () => {
    const res = await new Client(app.url).gql('{ plans { code } }');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('answers CORS only for a request that sends an allowed Origin', async () => {
    const none = await new Client(app.url).gql('{ plans { code } }');
    expect(none.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await new Client(app.url).gql('{ plans { code } }', undefined, { origin: 'https://app.example' });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await new Client(app.url).gql('{ plans { code } }', undefined, { origin: 'https://evil.example' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('password hashing, bounded', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { LOGIN_MAX_FAILURES_PER_ADDRESS: '100000', LOGIN_MAX_FAILURES_PER_EMAIL: '100000' } });
  });
  afterAll(() => app.close());

  it('turns a flood of sign-ins away at once with RATE_LIMITED instead of queueing it without end, then serves again', async () => {
    const flood = 64 * Math.max(1, availableParallelism() - 1);
    const results = await Promise.all(
      Array.from({ length: flood }, (_, i) =>
        new Client(app.url).gql(LOGIN, { input: { email: `nobody-${i}@keycard.test`, password: 'not-the-password-1', mode: 'TOKEN' } }),
      ),
    );
    const codesSeen = results.map((r) => r.errors?.[0]?.extensions?.code);
    const busy = results.filter((r) => r.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    expect(busy.length).toBeGreaterThan(0);
    expect(busy[0]!.errors![0]!.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
    expect(codesSeen.every((c) => c === 'RATE_LIMITED' || c === 'INVALID_CREDENTIALS')).toBe(true);
    const after = await signInWithKeycard(app.url, 'alice');
    expect(after.accessToken).toBeTruthy();
  });
});

describe('the access sheet by keycard', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
    // Enough rows for a page of 100, spread over every demo member.
    const ids = (await app.database.sql.all<{ id: number }>('select id from members')).map((m) => m.id);
    await app.database.data.checkIns.insertMany(
      Array.from({ length: 150 }, (_, i) => ({ memberId: ids[i % ids.length]!, at: new Date(Date.now() - i * 60_000), door: 'main', method: 'TOKEN' as const })),
    );
  });
  afterAll(() => app.close());

  it('costs at most 4 SQL statements for a STAFF page with members, memberships and plans, the same for 10 rows or 100', async () => {
    const { accessToken } = await signInWithKeycard(app.url, 'staff');
    const page = (n: number) => `{ checkIns(first: ${n}) { edges { node { at member { name membership { plan { code } } } } } } }`;
    const statements = async (n: number) => {
      app.queries.length = 0;
      const res = await bearer(app, accessToken, page(n));
      expect(res.errors).toBeUndefined();
      expect(res.data.checkIns.edges).toHaveLength(n);
      return app.queries.length;
    };
    const ten = await statements(10);
    const hundred = await statements(100);
    expect(hundred).toBe(ten);
    expect(hundred).toBeLessThanOrEqual(4);
  });
});
