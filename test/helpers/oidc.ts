import * as openid from 'openid-client';
import { DEMO, type DemoName } from './client.js';

/**
 * A stand-in for a browser at the gym's sign-in pages, over plain fetch: it keeps the cookies each response sets (by
 * name; the test talks to one host), follows redirects by hand, reads forms out of the pages and posts them from the
 * gym's own origin. Enough to drive the real provider through the real code flow; the Chromium tests do it for real.
 */
export class FormBrowser {
  readonly cookies = new Map<string, string>();

  constructor(readonly origin: string) {}

  /** Fetches `url` (GET, or POST of a form), following redirects until one leaves the gym (returned, not fetched). */
  async go(url: string, form?: Record<string, string>): Promise<{ url: string; status: number; html: string }> {
    let next: string | undefined = url;
    let body = form ? new URLSearchParams(form).toString() : undefined;
    for (let hops = 0; next && hops < 10; hops++) {
      if (!next.startsWith(this.origin)) return { url: next, status: 302, html: '' };
      if (body === undefined && next.endsWith('#')) next = next.slice(0, -1);
      const res: Response = await fetch(next, {
        method: body ? 'POST' : 'GET',
        redirect: 'manual',
        headers: {
          cookie: this.cookieHeader,
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin } : {}),
        },
        body,
      });
      this.keepCookies(res);
      body = undefined;
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        next = new URL(location, next).toString();
        continue;
      }
      return { url: next, status: res.status, html: await res.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Keeps the cookies a response sets (and drops those it clears), as a browser would: for requests made by hand too. */
  keepCookies(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line)) this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), value);
    }
  }

  /** The Cookie header this browser sends. */
  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /**
   * Takes an authorization URL through the gym's pages as `who`: signs in when asked, then allows (or denies) when
   * asked; the page it ends on, usually the redirect back to the website.
   */
  async signInAndConsent(url: string, who: DemoName, options: { consent?: 'allow' | 'deny' } = {}): Promise<{ url: string; status: number; html: string }> {
    let page = await this.go(url);
    if (page.html.includes('/login"')) {
      const login = FormBrowser.form(page.html, '/login');
      page = await this.go(`${this.origin}${login.action}`, { ...login.fields, email: DEMO[who].email, password: DEMO[who].password });
    }
    if (page.html.includes('/confirm"')) {
      const choice = FormBrowser.form(page.html, options.consent === 'deny' ? '/abort' : '/confirm');
      page = await this.go(`${this.origin}${choice.action}`, choice.fields);
    }
    return page;
  }

  /** The action and fields of the page's form whose action ends with `suffix`. */
  static form(html: string, suffix: string): { action: string; fields: Record<string, string> } {
    for (const match of html.matchAll(/<form [^>]*method="post" action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)) {
      if (!match[1]!.endsWith(suffix)) continue;
      const fields: Record<string, string> = {};
      for (const input of match[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g)) fields[input[1]!] = input[2]!;
      return { action: match[1]!, fields };
    }
    throw new Error(`no form ending in ${suffix} on the page:\n${html.slice(0, 500)}`);
  }
}

/** The pool's side of the code flow with openid-client: the authorization URL and what completing it needs. */
export async function startCodeFlow(issuer: string, options: { clientId: string; secret?: string; redirectUri: string; scope: string; prompt?: string; params?: Record<string, string> }) {
  const config = await openid.discovery(new URL(issuer), options.clientId, options.secret, options.secret ? openid.ClientSecretBasic(options.secret) : openid.None(), {
    execute: [openid.allowInsecureRequests],
  });
  const verifier = openid.randomPKCECodeVerifier();
  const state = openid.randomState();
  const nonce = openid.randomNonce();
  const url = openid.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri,
    scope: options.scope,
    code_challenge: await openid.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...(options.prompt ? { prompt: options.prompt } : {}),
    ...options.params,
  });
  return {
    url: url.toString(),
    /** What a token request of the pool's own carries, for tests that send it by hand. */
    verifier,
    /** Completes the flow at the redirect the browser came back with: state, nonce and PKCE checked by openid-client. */
    finish: (callback: string) => openid.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }),
  };
}

/** A token request as a client sends it, by hand: to send several at the same moment and read every answer. */
export async function tokenRequest(issuer: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${issuer}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
