// The gym's session cookie as a real browser holds it: HttpOnly and SameSite=Lax, usable from a front end listed in
// CORS_ORIGINS, and of no use to a page of another site or of another port of the same host.
//
// Keycard serves no front end of its own (its only page is Sandbox, in development), so the member signs in the way a
// real one would: on a front end served from another origin of the same site (another port of `localhost`, listed in
// CORS_ORIGINS), whose script calls the gym with `fetch(..., { credentials: 'include' })`. The gym is reached as
// `http://localhost:<port>` throughout. Cookies do not care about ports, so that front end, the gym and an attacker on
// yet another port of `localhost` all share the cookie jar of the host `localhost` (the same site: SameSite does not
// stand between them, Apollo's CSRF prevention must), while an attacker served as `http://127.0.0.1:<port>` is
// another site altogether.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrowserContext, Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, DEMO, type DemoName } from '../helpers/client.js';
import { documentCookie, htmlPage, inPage, launchChromium, onHost, serveStatic, type StaticSite } from './helpers.js';

const COOKIE = 'keycard.sid';
/** The door an attacker's check-in would carry: any row with it means a forged request went through. */
const FORGED_DOOR = 'forged';
const CHECK_IN = `mutation { checkIn(door: "${FORGED_DOOR}") { id } }`;
const LOGOUT_EVERYWHERE = 'mutation { logoutEverywhere }';
const ME = '{ me { name email } }';

/** The front end's page: a GraphQL call with the member's cookie, the way any front end of the gym makes it. */
function frontEndPage(gym: string): string {
  return htmlPage(
    'Gym front end',
    `<script>
     const GYM = ${JSON.stringify(gym)};
     // A cookie of the front end's own, readable by scripts: document.cookie works, so what it leaves out is hidden.
     document.cookie = 'theme=dark; path=/';
     window.gql = async (query, variables) => {
       const res = await fetch(GYM + '/graphql', {
         method: 'POST',
         credentials: 'include',
         headers: { 'content-type': 'application/json' },
         body: JSON.stringify({ query, variables }),
       });
       return { status: res.status, body: await res.json() };
     };
     </script>`,
  );
}

/** The attacker's page: every way a page can send the member's browser to the gym, each reporting what it saw. */
function attackerPage(gym: string): string {
  return htmlPage(
    'Not the gym',
    `<script>
     const GYM = ${JSON.stringify(gym)};
     // A CORS request, as a script that wants to read the answer makes it (JSON: the browser asks first, a preflight).
     window.corsFetch = async (query) => {
       try {
         const res = await fetch(GYM + '/graphql', {
           method: 'POST',
           credentials: 'include',
           headers: { 'content-type': 'application/json' },
           body: JSON.stringify({ query }),
         });
         return 'read: ' + (await res.text());
       } catch (e) {
         return 'failed: ' + e.message;
       }
     };
     // A "simple" request, sent without asking: the attacker cannot read the answer but hopes the request acts.
     window.simpleFetch = async (query) => {
       try {
         const res = await fetch(GYM + '/graphql', {
           method: 'POST',
           mode: 'no-cors',
           credentials: 'include',
           headers: { 'content-type': 'text/plain' },
           body: JSON.stringify({ query }),
         });
         return res.type;
       } catch (e) {
         return 'failed: ' + e.message;
       }
     };
     // The classic JSON CSRF: a form whose text/plain body reads as JSON, posted in a top-level navigation.
     window.postForm = (query) => {
       const form = document.createElement('form');
       form.method = 'POST';
       form.enctype = 'text/plain';
       form.action = GYM + '/graphql';
       const input = document.createElement('input');
       input.name = JSON.stringify({ query, padding: '' }).slice(0, -2);
       input.value = '"}';
       form.append(input);
       document.body.append(form);
       form.submit();
     };
     // A GET the page loads as a script (a subresource: no CORS, no preflight).
     window.scriptGet = (query) =>
       new Promise((resolve) => {
         const script = document.createElement('script');
         script.src = GYM + '/graphql?query=' + encodeURIComponent(query);
         script.onload = () => resolve('loaded');
         script.onerror = () => resolve('error');
         document.body.append(script);
       });
     </script>`,
  );
}

/** A request as the gym received it. */
interface Received {
  method: string;
  /** Whether the browser sent the session cookie along. */
  withCookie: boolean;
  status: number;
}

let browser: Browser;
let gym: TestApp;
/** The gym as the browser reaches it: `http://localhost:<port>`. */
let gymUrl: string;
/** The front end, listed in CORS_ORIGINS both as `localhost` (the same site as the gym) and as `127.0.0.1` (not). */
let frontEnd: StaticSite;
/** The attacker's site, in CORS_ORIGINS under neither name. */
let attacker: StaticSite;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // The static servers first: the gym's CORS_ORIGINS names their ports.
  [browser, frontEnd, attacker] = await Promise.all([launchChromium(), serveStatic(), serveStatic()]);
  gym = await startTestApp({
    env: { CORS_ORIGINS: [onHost(frontEnd.url, 'localhost'), onHost(frontEnd.url, '127.0.0.1')].join(',') },
  });
  gymUrl = onHost(gym.url, 'localhost');
  frontEnd.files['/'] = frontEndPage(gymUrl);
  attacker.files['/'] = attackerPage(gymUrl);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([gym?.close(), frontEnd?.close(), attacker?.close()]);
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  contexts.push(context);
  return context;
}

/** Calls the gym from the front end's page. */
function gql(page: Page, query: string, variables?: Record<string, unknown>) {
  return inPage(
    page,
    ([q, v]) => (globalThis as unknown as { gql(q: string, v: unknown): Promise<{ status: number; body: any }> }).gql(q, v),
    [query, variables] as const,
  );
}

/** Opens the front end (as `localhost` unless said) and signs in there with mode SESSION. */
async function signIn(context: BrowserContext, who: DemoName, host: 'localhost' | '127.0.0.1' = 'localhost'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${onHost(frontEnd.url, host)}/`);
  const login = await gql(page, 'mutation ($input: LoginInput!) { login(input: $input) { method member { name } } }', {
    input: { ...DEMO[who], mode: 'SESSION' },
  });
  expect(login.body.errors).toBeUndefined();
  expect(login.body.data.login.method).toBe('SESSION');
  return page;
}

/** The session cookie the browser holds for the gym. */
async function sessionCookie(context: BrowserContext) {
  return (await context.cookies(gymUrl)).find((c) => c.name === COOKIE);
}

/** Asks the gym directly, with the cookie the browser holds, who is signed in: the session must still work. */
async function memberOfBrowserSession(context: BrowserContext): Promise<string | undefined> {
  const cookie = await sessionCookie(context);
  expect(cookie).toBeDefined();
  const client = new Client(gym.url);
  client.cookies.set(COOKIE, cookie!.value);
  const res = await client.gql<{ me: { name: string } | null }>('{ me { name } }');
  return res.data?.me?.name;
}

/** Check-ins with the attacker's door: one would mean a forged checkIn went through. */
async function forgedCheckIns(): Promise<number> {
  const row = await gym.database.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM check_ins WHERE door = ?', FORGED_DOOR);
  return Number(row!.n);
}

/**
 * Every request to /graphql the gym receives from now on, as it received it: a second listener on its HTTP server,
 * beside Express, that only looks. The browser's own account would not do: it lists requests it never sent (a CORS
 * request whose preflight failed) and hides the answers it blocked.
 */
function receivedByGym(): { stop(): Received[] } {
  const received: [IncomingMessage, ServerResponse][] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/graphql')) received.push([req, res]);
  };
  gym.keycard.httpServer.on('request', listener);
  return {
    // Called once the browser has every answer, so each status is the one it got.
    stop() {
      gym.keycard.httpServer.off('request', listener);
      return received.map(([req, res]) => ({
        method: req.method ?? '',
        withCookie: (req.headers.cookie ?? '').split(/;\s*/).some((pair) => pair.startsWith(`${COOKIE}=`)),
        status: res.statusCode,
      }));
    },
  };
}

/** `POST with cookie 400`: one line per request, for the tests to list what the gym received. */
function summary(request: Received): string {
  return `${request.method} ${request.withCookie ? 'with' : 'without'} cookie ${request.status}`;
}

/** The attacker page's functions (see attackerPage), each reporting what the page could tell. */
type AttackerFunction = 'corsFetch' | 'simpleFetch' | 'postForm' | 'scriptGet';

/**
 * Everything the attacker's page tries, from `origin`, against the member signed in in `context`: read the member's
 * data, then log them out everywhere and check them in, by CORS, by simple requests, by a form post and by GETs.
 */
async function attack(context: BrowserContext, origin: string) {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  const gymSaw = receivedByGym();
  const call = (name: AttackerFunction, query: string) =>
    inPage(page, ([n, q]) => (globalThis as unknown as Record<string, (q: string) => Promise<string>>)[n]!(q), [name, query] as const);
  const read = await call('corsFetch', ME);
  const corsMutation = await call('corsFetch', LOGOUT_EVERYWHERE);
  const simple = [await call('simpleFetch', CHECK_IN), await call('simpleFetch', LOGOUT_EVERYWHERE)];
  const script = await call('scriptGet', ME);
  // The form navigates the page away, to the gym's answer.
  const formAnswer = page.waitForResponse((r) => r.url() === `${gymUrl}/graphql` && r.request().isNavigationRequest());
  await call('postForm', LOGOUT_EVERYWHERE);
  const form = await formAnswer;
  const formBody = await form.text();
  // And a top-level GET, the one cross-site request that carries a Lax cookie.
  const navigation = await page.goto(`${gymUrl}/graphql?query=${encodeURIComponent(LOGOUT_EVERYWHERE)}`);
  return {
    read,
    corsMutation,
    simple,
    script,
    form: { status: form.status(), body: formBody },
    navigation: { status: navigation?.status(), type: navigation?.headers()['content-type'] },
    received: gymSaw.stop(),
  };
}

describe('the session cookie in Chromium', () => {
  it('is HttpOnly and SameSite=Lax: a front end of the same site signs in with credentials: include, and no script reads the cookie', async () => {
    const context = await newContext();
    const page = await signIn(context, 'alice');

    const cookie = await sessionCookie(context);
    expect(cookie).toMatchObject({ name: COOKIE, domain: 'localhost', path: '/', httpOnly: true, sameSite: 'Lax', secure: false });
    // The front end's scripts see its own cookie, and not the session's (cookies are per host, not per port).
    expect(await documentCookie(page)).toBe('theme=dark');
    // Nor do the scripts of the gym's own origin (its /healthz is a page of that origin like any other).
    const gymPage = await context.newPage();
    await gymPage.goto(`${gymUrl}/healthz`);
    expect(await documentCookie(gymPage)).not.toContain(COOKIE);
    expect(await documentCookie(gymPage)).toBe('theme=dark');

    // The browser sends it back: the front end reads the member.
    const me = await gql(page, ME);
    expect(me.body).toEqual({ data: { me: { name: 'Alice Member', email: DEMO.alice.email } } });
  });

  it('a page of another site (127.0.0.1 against localhost) can neither read the answers nor act with the cookie', async () => {
    const context = await newContext();
    await signIn(context, 'alice');
    const attempt = await attack(context, onHost(attacker.url, '127.0.0.1'));

    // CORS: the preflight of a credentialed request from an origin not in CORS_ORIGINS gets no Access-Control-Allow-
    // Origin, so the browser sends neither the read nor the mutation, and the page learns nothing.
    expect(attempt.read).toMatch(/^failed: /);
    expect(attempt.corsMutation).toMatch(/^failed: /);
    // Simple requests go out unasked; Cross-Origin-Resource-Policy (same-origin) keeps even their opaque answers away.
    expect(attempt.simple).toEqual(['failed: Failed to fetch', 'failed: Failed to fetch']);
    expect(attempt.script).toBe('error');
    // What reached the gym: the two preflights; the simple fetches, the script's GET and the form, without the cookie
    // (SameSite=Lax) and refused by CSRF prevention besides; the top-level GET with the cookie (Lax allows that
    // much), answered with Sandbox's page, never an operation.
    expect(attempt.received.map(summary)).toEqual([
      'OPTIONS without cookie 204',
      'OPTIONS without cookie 204',
      'POST without cookie 400',
      'POST without cookie 400',
      'GET without cookie 400',
      'POST without cookie 400',
      'GET with cookie 200',
    ]);
    expect(attempt.form).toMatchObject({ status: 400, body: expect.stringContaining('Cross-Site Request Forgery') });
    expect(attempt.navigation).toEqual({ status: 200, type: 'text/html; charset=utf-8' });

    // On the server: the member is still signed in, and nobody checked in.
    expect(await memberOfBrowserSession(context)).toBe('Alice Member');
    expect(await forgedCheckIns()).toBe(0);
  });

  it('a page of another port of the same host gets the cookie sent, and Apollo CSRF prevention refuses it', async () => {
    const context = await newContext();
    await signIn(context, 'alice');
    const attempt = await attack(context, onHost(attacker.url, 'localhost'));

    // Not in CORS_ORIGINS: nothing to read, as from another site.
    expect(attempt.read).toMatch(/^failed: /);
    expect(attempt.corsMutation).toMatch(/^failed: /);
    expect(attempt.simple).toEqual(['failed: Failed to fetch', 'failed: Failed to fetch']);
    expect(attempt.script).toBe('error');
    // The same site: every request the browser sends carries the cookie; only CSRF prevention stands in the way.
    expect(attempt.received.map(summary)).toEqual([
      'OPTIONS without cookie 204',
      'OPTIONS without cookie 204',
      'POST with cookie 400',
      'POST with cookie 400',
      'GET with cookie 400',
      'POST with cookie 400',
      'GET with cookie 200',
    ]);
    expect(attempt.form).toMatchObject({ status: 400, body: expect.stringContaining('Cross-Site Request Forgery') });
    expect(attempt.navigation).toEqual({ status: 200, type: 'text/html; charset=utf-8' });

    expect(await memberOfBrowserSession(context)).toBe('Alice Member');
    expect(await forgedCheckIns()).toBe(0);
  });

  it('a page of an origin in CORS_ORIGINS calls the gym with the cookie and reads the answer', async () => {
    // Another member than the attacks' victim: a check-in within five minutes of the last returns that one, so one
    // of Alice's here would hide a forged one there.
    const context = await newContext();
    const page = await signIn(context, 'staff');
    const checkIn = await gql(page, 'mutation { checkIn(door: "front end") { door method member { name } } }');
    expect(checkIn).toEqual({ status: 200, body: { data: { checkIn: { door: 'front end', method: 'SESSION', member: { name: 'Sam Staff' } } } } });
    const me = await gql(page, '{ me { name checkIns(first: 1) { edges { node { door } } } } }');
    expect(me.body.data.me).toEqual({ name: 'Sam Staff', checkIns: { edges: [{ node: { door: 'front end' } }] } });
  });

  it('a front end in CORS_ORIGINS on another site reads the answers, but SameSite=Lax keeps the session from it', async () => {
    const context = await newContext();
    // The login itself answers (CORS allows the origin) but the browser refuses the cookie of a cross-site response.
    const page = await signIn(context, 'admin', '127.0.0.1');
    expect(await sessionCookie(context)).toBeUndefined();
    const me = await gql(page, '{ me { name } }');
    expect(me.body.data).toEqual({ me: null });
    expect(me.body.errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });
});
