import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DEMO, LOGIN } from '../helpers/client.js';
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
const postAuthorization = (app: TestApp, url: URL, cookie?: string) =>
  fetch(`${app.url}/oidc/auth`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
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
      headers: { cookie: browser.cookieHeader },
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

  it('refuses a parameter given twice by POST as it does by GET, instead of dropping it', async () => {
    const browser = new FormBrowser(app.url);
    await signInAndConsent(browser, (await flow(app)).url, 'alice');
    const url = new URL((await flow(app)).url);
    url.searchParams.append('prompt', 'login');
    url.searchParams.append('prompt', 'login');
    const cookie = browser.cookieHeader;
    for (const answer of [await fetch(url, { redirect: 'manual', headers: { cookie } }), await postAuthorization(app, url, cookie)]) {
      const back = new URL(answer.headers.get('location') ?? '', app.url);
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('code')).toBeNull();
    }
  });

  it('stores no session for a request it will refuse, even from a browser on the access sheet', async () => {
    const browser = new FormBrowser(app.url);
    await signInAndConsent(browser, (await flow(app)).url, 'alice');
    const cookie = browser.cookieHeader;
    const sessions = async () => (await app.database.sql.all("select key from oidc_records where model = 'Session'")).length;
    const before = await sessions();
    const strange = new URL((await flow(app)).url);
    strange.searchParams.set('redirect_uri', 'http://127.0.0.1:4100/elsewhere');
    for (const url of [`${app.url}/oidc/auth`, `${app.url}/oidc/auth?client_id=nobody`, strange.toString()]) {
      const answer = await fetch(url, { redirect: 'manual', headers: { cookie } });
      expect(answer.status).toBeGreaterThanOrEqual(300);
    }
    expect(await sessions()).toBe(before);
  });

  it('gives auth_time as the password moment when the access sheet is found only at the sign-in page (a POST from another site)', async () => {
    const browser = new FormBrowser(app.url);
    await signInAndConsent(browser, (await flow(app)).url, 'alice');
    const signedIn = Math.floor(Date.now() / 1000);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const started = await flow(app, { max_age: '300' });
    // Another site's form: the browser sends no gym cookie with a cross-site POST (SameSite=Lax), so no one is on the
    // sheet for the request itself; the gym's page it is sent to is a top-level GET, which carries it.
    const posted = await postAuthorization(app, new URL(started.url));
    expect(posted.status).toBe(303);
    browser.keepCookies(posted);
    const back = await browser.go(new URL(posted.headers.get('location')!, app.url).toString());
    expect(errorOf(back.url)).toBeNull();
    expect((await started.finish(back.url)).claims()!.auth_time).toBeLessThanOrEqual(signedIn);
  });

  it("refuses consent given in a browser now signed in at the gym as someone else", async () => {
    const browser = new FormBrowser(app.url);
    const consent = await browser.signInAndConsent((await flow(app, { scope: 'openid offline_access', prompt: 'consent' })).url, 'staff', { consent: 'deny' }).catch(() => null);
    expect(consent).not.toBeNull();
    // Sam reaches the consent page, then alice signs in at the gym in the same browser before Sam clicks Allow.
    const page = await browser.go((await flow(app, { prompt: 'consent' })).url);
    expect(page.html).toContain('/confirm"');
    const allow = FormBrowser.form(page.html, '/confirm');
    const alice = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: browser.cookieHeader },
      body: JSON.stringify({ query: LOGIN, variables: { input: { ...DEMO.alice, mode: 'SESSION' } } }),
    });
    browser.keepCookies(alice);
    const answer = await browser.go(`${app.url}${allow.action}`, allow.fields);
    expect(answer.status).toBe(400);
    expect(answer.html).toContain('no longer signed in at the gym as the member this was for');
  });

  it('tells a member on the access sheet who may not sign in why (bob, no membership), and prompt=none says login_required', async () => {
    // Bob signs in at the gym itself (login, mode SESSION), then a website asks him to sign in with the gym.
    const browser = new FormBrowser(app.url);
    const login = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: LOGIN, variables: { input: { ...DEMO.bob, mode: 'SESSION' } } }),
    });
    browser.keepCookies(login);
    const page = await browser.go((await flow(app)).url);
    expect(page.status).toBe(403);
    expect(page.html).toContain('You have no active membership at the gym');
    expect(errorOf((await browser.go((await flow(app, { prompt: 'none' })).url)).url)).toBe('login_required');
  });

  it('calls the website by its name on the sign-in page, not by its client id', async () => {
    const page = await new FormBrowser(app.url).go((await flow(app)).url);
    expect(page.html).toContain('The pool next door asks you to sign in with your gym account.');
  });
});

describe('authorization requests and their resumption, per client address', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { OIDC_CLIENTS: `pool=${REDIRECT}`, OIDC_AUTHORIZE_MAX_PER_ADDRESS: '2' } });
  });
  afterAll(async () => app?.close());

  it('counts requests by GET and POST against the limit, and resumptions (/oidc/auth/<uid>) against three times it', async () => {
    const url = new URL((await flow(app)).url);
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(303);
    const posted = await postAuthorization(app, url);
    expect(posted.status).toBe(303);
    const over = await fetch(url, { redirect: 'manual' });
    expect(over.status).toBe(429);
    expect(((await over.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('RATE_LIMITED');
    // A sign-in resumes up to three times: six resumptions here, and the seventh is one too many.
    const uid = posted.headers.get('location')!.split('/').pop()!;
    for (let i = 0; i < 6; i++) expect((await fetch(`${app.url}/oidc/auth/${uid}`, { redirect: 'manual' })).status).not.toBe(429);
    expect((await fetch(`${app.url}/oidc/auth/${uid}`, { redirect: 'manual' })).status).toBe(429);
  });

  it('answers a POST to a resumption path with a JSON 404, as any other method', async () => {
    const res = await fetch(`${app.url}/oidc/auth/some-interaction`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
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
