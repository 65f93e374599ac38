import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DEMO } from '../helpers/client.js';
import { FormBrowser, startCodeFlow } from '../helpers/oidc.js';

/**
 * What the gym's OpenID Provider answers beyond the plain code flow: silent sign-in (`prompt=none`) and `max_age`
 * judged against the access sheet, the authorization endpoint by POST, an honest discovery document, the pages the
 * provider renders itself, and the website called by its name.
 */
const REDIRECT = 'http://127.0.0.1:4100/callback';
const SCOPE = 'openid profile pool:swim';

const signInAndConsent = (browser: FormBrowser, url: string, who: keyof typeof DEMO) => browser.signInAndConsent(url, who);

const flow = (app: TestApp, params: Record<string, string> = {}) => startCodeFlow(app.url, { clientId: 'pool', redirectUri: REDIRECT, scope: SCOPE, params });

/** The OAuth error a redirect back to the client carries, or null when it carries a code. */
function errorOf(redirect: string): string | null {
  expect(redirect.startsWith(`${REDIRECT}?`)).toBe(true);
  const params = new URL(redirect).searchParams;
  return params.get('error') ?? (params.get('code') ? null : 'no code');
}

/** The authorization request of `url` sent as a form, as OpenID Connect Core 3.1.2.1 allows. */
const postAuthorization = (app: TestApp, url: URL) =>
  fetch(`${app.url}/oidc/auth`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: url.searchParams.toString(),
  });

describe('signing in with the gym, beyond the plain code flow', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { OIDC_CLIENTS: `pool=${REDIRECT}`, OIDC_AUTHORIZE_MAX_PER_ADDRESS: '500' } });
  });
  afterAll(async () => app?.close());

  it('signs a member on the access sheet who has consented in silently (prompt=none)', async () => {
    const browser = new FormBrowser(app.url);
    await signInAndConsent(browser, (await flow(app)).url, 'alice');
    const silent = await flow(app, { prompt: 'none' });
    const back = await browser.go(silent.url);
    expect(errorOf(back.url)).toBeNull();
    const claims = (await silent.finish(back.url)).claims()!;
    expect(claims.name).toBe('Alice Member');
  });

  it('answers prompt=none with login_required for a browser not on the access sheet, and consent_required before consent', async () => {
    const stranger = new FormBrowser(app.url);
    expect(errorOf((await stranger.go((await flow(app, { prompt: 'none' })).url)).url)).toBe('login_required');
    // Signed in at the gym (login SESSION, through the gym's own page), but the pool was never allowed: no consent yet.
    const browser = new FormBrowser(app.url);
    const first = await browser.go((await flow(app)).url);
    const login = FormBrowser.form(first.html, '/login');
    const consent = await browser.go(`${app.url}${login.action}`, { ...login.fields, email: DEMO.staff.email, password: DEMO.staff.password });
    expect(consent.html).toContain('/confirm"');
    expect(errorOf((await browser.go((await flow(app, { prompt: 'none' })).url)).url)).toBe('consent_required');
  });

  it('asks for the password under max_age only when the last one was given longer ago than it says', async () => {
    const browser = new FormBrowser(app.url);
    const before = Math.floor(Date.now() / 1000);
    await signInAndConsent(browser, (await flow(app)).url, 'alice');
    const signedIn = Math.floor(Date.now() / 1000);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const recentFlow = await flow(app, { max_age: '300' });
    const recent = await browser.go(recentFlow.url);
    expect(errorOf(recent.url)).toBeNull();
    // auth_time is when alice gave her password at the gym, two seconds before this request.
    const authTime = (await recentFlow.finish(recent.url)).claims()!.auth_time!;
    expect(authTime).toBeGreaterThanOrEqual(before);
    expect(authTime).toBeLessThanOrEqual(signedIn);
    const stale = await browser.go((await flow(app, { max_age: '1' })).url);
    expect(stale.url.startsWith(`${app.url}/interaction/`)).toBe(true);
    expect(stale.html).toContain('type="password"');
  });

  it('takes the authorization request by POST as well as GET (OpenID Connect Core 3.1.2.1), and any other method is a JSON 404', async () => {
    const url = new URL((await flow(app)).url);
    const posted = await postAuthorization(app, url);
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toMatch(/^\/interaction\/[\w-]+$/);
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${app.url}/oidc/auth${url.search}`, { method });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
  });

  it('publishes only the response modes it answers with and the claims it issues', async () => {
    const discovery = (await (await fetch(`${app.url}/.well-known/openid-configuration`)).json()) as Record<string, string[]>;
    expect(discovery.response_modes_supported).toEqual(['query', 'form_post']);
    expect(discovery.claims_supported).not.toContain('sid');
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(['sub', 'name', 'membership_valid_until', 'auth_time']));
    // A mode it does not list is refused, not answered.
    const fragment = await new FormBrowser(app.url).go((await flow(app, { response_mode: 'fragment' })).url);
    expect(fragment.url).not.toContain('code=');
  });

  it("renders its own pages under the gym pages' CSP: a form_post runs its one script and nothing else", async () => {
    const browser = new FormBrowser(app.url);
    await signInAndConsent(browser, (await flow(app)).url, 'alice');
    const formPost = await fetch((await flow(app, { response_mode: 'form_post' })).url, {
      headers: { cookie: [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
      redirect: 'manual',
    });
    const html = await formPost.text();
    expect(html).toContain(`action="${REDIRECT}"`);
    expect(html).toContain('name="code"');
    const csp = formPost.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action http://127.0.0.1:4100");
    expect(csp).toMatch(/script-src 'none' 'sha256-[\w+/=]+'(;|$)/);
    // The error page is the provider's own too.
    const error = await fetch(`${app.url}/oidc/auth?client_id=nobody`);
    expect(error.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('calls the website by its name on the sign-in page, not by its client id', async () => {
    const page = await new FormBrowser(app.url).go((await flow(app)).url);
    expect(page.html).toContain('The pool next door asks you to sign in with your gym account.');
  });
});

describe('authorization requests and their resumption, per client address', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { OIDC_CLIENTS: `pool=${REDIRECT}`, OIDC_AUTHORIZE_MAX_PER_ADDRESS: '3' } });
  });
  afterAll(async () => app?.close());

  it('counts GET, POST and the resumption path /oidc/auth/<uid> against one limit', async () => {
    const url = new URL((await flow(app)).url);
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(303);
    const posted = await postAuthorization(app, url);
    expect(posted.status).toBe(303);
    const uid = posted.headers.get('location')!.split('/').pop()!;
    expect((await fetch(`${app.url}/oidc/auth/${uid}`, { redirect: 'manual' })).status).not.toBe(429);
    const over = await fetch(`${app.url}/oidc/auth/${uid}`, { redirect: 'manual' });
    expect(over.status).toBe(429);
    expect(((await over.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('RATE_LIMITED');
  });
});

describe('registering clients', () => {
  it('starts with the development registration of the pool, and the pool signs in with it', async () => {
    // No OIDC_CLIENTS: the registration a new user runs on (its redirect at http://localhost:4100/callback).
    const app = await startTestApp();
    try {
      const started = await startCodeFlow(app.url, { clientId: 'pool', redirectUri: 'http://localhost:4100/callback', scope: SCOPE });
      const page = await new FormBrowser(app.url).go(started.url);
      expect(page.html).toContain('The pool next door asks you to sign in');
    } finally {
      await app.close();
    }
  });

  it('refuses at start a registration the provider would refuse at the first sign-in, naming the variable and the reason', async () => {
    const refused = startTestApp({ env: { OIDC_CLIENTS: 'pool=http://localhost:4100/callback http://127.0.0.1:4100/callback' } });
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow(/OIDC_CLIENTS: the client pool would be refused .*sector_identifier_uri.*more than one host/);
  });
});

describe("the provider's cookies in production", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      env: {
        NODE_ENV: 'production',
        PUBLIC_URL: 'https://gym.example',
        OIDC_CLIENTS: 'pool=https://pool.example/callback',
        OIDC_CLIENT_SECRETS: `pool=${'p'.repeat(40)}`,
      },
    });
  });
  afterAll(async () => app?.close());

  it('carry the strongest prefix their path allows: __Host- for the session and the interaction, __Secure- for the resume cookie', async () => {
    // By hand: the issuer is the https address a proxy would serve, and this test talks to the gym behind it.
    const params = new URLSearchParams({
      client_id: 'pool',
      response_type: 'code',
      scope: SCOPE,
      redirect_uri: 'https://pool.example/callback',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 'state-of-this-test',
      nonce: 'nonce-of-this-test',
    });
    const res = await fetch(`${app.url}/oidc/auth?${params}`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const cookies = res.headers.getSetCookie();
    const named = (prefix: string) => cookies.filter((c) => c.startsWith(prefix));
    expect(named('__Host-_interaction=')).toEqual([expect.stringMatching(/; path=\/;.*secure/i)]);
    expect(named('__Host-_interaction=')[0]).not.toMatch(/domain=/i);
    expect(named('__Secure-_interaction_resume=')).toEqual([expect.stringMatching(/; path=\/oidc\/auth\/[\w-]+;.*secure/i)]);
    // The provider's session cookie is dropped on every authorization request, under its production name.
    expect(named('__Host-_session=')).toEqual([expect.stringMatching(/Path=\/;.*Secure/)]);
    expect(cookies.some((c) => /^_(session|interaction)/.test(c))).toBe(false);
  });
});
