import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { ConfigError } from '../errors.js';
import type { Logger } from 'pino';
import type { KeyRing } from '../auth/keys.js';
import type { PartnerTokens } from '../auth/partner-tokens.js';
import type { GymData } from '../db/data.js';
import { membershipStatus } from '../services/memberships.js';
import { escapeHtml } from '../shared/pages.js';
import { KeycardOidcAdapter, memberIdOfAccount } from './adapter.js';

/** A website that may ask members to sign in with the gym (CONTRACT section 13). */
export interface OidcClientConfig {
  clientId: string;
  redirectUris: string[];
  /** What the gym's pages call the website ("The pool next door"). */
  name: string;
  /** A confidential client's secret (client_secret_basic); none: a public client, held to PKCE alone. */
  secret?: string;
}

export interface OidcProviderOptions {
  issuer: string;
  data: GymData;
  keyRing: KeyRing;
  partnerTokens: PartnerTokens;
  clients: OidcClientConfig[];
  /** Keys for the provider's own cookies (its session and interaction cookies): Keycard's session secrets. */
  cookieKeys: string[];
  /** Whether the provider believes X-Forwarded-* (Keycard sets them to PUBLIC_URL before it sees a request). */
  proxy: boolean;
  /**
   * The member on the access sheet for this browser (its `keycard.sid`) and when they gave their password (epoch
   * seconds), or null: the provider's own session counts only while the gym's does, for the same member.
   */
  accessSheet(req: IncomingMessage): Promise<AccessSheetEntry | null>;
  production: boolean;
  /** The CSP form-action sources of the pages the provider renders itself (a form_post goes to a client). */
  clientOrigins: string[];
  log: Logger;
  /** REFRESH_REUSE_GRACE: a refresh token retried this soon after its rotation is refused without ending the grant. */
  refreshReuseGraceMs: number;
}

/** The provider, its request handler, and what the gym's middleware in front of it needs to know. */
export interface OidcProvider {
  provider: Provider;
  callback: (req: IncomingMessage, res: ServerResponse) => void;
  cookieNames: ReturnType<typeof providerCookieNames>;
  /** Whether the provider's cookies are Secure (production on https). */
  secureCookies: boolean;
  /**
   * Gives this authorization request the provider session the access sheet implies (see {@link forgetProviderSession}):
   * a member on the sheet is signed in to the provider for this request, with `auth_time` when they gave their
   * password, so `prompt=none` can succeed and `max_age` is judged against that moment.
   */
  sessionFromAccessSheet(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** Who the access sheet says a browser is, and since when (the `auth_time` of what the provider issues). */
export interface AccessSheetEntry {
  memberId: number;
  /** When the member last gave their password for this session, in epoch seconds. */
  authTime: number;
}

/** The provider's cookie names: with the strongest prefix each one's path allows when they are Secure. */
export function providerCookieNames(secure: boolean): { session: string; interaction: string; resume: string } {
  // `__Host-` needs Secure, Path=/ and no Domain: no sibling host can plant it. oidc-provider pins the resume cookie
  // to /oidc/auth/<uid>, so that one can only be `__Secure-`.
  return secure
    ? { session: '__Host-_session', interaction: '__Host-_interaction', resume: '__Secure-_interaction_resume' }
    : { session: '_session', interaction: '_interaction', resume: '_interaction_resume' };
}

/**
 * The access sheet is the one record of who is signed in at the gym: an authorization request reaches the provider
 * without the provider's own session cookie (and the browser is told to drop it), so it never signs a member in by
 * itself. Each sign-in starts a session of the provider's for itself and asks; Keycard's interaction pages answer
 * from the gym's session (or the password), and the consent already given is found by member and client. So signing out at the gym, or signing in there as someone
 * else, is what the next "Sign in with the gym" sees, with no step of the provider's own in between.
 */
export function forgetProviderSession(cookieHeader: string | undefined, sessionCookie = '_session'): string | undefined {
  if (cookieHeader === undefined) return undefined;
  const kept = cookieHeader
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !(part.startsWith(sessionCookie) && /^(\.sig)?=/.test(part.slice(sessionCookie.length))));
  return kept.length ? kept.join('; ') : undefined;
}

/**
 * Which requests the provider answers: its discovery document, and its endpoints under /oidc/ with the methods they
 * take (the authorization endpoint and its resumption by uid, the token, userinfo and revocation endpoints). Anything
 * else stays Keycard's (a JSON 404), never the provider's plain-text one.
 */
export function isProviderRoute(method: string, path: string): boolean {
  if (path === '/.well-known/openid-configuration') return method === 'GET' || method === 'HEAD';
  // OpenID Connect Core 3.1.2.1: the authorization endpoint takes GET and POST (a form); its resumption is a redirect.
  if (path === '/oidc/auth') return method === 'GET' || method === 'POST';
  if (isAuthorizationPath(path)) return method === 'GET';
  if (path === '/oidc/token' || path === '/oidc/token/revocation') return method === 'POST';
  if (path === '/oidc/me') return method === 'GET' || method === 'POST';
  return false;
}

/** The authorization endpoint, or its resumption by interaction uid: each stores or resumes an interaction. */
export function isAuthorizationPath(path: string): boolean {
  return path === '/oidc/auth' || /^\/oidc\/auth\/[\w-]{1,64}$/.test(path);
}

/** How the provider may answer an authorization request: in the redirect's query, or by a form posted to it. */
const RESPONSE_MODES = ['query', 'form_post'];

/** The scopes a client may ask for: who the member is, their name, staying signed in, and swimming at the pool. */
export const OIDC_SCOPES = ['openid', 'profile', 'offline_access', 'pool:swim'];

/** The claims each scope releases. `pool:swim` says until when the member may swim: their membership's end. */
const CLAIMS = { openid: ['sub'], profile: ['name'], 'pool:swim': ['membership_valid_until'] };

/** The member behind an accountId, if they may sign in with the gym now: active, with an active membership. */
export async function standingOf(data: GymData, accountId: string): Promise<{ memberId: number; name: string; validUntil: Date } | 'suspended' | 'no membership' | null> {
  const memberId = memberIdOfAccount(accountId);
  if (memberId === null) return null;
  const [member] = await data.members.byIds([memberId]);
  if (!member) return null;
  if (member.status !== 'ACTIVE') return 'suspended';
  const [membership] = await data.memberships.byMemberIds([memberId]);
  if (!membership || membershipStatus(membership) !== 'ACTIVE') return 'no membership';
  return { memberId, name: member.name, validUntil: membership.validUntil };
}

/**
 * The gym as an OpenID Provider: panva's oidc-provider (OpenID Certified), configured for what Keycard does and
 * nothing more, so its discovery document says only what is true:
 *
 * - the authorization code flow with PKCE (S256 only), for the configured clients;
 * - ID tokens signed with the gym's own ES256 keys (the ring in KEYS_DIR, published at the one JWKS);
 * - pairwise subjects, equal to the `sub` of a partner token for the same member and partner, so a swimmer is the
 *   same swimmer whichever way they came;
 * - refresh tokens only with `offline_access`, rotating on use;
 * - storage through Keycard's data layer; the interaction pages (sign-in, consent) are Keycard's own (interactions.ts).
 *
 * The member rules hold here too: a suspended member, or one without an active membership, is no account to the
 * provider, so no code, token or refresh is issued for them, whatever was granted before.
 */
export function createOidcProvider(options: OidcProviderOptions): OidcProvider {
  const { data, keyRing, partnerTokens } = options;
  // Secure only where the browser reaches the gym over HTTPS: production, whose PUBLIC_URL is https.
  const secureCookies = options.production && options.issuer.startsWith('https:');
  const cookieNames = providerCookieNames(secureCookies);
  // The signing key first: oidc-provider signs with the first key of the algorithm.
  const jwks = {
    keys: [keyRing.current, ...keyRing.all().filter((k) => k.kid !== keyRing.current.kid)].map((k) => ({
      ...(k.privateKey.export({ format: 'jwk' }) as Record<string, unknown>),
      kid: k.kid,
      alg: 'ES256',
      use: 'sig',
    })),
  };
  const configuration: Configuration = {
    adapter: (model: string) => new KeycardOidcAdapter(data, model, { refreshReuseGraceMs: options.refreshReuseGraceMs }),
    clients: options.clients.map((client) => ({
      client_id: client.clientId,
      redirect_uris: client.redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token'],
      subject_type: 'pairwise',
      id_token_signed_response_alg: 'ES256',
      client_name: client.name,
      response_modes: RESPONSE_MODES,
      // One way for a confidential client to authenticate, the one every OAuth server must take (RFC 6749 2.3.1):
      // the pool sends its secret this way too.
      ...(client.secret ? { client_secret: client.secret, token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' }),
    })),
    clientDefaults: { id_token_signed_response_alg: 'ES256', subject_type: 'pairwise', grant_types: ['authorization_code'], response_types: ['code'] },
    jwks: jwks as Configuration['jwks'],
    cookies: {
      keys: options.cookieKeys,
      names: cookieNames,
      long: { signed: true, sameSite: 'lax', secure: secureCookies },
      // Path=/ for the interaction cookie, so it can carry `__Host-` (oidc-provider sets the resume cookie's own path).
      short: { signed: true, sameSite: 'lax', secure: secureCookies, path: '/' },
    },
    scopes: OIDC_SCOPES,
    claims: CLAIMS,
    subjectTypes: ['pairwise'],
    pairwiseIdentifier: async (_ctx, accountId, client) => {
      const memberId = memberIdOfAccount(accountId);
      if (memberId === null) throw new Error('not a member id');
      return partnerTokens.pairwiseSubject(memberId, client.clientId);
    },
    async findAccount(_ctx, accountId) {
      const standing = await standingOf(data, accountId);
      if (standing === null || typeof standing === 'string') return undefined;
      return {
        accountId,
        claims: async () => ({ sub: accountId, name: standing.name, membership_valid_until: Math.floor(standing.validUntil.getTime() / 1000) }),
      };
    },
    // Consent is remembered per member and client, not per browser: a grant already given is found again.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const memberId = memberIdOfAccount(ctx.oidc.session?.accountId);
      if (memberId === null) return undefined;
      for (const row of await data.oidc.of('Grant', memberId)) {
        const payload = JSON.parse(row.payload) as { jti?: string; clientId?: string };
        if (payload.clientId === ctx.oidc.client!.clientId && payload.jti) {
          const grant = await ctx.oidc.provider.Grant.find(payload.jti);
          if (grant) return grant;
        }
      }
      return undefined;
    },
    // The ID token carries the claims of the scopes granted (the pool needs the name and the membership's end at once).
    conformIdTokenClaims: false,
    // What discovery lists is what works: the code flow only, two ways for a client to authenticate.
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'none'],
    pkce: { required: () => true },
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
    },
    enabledJWA: { idTokenSigningAlgValues: ['ES256'], userinfoSigningAlgValues: ['ES256'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: accessSheetPolicy(options.accessSheet) },
    // Under /oidc/, so the provider answers only there (and for discovery) and every other path stays Keycard's.
    routes: {
      authorization: '/oidc/auth',
      token: '/oidc/token',
      userinfo: '/oidc/me',
      revocation: '/oidc/token/revocation',
      end_session: '/oidc/session/end',
      code_verification: '/oidc/device',
      device_authorization: '/oidc/device/auth',
      backchannel_authentication: '/oidc/backchannel',
      pushed_authorization_request: '/oidc/request',
      registration: '/oidc/reg',
      introspection: '/oidc/token/introspection',
      challenge: '/oidc/challenge',
      jwks: '/.well-known/jwks.json',
    },
    ttl: {
      AccessToken: 15 * 60,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      Interaction: 15 * 60,
      Grant: 30 * 24 * 60 * 60,
      // Made for each sign-in (see forgetProviderSession) and needed only until it is done.
      Session: SESSION_TTL_S,
      RefreshToken: 30 * 24 * 60 * 60,
    },
    // The provider's error page says what went wrong in OAuth's words, never more (no stack, no internals).
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage(String(out.error ?? 'error'), String(out.error_description ?? ''));
    },
  };
  const provider = new Provider(options.issuer, configuration);
  provider.proxy = options.proxy;
  provider.on('server_error', (_ctx, err) => options.log.error({ err }, 'the OpenID Provider failed'));
  const csp = providerCsp(options.clientOrigins);
  provider.use(async (ctx, next) => {
    // The gym's pages' policy for whatever the provider renders itself (its error page, a form_post): no style, no
    // framing, forms only to the clients. oidc-provider adds the hash of its form_post script to script-src, so that
    // one script, and no other, runs.
    ctx.set('Content-Security-Policy', csp);
    await next();
    if (ctx.oidc?.route === 'discovery' && ctx.body && typeof ctx.body === 'object') honestDiscovery(ctx.body as Record<string, unknown>);
  });
  return {
    provider,
    callback: provider.callback(),
    cookieNames,
    secureCookies,
    async sessionFromAccessSheet(req, res) {
      // Only for a request the provider will take (a registered client and one of its redirects): anything else is
      // answered with an error, and must not store a session on its way.
      const params = new URL(req.url ?? '/', 'http://gym').searchParams;
      const client = options.clients.find((c) => c.clientId === params.get('client_id'));
      if (!client || !client.redirectUris.includes(params.get('redirect_uri') ?? '')) return;
      const entry = await options.accessSheet(req);
      if (!entry) return;
      const session = new provider.Session();
      session.loginAccount({ accountId: String(entry.memberId), loginTs: entry.authTime, transient: true });
      await session.save(SESSION_TTL_S);
      // Signed with the provider's own cookie keys (its Keygrip), as the provider will verify it.
      const grip = (provider.createContext(req, res).cookies as unknown as { keys: { sign(data: string): string } }).keys;
      const cookie = `${cookieNames.session}=${session.jti}`;
      const presented = `${cookie}; ${cookieNames.session}.sig=${grip.sign(cookie)}`;
      req.headers.cookie = req.headers.cookie ? `${req.headers.cookie}; ${presented}` : presented;
    },
  };
}

/** The provider's own sessions last this long: made for each sign-in and needed only until it is done. */
const SESSION_TTL_S = 60 * 60;

function providerCsp(clientOrigins: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'none'",
    `form-action ${clientOrigins.length ? clientOrigins.join(' ') : "'none'"}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * The discovery document says only what is true: the response modes the clients are registered for (oidc-provider
 * lists every mode it knows), and the claims an ID token or userinfo carries (no `sid`: nothing is issued with one).
 */
function honestDiscovery(body: Record<string, unknown>): void {
  body.response_modes_supported = RESPONSE_MODES;
  if (Array.isArray(body.claims_supported)) body.claims_supported = body.claims_supported.filter((claim) => claim !== 'sid');
}

/**
 * Refuses at start a registration the provider would refuse at the first sign-in (oidc-provider checks a static
 * client's metadata only when the client is first used), naming the variable and the provider's reason.
 */
export async function checkClients(provider: Provider, clients: OidcClientConfig[]): Promise<void> {
  const problems: string[] = [];
  for (const client of clients) {
    try {
      await provider.Client.find(client.clientId);
    } catch (err) {
      if (!(err instanceof errors.InvalidClientMetadata)) throw err;
      const reason = err.error_description ?? err.message;
      // The one a registration meets most: pairwise subjects are per host, so redirects on two hosts need a sector.
      const hint = /sector_identifier_uri/.test(reason) ? ' (its redirect URIs are on more than one host: register redirect URIs on one host)' : '';
      problems.push(`OIDC_CLIENTS: the client ${client.clientId} would be refused by the OpenID Provider: ${reason}${hint}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/**
 * oidc-provider's own policy, with one more reason to ask for a sign-in: the provider's session alone never signs a
 * member in. It counts only while this browser is on the gym's access sheet for the same member, so signing out at the
 * gym (logout, the idle or absolute timeout, logoutEverywhere) signs out of "Sign in with the gym" too, and a browser
 * now signed in at the gym as someone else is asked who it is.
 */
function accessSheetPolicy(accessSheet: (req: IncomingMessage) => Promise<AccessSheetEntry | null>) {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('access_sheet', 'The member is no longer signed in at the gym', 'login_required', async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      // On the sheet, but no account to the provider (suspended, or no active membership): the sign-in page says why.
      if (!ctx.oidc.account) return interactionPolicy.Check.REQUEST_PROMPT;
      const memberId = (await accessSheet(ctx.req))?.memberId ?? null;
      return memberId !== null && String(memberId) === accountId ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}

function errorPage(error: string, description: string): string {
  const title = 'Signing in did not work';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · Keycard gym</title></head><body><main><h1>${title}</h1><p>${escapeHtml(error)}</p><p>${escapeHtml(description)}</p></main></body></html>`;
}
