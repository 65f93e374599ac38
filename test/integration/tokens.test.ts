import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSigningKey } from '../../src/auth/keys.js';
import { startTestApp, type TestApp, useTestApp } from '../helpers/app.js';
import { TestClock } from '../helpers/clock.js';
import { bearer, Client, codes, dataOf, DEMO, LOGIN, sessionClient, signInWithKeycard } from '../helpers/client.js';
import { decodeJwt, foreignKey, forgeEs256, forgeHs256, forgeUnsigned, validClaims } from '../helpers/tokens.js';

const ME = `{ viewer { authenticated method role expiresAt } me { id name } }`;


describe('keycards: access tokens', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { PUBLIC_URL: 'https://gym.example.com' } });
  });
  afterAll(() => app.close());

  it('issues an access and refresh token pair at login, sets no cookie, and the token signs the member in', async () => {
    const login = await new Client(app.url).gql(LOGIN, { input: { ...DEMO.alice, mode: 'TOKEN' } });
    expect(login.errors).toBeUndefined();
    const payload = dataOf(login).login;
    expect(login.setCookies).toEqual([]);
    expect(payload.method).toBe('TOKEN');
    expect(payload.refreshToken).toMatch(/^kcr_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    const accessExpires = new Date(payload.accessTokenExpiresAt!).getTime();
    expect(accessExpires - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(accessExpires - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    expect(new Date(payload.refreshTokenExpiresAt!).getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000);

    const me = await new Client(app.url).gql(ME, undefined, bearer(payload.accessToken!));
    expect(me.errors).toBeUndefined();
    expect(me.data.viewer).toEqual({ authenticated: true, method: 'TOKEN', role: 'MEMBER', expiresAt: payload.accessTokenExpiresAt });
    expect(me.data.me).toEqual({ id: payload.member.id, name: 'Alice Member' });
  });

  it('signs a new member up with a keycard by default, readable in the same response', async () => {
    const res = await new Client(app.url).gql(
      `mutation { signUp(input: { email: "tina@example.com", password: "tina's long passphrase", name: "Tina" }) { method accessToken refreshToken member { email role } } }`,
    );
    expect(res.errors).toBeUndefined();
    expect(res.setCookies).toEqual([]);
    expect(res.data.signUp).toMatchObject({ method: 'TOKEN', member: { email: 'tina@example.com', role: 'MEMBER' } });
    const me = await new Client(app.url).gql('{ me { email } }', undefined, bearer(res.data.signUp.accessToken));
    expect(me.data.me.email).toBe('tina@example.com');
  });

  it('is an RFC 9068 ES256 JWT with the contract’s header and claims', async () => {
    const keycard = await signInWithKeycard(app.url, 'staff');
    const { header, payload } = decodeJwt(keycard.accessToken);
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: app.keyRing.current.kid });
    expect(payload).toMatchObject({ iss: 'https://gym.example.com', aud: 'keycard', sub: keycard.member.id, role: 'STAFF' });
    expect(typeof payload.jti).toBe('string');
    expect((payload.exp as number) - (payload.iat as number)).toBe(15 * 60);
  });

  it('lets an Authorization header alone decide, ignoring the session cookie', async () => {
    const alice = await sessionClient(app.url, 'alice');
    const keycard = await signInWithKeycard(app.url, 'bob');
    const asBob = await alice.gql(ME, undefined, bearer(keycard.accessToken));
    expect(asBob.data.me.name).toBe('Bob Member');
    const broken = await alice.gql(ME, undefined, bearer('not-a-token'));
    expect(broken.status).toBe(401);
    expect(broken.data.viewer.authenticated).toBe(false);
  });

  it('still signs in with a session when a client sends a stale bearer token along', async () => {
    const client = new Client(app.url);
    const res = await client.gql(LOGIN, { input: { ...DEMO.alice, mode: 'SESSION' } }, bearer('stale.token.value'));
    expect(res.status).toBe(200);
    expect(res.setCookies[0]).toMatch(/^keycard\.sid=/);
    expect((await client.gql(ME)).data.viewer.method).toBe('SESSION');
  });

  describe('refuses forged and foreign tokens with 401, WWW-Authenticate and nothing more', () => {
    let good: string;
    let sub: string;
    const iss = 'https://gym.example.com';
    beforeAll(async () => {
      const keycard = await signInWithKeycard(app.url, 'alice');
      good = keycard.accessToken;
      sub = keycard.member.id;
    });
    const header = (overrides: Record<string, unknown> = {}) => ({ alg: 'ES256', typ: 'at+jwt', kid: app.keyRing.current.kid, ...overrides });
    const signed = (h: Record<string, unknown>, claims: Record<string, unknown>) => forgeEs256(app.keyRing.current.privateKey, h, claims);

    const cases: [string, () => string, string?][] = [
      ['alg none', () => forgeUnsigned(header({ alg: 'none' }), validClaims(iss, sub))],
      ['alg None', () => forgeUnsigned(header({ alg: 'None' }), validClaims(iss, sub))],
      ['alg NONE', () => forgeUnsigned(header({ alg: 'NONE' }), validClaims(iss, sub))],
      ['alg nOnE', () => forgeUnsigned(header({ alg: 'nOnE' }), validClaims(iss, sub))],
      ['HS256 signed with the public key as the secret', () => forgeHs256(app.keyRing.current.publicKey.export({ format: 'pem', type: 'spki' }), header({ alg: 'HS256' }), validClaims(iss, sub))],
      ['a stripped signature', () => good.split('.').slice(0, 2).join('.') + '.'],
      ['a tampered payload', () => {
        const [h, , s] = good.split('.');
        return `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(good).payload, role: 'ADMIN' })).toString('base64url')}.${s}`;
      }],
      ['a signature from another key under our kid', () => forgeEs256(foreignKey(), header(), validClaims(iss, sub))],
      ['a wrong issuer', () => signed(header(), validClaims('https://evil.example.com', sub))],
      ['a wrong audience (a pool token)', () => signed(header(), validClaims(iss, sub, { aud: 'pool' }))],
      ['an audience list', () => signed(header(), validClaims(iss, sub, { aud: ['keycard', 'pool'] }))],
      ['a wrong typ', () => signed(header({ typ: 'JWT' }), validClaims(iss, sub))],
      ['a partner typ', () => signed(header({ typ: 'partner+jwt' }), validClaims(iss, sub))],
      ['no exp', () => signed(header(), validClaims(iss, sub, { exp: undefined }))],
      ['an nbf in the future', () => signed(header(), validClaims(iss, sub, { nbf: Math.floor(Date.now() / 1000) + 120 }))],
      ['an unknown kid', () => signed(header({ kid: 'no-such-key' }), validClaims(iss, sub))],
      ['no kid', () => signed(header({ kid: undefined }), validClaims(iss, sub))],
      ['an injected jku', () => signed(header({ jku: 'https://evil.example.com/jwks.json' }), validClaims(iss, sub))],
      ['an injected jwk', () => signed(header({ jwk: app.keyRing.current.jwk }), validClaims(iss, sub))],
      ['an injected x5u', () => signed(header({ x5u: 'https://evil.example.com/cert.pem' }), validClaims(iss, sub))],
      ['a subject that is not a member', () => signed(header(), validClaims(iss, 'UGxhbjox'))],
      ['an expired token', () => signed(header(), validClaims(iss, sub, { iat: Math.floor(Date.now() / 1000) - 1000, exp: Math.floor(Date.now() / 1000) - 60 })), 'token_expired'],
    ];

    it.each(cases)('%s', async (_name, make, reason = 'invalid_token') => {
      const res = await new Client(app.url).gql(ME, undefined, bearer(make()));
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(res.data).toEqual({ viewer: { authenticated: false, method: null, role: null, expiresAt: null }, me: null });
      expect(res.errors).toEqual([expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED', reason } })]);
      // No error says more than the reason: not the claim at fault, not the key, not the library's words.
      expect(res.errors![0]!.message).not.toMatch(/alg|aud|iss|kid|exp|signature|jwt/i);
    });

    it('accepts a token expired by less than the 30 s clock tolerance', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = signed(header(), validClaims(iss, sub, { iat: now - 600, exp: now - 10, role: 'MEMBER' }));
      const res = await new Client(app.url).gql(ME, undefined, bearer(token));
      expect(res.data.me.name).toBe('Alice Member');
    });
  });

  it.each([
    ['Bearer', 'Bearer'],
    ['Bearer with nothing after it', 'Bearer '],
    ['Bearer null', 'Bearer null'],
    ['Bearer undefined', 'Bearer undefined'],
    ['Basic credentials', 'Basic YWxpY2U6cGFzc3dvcmQ='],
    ['a bare token', 'eyJhbGciOiJFUzI1NiJ9.e30.sig'],
    ['two tokens', 'Bearer a.b.c Bearer d.e.f'],
    ['garbage bytes', 'Bearer \u00ff\u00fe%%%'],
    ['a 4 kB token', `Bearer ${'a'.repeat(4097)}.b.c`],
  ])('answers %s with 401 on guarded fields, never 500', async (_name, value) => {
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: value },
      body: JSON.stringify({ query: '{ plans { code } me { name } }' }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as any;
    expect(body.data).toEqual({ plans: [{ code: 'BASIC' }, { code: 'ALL_HOURS' }], me: null });
    expect(body.errors[0].extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'invalid_token' });
  });

  it('never answers a 64 kB Authorization header with a 500', async () => {
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${'x'.repeat(64 * 1024)}` },
      body: JSON.stringify({ query: '{ me { name } }' }),
    });
    expect([401, 431]).toContain(res.status);
  });

  it('answers public fields with 200 despite a bad token, so login still works for a client sending its stale token', async () => {
    const stale = bearer('stale.token.value');
    const plans = await new Client(app.url).gql('{ plans { code } }', undefined, stale);
    expect(plans.status).toBe(200);
    const login = await new Client(app.url).gql(LOGIN, { input: { ...DEMO.alice, mode: 'TOKEN' } }, stale);
    expect(login.status).toBe(200);
    expect(dataOf(login).login.member.name).toBe('Alice Member');
    const refreshed = await new Client(app.url).gql(`mutation($t: String!) { refresh(refreshToken: $t) { method member { name } } }`, { t: dataOf(login).login.refreshToken }, stale);
    expect(refreshed.status).toBe(200);
    expect(refreshed.data.refresh).toEqual({ method: 'TOKEN', member: { name: 'Alice Member' } });
  });

  it('ignores a token in the query string', async () => {
    const keycard = await signInWithKeycard(app.url, 'alice');
    const res = await fetch(`${app.url}/graphql?access_token=${keycard.accessToken}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ viewer { authenticated } }' }),
    });
    expect(await res.json()).toEqual({ data: { viewer: { authenticated: false } } });
  });

  it('refuses a refresh token as a bearer token, and an access token at refresh', async () => {
    const keycard = await signInWithKeycard(app.url, 'alice');
    const asBearer = await new Client(app.url).gql(ME, undefined, bearer(keycard.refreshToken));
    expect(asBearer.status).toBe(401);
    const asRefresh = await new Client(app.url).gql(`mutation($t: String!) { refresh(refreshToken: $t) { method } }`, { t: keycard.accessToken });
    expect(codes(asRefresh)).toEqual(['UNAUTHENTICATED']);
  });

  it('publishes its keys as a JWKS, and an OpenID configuration under its public address whatever the Host', async () => {
    const config = await (await fetch(`${app.url}/.well-known/openid-configuration`)).json();
    // The provider's own document, naming the gym's public address whatever Host the request came with.
    expect(config).toMatchObject({
      issuer: 'https://gym.example.com',
      jwks_uri: 'https://gym.example.com/.well-known/jwks.json',
      authorization_endpoint: 'https://gym.example.com/oidc/auth',
      token_endpoint: 'https://gym.example.com/oidc/token',
    });
    const forged = await (await fetch(`${app.url}/.well-known/openid-configuration`, { headers: { 'x-forwarded-host': 'evil.example' } })).json();
    expect(JSON.stringify(forged)).not.toContain('evil.example');
    const res = await fetch(`${app.url}/.well-known/jwks.json`);
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const jwks = (await res.json()) as any;
    expect(jwks.keys).toEqual([{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: app.keyRing.current.kid, alg: 'ES256', use: 'sig' }]);
    expect(JSON.stringify(jwks)).not.toMatch(/"d"/);
  });
});

describe('a session cookie sent beside a keycard', () => {
  // The gym's clock moves past the touch interval, when a request reading the session would record activity.
  const clock = new TestClock();
  const app = useTestApp({ clock });

  it('does not even touch the session behind an ignored cookie (its idle timeout is not extended)', async () => {
    const alice = await sessionClient(app.url, 'alice');
    const expiry = async () => ((await app.database.sql.get('select max(expires_at) e from sessions')) as { e: number }).e;
    const before = (await expiry());
    // Long enough that a request reading this session would record activity and move its deadline.
    await clock.advance(app.keycard.services.sessions.touchIntervalMs + 1_000);
    const keycard = await signInWithKeycard(app.url, 'bob');
    app.queries.length = 0;
    await alice.gql(ME, undefined, bearer(keycard.accessToken));
    expect(app.queries.filter((q) => q.includes('"sessions"'))).toEqual([]);
    expect((await expiry())).toBe(before);
  });
});

describe('key rotation', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('signs with the new key, still verifies tokens from the old one, and publishes both', async () => {
    const before = await signInWithKeycard(app.url, 'alice');
    const oldKid = decodeJwt(before.accessToken).header.kid;

    const newKid = addSigningKey(app.keysDir);
    app.keyRing.reload();

    const after = await signInWithKeycard(app.url, 'alice');
    expect(decodeJwt(after.accessToken).header.kid).toBe(newKid);
    expect(newKid > String(oldKid)).toBe(true);
    for (const token of [before.accessToken, after.accessToken]) {
      const me = await new Client(app.url).gql(ME, undefined, { authorization: `Bearer ${token}` });
      expect(me.data.me.name).toBe('Alice Member');
    }
    const jwks = (await (await fetch(`${app.url}/.well-known/jwks.json`)).json()) as any;
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([oldKid, newKid]);
  });

  it('verifies at once a token signed with a key another instance rotated in, even just after its own periodic read', async () => {
    // A second instance on the same database, key folder and issuer, as behind a load balancer.
    const other = await startTestApp({ database: app.database, keysDir: app.keysDir, env: { PUBLIC_URL: app.url } });
    try {
      // Its periodic read of the folder (KEYS_RELOAD_INTERVAL) has just run; then a key is rotated in and this instance signs with it.
      other.keyRing.reload();
      const newKid = addSigningKey(app.keysDir);
      app.keyRing.reload();
      const token = (await signInWithKeycard(app.url, 'alice')).accessToken;
      expect(decodeJwt(token).header.kid).toBe(newKid);
      const me = await new Client(other.url).gql(ME, undefined, { authorization: `Bearer ${token}` });
      expect(me.data?.me?.name).toBe('Alice Member');
      // An unknown kid reads the folder at most every 30 s, so forged kids cannot make every request read the disk:
      // a key rotated in again straight away waits for the next read there.
      addSigningKey(app.keysDir);
      app.keyRing.reload();
      const next = (await signInWithKeycard(app.url, 'alice')).accessToken;
      expect(codes(await new Client(other.url).gql(ME, undefined, { authorization: `Bearer ${next}` }))).toEqual(['UNAUTHENTICATED']);
      other.keyRing.reload();
      expect((await new Client(other.url).gql(ME, undefined, { authorization: `Bearer ${next}` })).data?.me?.name).toBe('Alice Member');
    } finally {
      await other.close();
    }
  });
});
