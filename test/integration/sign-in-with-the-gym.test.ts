import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSigningKey } from '../../src/auth/keys.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { bearer, Client, DEMO, sessionClient, signInWithKeycard } from '../helpers/client.js';
import { FormBrowser, startCodeFlow, tokenRequest } from '../helpers/oidc.js';
import { raceThatOverlaps } from '../helpers/race.js';
import { TestClock } from '../helpers/clock.js';
import { decodeJwt } from '../helpers/tokens.js';

/**
 * The gym as an OpenID Provider, through the real code flow: openid-client on the pool's side (PKCE, state and nonce
 * checked), the gym's own sign-in and consent pages on the other, a real database underneath. The pool's website and
 * a real browser come in the browser tests; this file holds the provider to its rules.
 */
const REDIRECT = 'http://127.0.0.1:4100/callback';
const SCOPE = 'openid profile pool:swim';

/** Signs `who` in at the gym's page and consents, from the authorization URL to the redirect back to the pool. */
const signInAndConsent = (browser: FormBrowser, url: string, who: keyof typeof DEMO, options: { consent?: 'allow' | 'deny' } = {}) =>
  browser.signInAndConsent(url, who, options);

/** The pool's first refresh token for alice, through the code flow with offline_access. */
async function refreshTokenOf(app: TestApp): Promise<string> {
  // offline_access counts only with prompt=consent (OpenID Connect Core 11).
  const flow = await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: `${SCOPE} offline_access`, prompt: 'consent' });
  const tokens = await flow.finish((await signInAndConsent(new FormBrowser(app.url), flow.url, 'alice')).url);
  expect(tokens.refresh_token).toBeTruthy();
  return tokens.refresh_token!;
}

/** A refresh as the pool sends it, by hand: several can go at the same moment, and every answer is read. */
function refresh(app: TestApp, token: string) {
  return tokenRequest(app.url, { grant_type: 'refresh_token', refresh_token: token, client_id: 'pool' });
}

/** The status of the provider's userinfo endpoint for an access token: 200 while its grant lives. */
async function userinfo(app: TestApp, accessToken: string): Promise<number> {
  return (await fetch(`${app.url}/oidc/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

describe('signing in with the gym', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { OIDC_CLIENTS: `pool=${REDIRECT}`, OIDC_AUTHORIZE_MAX_PER_ADDRESS: '500' } });
  });
  afterAll(async () => app?.close());

  it('publishes an honest discovery document: code flow, S256 only, ES256 ID tokens from the one JWKS', async () => {
    const discovery = (await (await fetch(`${app.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: app.url,
      authorization_endpoint: `${app.url}/oidc/auth`,
      token_endpoint: `${app.url}/oidc/token`,
      jwks_uri: `${app.url}/.well-known/jwks.json`,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      id_token_signing_alg_values_supported: ['ES256'],
      subject_types_supported: ['pairwise'],
    });
  });

  it("takes a member from the pool through the gym's sign-in and consent and back, with a pairwise subject equal to the partner token's", async () => {
    const flow = await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE });
    const browser = new FormBrowser(app.url);
    const back = await signInAndConsent(browser, flow.url, 'alice');
    expect(back.url.startsWith(`${REDIRECT}?`)).toBe(true);
    const tokens = await flow.finish(back.url);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: app.url, aud: 'pool', name: 'Alice Member' });
    expect(decodeJwt(tokens.id_token!).header).toMatchObject({ alg: 'ES256', kid: app.keyRing.current.kid });
    // The same swimmer whichever way they came: the partner token's subject for the pool.
    const alice = await sessionClient(app.url, 'alice');
    const pass = await alice.gql('mutation { issuePartnerToken(audience: "pool") { token } }');
    expect(claims.sub).toBe(decodeJwt(pass.data.issuePartnerToken.token).payload.sub);
    expect(tokens.refresh_token).toBeUndefined();
  });

  it('sends a member already signed in at the gym, who consented before, straight back', async () => {
    const browser = new FormBrowser(app.url);
    await signInAndConsent(browser, (await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE })).url, 'staff');
    const again = await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE });
    const page = await browser.go(again.url);
    expect(page.url.startsWith(`${REDIRECT}?`)).toBe(true);
    expect((await again.finish(page.url)).claims()?.name).toBe('Sam Staff');
  });

  it('signs in on the access sheet: the gym session it starts is the one login(mode: SESSION) gives', async () => {
    const browser = new FormBrowser(app.url);
    await signInAndConsent(browser, (await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE })).url, 'alice');
    const cookie = [...browser.cookies].filter(([name]) => name === 'keycard.sid').map(([k, v]) => `${k}=${v}`).join('; ');
    const viewer = await new Client(app.url).gql('{ viewer { authenticated method } me { name } }', {}, { cookie });
    expect(viewer.data).toEqual({ viewer: { authenticated: true, method: 'SESSION' }, me: { name: 'Alice Member' } });
  });

  it('tells bob, whose membership has expired, why he cannot sign in, and sends nothing back to the pool', async () => {
    const flow = await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE });
    const page = await signInAndConsent(new FormBrowser(app.url), flow.url, 'bob');
    expect(page.status).toBe(403);
    expect(page.html).toContain('You have no active membership at the gym');
  });

  it('refuses a wrong password with the login throttle’s words, and a denied consent comes back as access_denied', async () => {
    const browser = new FormBrowser(app.url);
    const flow = await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE });
    const page = await browser.go(flow.url);
    const login = FormBrowser.form(page.html, '/login');
    const wrong = await browser.go(`${app.url}${login.action}`, { ...login.fields, email: DEMO.admin.email, password: 'not the password at all' });
    expect(wrong.status).toBe(400);
    expect(wrong.html).toContain('invalid email or password');
    const denied = await signInAndConsent(browser, flow.url, 'admin', { consent: 'deny' });
    const params = new URL(denied.url).searchParams;
    expect(params.get('error')).toBe('access_denied');
    await expect(flow.finish(denied.url)).rejects.toMatchObject({ error: 'access_denied' });
  });

  it('refuses a form posted from another site, or without its token', async () => {
    const browser = new FormBrowser(app.url);
    const page = await browser.go((await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE })).url);
    const login = FormBrowser.form(page.html, '/login');
    const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const post = (origin: string, fields: Record<string, string>) =>
      fetch(`${app.url}${login.action}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin, cookie },
        body: new URLSearchParams({ ...fields, email: DEMO.alice.email, password: DEMO.alice.password }).toString(),
      });
    expect((await post('https://evil.example', login.fields)).status).toBe(403);
    expect((await post(app.url, { csrf: 'forged' })).status).toBe(403);
  });

  it('ends what the pool holds when the member signs out everywhere', async () => {
    // offline_access counts only with prompt=consent (OpenID Connect Core 11): the member is asked, then a refresh token comes.
    const flow = await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: `${SCOPE} offline_access`, prompt: 'consent' });
    const browser = new FormBrowser(app.url);
    const back = await signInAndConsent(browser, flow.url, 'staff');
    const tokens = await flow.finish(back.url);
    expect(tokens.refresh_token).toBeTruthy();
    const rows = () => app.database.sql.all('select model from oidc_records where member_id = (select id from members where email = ?)', DEMO.staff.email);
    expect((await rows()).length).toBeGreaterThan(0);
    const staff = await signInWithKeycard(app.url, 'staff');
    await new Client(app.url).gql('mutation { logoutEverywhere }', {}, bearer(staff.accessToken));
    expect(await rows()).toEqual([]);
  });

  /** A code for alice, fresh from the code flow, with what redeeming it takes. */
  async function freshCode() {
    const flow = await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: `${SCOPE} offline_access`, prompt: 'consent' });
    const back = await signInAndConsent(new FormBrowser(app.url), flow.url, 'alice');
    return { code: new URL(back.url).searchParams.get('code')!, verifier: flow.verifier };
  }

  /** Three redemptions of one code at once: one is given tokens, the other two are refused. The tokens given. */
  async function redeemThrice({ code, verifier }: { code: string; verifier: string }) {
    const redeem = () => tokenRequest(app.url, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: 'pool' });
    const answers = await Promise.all([redeem(), redeem(), redeem()]);
    const given = answers.filter((answer) => answer.status === 200);
    expect(given).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 400 && answer.body.error === 'invalid_grant')).toHaveLength(2);
    return given[0]!;
  }

  it('gives tokens for a code once, even to requests presenting it at the same moment, and then revokes what it gave', async () => {
    const given = await raceThatOverlaps(app, { match: { path: '/oidc/token' }, count: 3 }, freshCode, redeemThrice);
    // A code used twice may have been stolen (RFC 6749 4.1.2): what it gave is revoked with its grant.
    expect(await refresh(app, String(given.body.refresh_token))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('revokes the grant when a client revokes a refresh token it has just rotated: the grace is for refreshes, not for a sign-out', async () => {
    const first = await refreshTokenOf(app);
    const rotated = await refresh(app, first);
    expect(rotated.status).toBe(200);
    // A sign-out in one tab racing a refresh in another: it revokes the token it holds, moments after its rotation.
    const revoked = await fetch(`${app.url}/oidc/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: first, token_type_hint: 'refresh_token', client_id: 'pool' }).toString(),
    });
    expect(revoked.status).toBe(200);
    expect(await refresh(app, String(rotated.body.refresh_token))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await userinfo(app, String(rotated.body.access_token))).toBe(401);
  });

  it('rotates a refresh token for one of two requests presenting it at the same moment, and keeps the grant: a retry is no theft', async () => {
    const { first, given } = await raceThatOverlaps(app, { match: { path: '/oidc/token' }, count: 2 }, () => refreshTokenOf(app), async (first) => {
      const answers = await Promise.all([refresh(app, first), refresh(app, first)]);
      const given = answers.filter((answer) => answer.status === 200);
      expect(given).toHaveLength(1);
      expect(answers.filter((answer) => answer.status === 400 && answer.body.error === 'invalid_grant')).toHaveLength(1);
      return { first, given };
    });
    // Within REFRESH_REUSE_GRACE (5 s here), and its successor unused: refused again, still revoking nothing.
    expect(await refresh(app, first)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await userinfo(app, String(given[0]!.body.access_token))).toBe(200);
    const next = await refresh(app, String(given[0]!.body.refresh_token));
    expect(next.status).toBe(200);
    expect(await refresh(app, String(next.body.refresh_token))).toMatchObject({ status: 200 });
  });

  it('ends the grant when a refresh token two rotations old comes back, however soon: its successor has been used', async () => {
    const first = await refreshTokenOf(app);
    const second = await refresh(app, first);
    const third = await refresh(app, String(second.body.refresh_token));
    expect(third.status).toBe(200);
    expect(await refresh(app, first)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // Everything issued from the grant goes: the newest refresh token, and the access token it came with.
    expect(await refresh(app, String(third.body.refresh_token))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await userinfo(app, String(third.body.access_token))).toBe(401);
  });

  it("ends with the gym's session: after a logout at the gym, the next sign-in asks for the password again", async () => {
    const browser = new FormBrowser(app.url);
    await signInAndConsent(browser, (await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE })).url, 'alice');
    const cookie = `keycard.sid=${browser.cookies.get('keycard.sid')}`;
    await new Client(app.url).gql('mutation { logout }', {}, { cookie });
    browser.cookies.delete('keycard.sid');
    const again = await browser.go((await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE })).url);
    expect(again.html).toContain('/login"');
  });

  it('asks for the password when the website asks for it (prompt=login), even beside a gym session', async () => {
    const browser = new FormBrowser(app.url);
    await signInAndConsent(browser, (await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE })).url, 'alice');
    const page = await browser.go((await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE, prompt: 'login' })).url);
    expect(page.html).toContain('/login"');
  });

  it('refuses an authorization request too long to be a real one, storing nothing', async () => {
    const flow = await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE });
    const before = await app.database.sql.all("select key from oidc_records where model = 'Interaction'");
    const res = await fetch(`${flow.url}&login_hint=${'x'.repeat(3000)}`, { redirect: 'manual' });
    expect(res.status).toBe(414);
    expect(await app.database.sql.all("select key from oidc_records where model = 'Interaction'")).toHaveLength(before.length);
  });
});

describe('authorization requests from one address', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { OIDC_CLIENTS: `pool=${REDIRECT}`, OIDC_AUTHORIZE_MAX_PER_ADDRESS: '2' } });
  });
  afterAll(async () => app?.close());

  it('are counted: past the limit the next is RATE_LIMITED with Retry-After, and stores nothing', async () => {
    const url = (await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE })).url;
    for (let i = 0; i < 2; i++) expect((await fetch(url, { redirect: 'manual' })).status).toBe(303);
    const stored = await app.database.sql.all("select key from oidc_records where model = 'Interaction'");
    const refused = await fetch(url, { redirect: 'manual' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('RATE_LIMITED');
    expect(await app.database.sql.all("select key from oidc_records where model = 'Interaction'")).toHaveLength(stored.length);
  });
});

describe('a refresh token of the provider presented again after REFRESH_REUSE_GRACE', () => {
  let app: TestApp;
  const clock = new TestClock();
  beforeAll(async () => {
    // The default grace (5 s), waited out on the app's clock.
    app = await startTestApp({ env: { OIDC_CLIENTS: `pool=${REDIRECT}` }, clock });
  });
  afterAll(async () => app?.close());

  it('is a reuse even when its successor was never used: the grant ends with everything issued from it', async () => {
    const first = await refreshTokenOf(app);
    const next = await refresh(app, first);
    expect(next.status).toBe(200);
    // Past the 5 s grace, however slow the machine: the clock moves only when the test says.
    await clock.advance(6_000);
    expect(await refresh(app, first)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await refresh(app, String(next.body.refresh_token))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await userinfo(app, String(next.body.access_token))).toBe(401);
  });
});

describe('a signing key rotated in on the shared folder', () => {
  const clock = new TestClock();
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ clock, env: { OIDC_CLIENTS: `pool=${REDIRECT}` } });
  });
  afterAll(async () => app?.close());

  const idTokenKid = async () => {
    const flow = await startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE });
    const back = await signInAndConsent(new FormBrowser(app.url), flow.url, 'alice');
    return decodeJwt((await flow.finish(back.url)).id_token!).header.kid;
  };

  it('signs ID tokens with it once the ring has read the folder again (KEYS_RELOAD_INTERVAL), and not before', async () => {
    const oldKid = app.keyRing.current.kid;
    const kid = addSigningKey(app.keysDir);
    expect(await idTokenKid()).toBe(oldKid);
    await clock.advance(app.config.keysReloadIntervalMs);
    expect(await idTokenKid()).toBe(kid);
  });
});
