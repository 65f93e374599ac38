import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type Provider from 'oidc-provider';
import type { Configuration } from 'oidc-provider';
import type { OidcClientConfig } from './clients.js';
import type { AccessSheet } from './policy.js';

/** The provider's own sessions last this long: made for each sign-in and needed only until it is done. */
export const SESSION_TTL_S = 60 * 60;

/** The names of the provider's cookies: its session, its interaction, and the interaction's resumption. */
export interface ProviderCookieNames {
  session: string;
  interaction: string;
  resume: string;
}

/** The provider's cookie names: with the strongest prefix each one's path allows when they are Secure. */
export function providerCookieNames(secure: boolean): ProviderCookieNames {
  // `__Host-` needs Secure, Path=/ and no Domain: no sibling host can plant it. oidc-provider pins the resume cookie
  // to /oidc/auth/<uid>, so that one can only be `__Secure-`.
  return secure
    ? { session: '__Host-_session', interaction: '__Host-_interaction', resume: '__Secure-_interaction_resume' }
    : { session: '_session', interaction: '_interaction', resume: '_interaction_resume' };
}

/** The provider's cookies, signed with Keycard's session secrets, Lax, and Secure where the gym is on https. */
export function cookieConfiguration(keys: string[], names: ProviderCookieNames, secure: boolean): Configuration['cookies'] {
  return {
    keys,
    names,
    long: { signed: true, sameSite: 'lax', secure },
    // Path=/ for the interaction cookie, so it can carry `__Host-` (oidc-provider sets the resume cookie's own path).
    short: { signed: true, sameSite: 'lax', secure, path: '/' },
  };
}

/**
 * The access sheet is the one record of who is signed in at the gym: an authorization request reaches the provider
 * without the provider's own session cookie (and the browser is told to drop it), so it never signs a member in by
 * itself. Each sign-in starts a session of the provider's for itself and asks; Keycard's interaction pages answer
 * from the gym's session (or the password), and the consent already given is found by member and client. So signing out at the gym, or signing in there as someone
 * else, is what the next "Sign in with the gym" sees, with no step of the provider's own in between.
 */
function forgetProviderSession(cookieHeader: string | undefined, sessionCookie: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  const kept = cookieHeader
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !(part.startsWith(sessionCookie) && /^(\.sig)?=/.test(part.slice(sessionCookie.length))));
  return kept.length ? kept.join('; ') : undefined;
}

/** Takes the provider's session cookie off this request (see {@link forgetProviderSession}) and tells the browser to drop it. */
export function dropProviderSession(req: Request, res: Response, names: ProviderCookieNames, secureCookies: boolean): void {
  const cookie = forgetProviderSession(req.headers.cookie, names.session);
  if (cookie === undefined) delete req.headers.cookie;
  else req.headers.cookie = cookie;
  // ...and the browser drops it, so the sign-in resumes on the session this request starts, not an older one.
  const secure = secureCookies ? '; Secure' : '';
  for (const name of [names.session, `${names.session}.sig`]) res.append('Set-Cookie', `${name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax${secure}`);
}

/**
 * Gives an authorization request the provider session the access sheet implies: a member on the sheet is signed in
 * to the provider for this request, with `auth_time` when they gave their password, so `prompt=none` can succeed and
 * `max_age` is judged against that moment.
 */
export function sessionFromAccessSheet(provider: Provider, clients: OidcClientConfig[], accessSheet: AccessSheet, names: ProviderCookieNames) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Only for a request the provider will take (a registered client and one of its redirects): anything else is
    // answered with an error, and must not store a session on its way.
    const params = new URL(req.url ?? '/', 'http://gym').searchParams;
    const client = clients.find((c) => c.clientId === params.get('client_id'));
    if (!client || !client.redirectUris.includes(params.get('redirect_uri') ?? '')) return;
    const entry = await accessSheet(req);
    if (!entry) return;
    const session = new provider.Session();
    session.loginAccount({ accountId: String(entry.memberId), loginTs: entry.authTime, transient: true });
    await session.save(SESSION_TTL_S);
    // Signed with the provider's own cookie keys (its Keygrip), as the provider will verify it.
    const grip = (provider.createContext(req, res).cookies as unknown as { keys: { sign(data: string): string } }).keys;
    const cookie = `${names.session}=${session.jti}`;
    const presented = `${cookie}; ${names.session}.sig=${grip.sign(cookie)}`;
    req.headers.cookie = req.headers.cookie ? `${req.headers.cookie}; ${presented}` : presented;
  };
}
