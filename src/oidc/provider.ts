import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider from 'oidc-provider';
import { providerConfiguration, type OidcProviderOptions } from './configuration.js';
import { providerCookieNames, sessionFromAccessSheet, type ProviderCookieNames } from './cookies.js';
import { ownAnswers } from './responses.js';

/** The provider, its request handler, and what the gym's middleware in front of it needs to know. */
export interface OidcProvider {
  provider: Provider;
  callback: (req: IncomingMessage, res: ServerResponse) => void;
  cookieNames: ProviderCookieNames;
  /** Whether the provider's cookies are Secure (production on https). */
  secureCookies: boolean;
  /**
   * Gives this authorization request the provider session the access sheet implies (see forgetProviderSession):
   * a member on the sheet is signed in to the provider for this request, with `auth_time` when they gave their
   * password, so `prompt=none` can succeed and `max_age` is judged against that moment.
   */
  sessionFromAccessSheet(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/**
 * The gym as an OpenID Provider: panva's oidc-provider (OpenID Certified), configured for what Keycard does and
 * nothing more, so its discovery document says only what is true:
 *
 * - the authorization code flow with PKCE (S256 only), for the configured clients (clients.ts);
 * - ID tokens signed with the gym's own ES256 keys (the ring in KEYS_DIR, published at the one JWKS);
 * - pairwise subjects, equal to the `sub` of a partner token for the same member and partner, so a swimmer is the
 *   same swimmer whichever way they came (accounts.ts);
 * - refresh tokens only with `offline_access`, rotating on use;
 * - storage through Keycard's data layer (adapter.ts); the interaction pages (sign-in, consent) are Keycard's own
 *   (interactions.ts), and the access sheet decides who is signed in (policy.ts, cookies.ts).
 *
 * The member rules hold here too: a suspended member, or one without an active membership, is no account to the
 * provider, so no code, token or refresh is issued for them, whatever was granted before.
 */
export function createOidcProvider(options: OidcProviderOptions): OidcProvider {
  // Secure only where the browser reaches the gym over HTTPS: production, whose PUBLIC_URL is https.
  const secureCookies = options.production && options.issuer.startsWith('https:');
  const cookieNames = providerCookieNames(secureCookies);
  const provider = new Provider(options.issuer, providerConfiguration(options, cookieNames, secureCookies));
  provider.proxy = options.proxy;
  provider.on('server_error', (_ctx, err) => options.log.error({ err }, 'the OpenID Provider failed'));
  provider.use(ownAnswers(options.clientOrigins));
  return {
    provider,
    callback: provider.callback(),
    cookieNames,
    secureCookies,
    sessionFromAccessSheet: sessionFromAccessSheet(provider, options.clients, options.accessSheet, cookieNames),
  };
}
