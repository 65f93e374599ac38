import type { Configuration } from 'oidc-provider';
import type { Logger } from 'pino';
import type { KeyRing } from '../auth/keys.js';
import type { PartnerTokens } from '../auth/partner-tokens.js';
import type { GymData } from '../db/data.js';
import type { Clock } from '../shared/clock.js';
import { accountConfiguration } from './accounts.js';
import { KeycardOidcAdapter } from './adapter.js';
import { CLIENT_DEFAULTS, clientMetadata, type OidcClientConfig } from './clients.js';
import { cookieConfiguration, SESSION_TTL_S, type ProviderCookieNames } from './cookies.js';
import { accessSheetPolicy, type AccessSheet } from './policy.js';
import { renderError } from './responses.js';
import { PROVIDER_ROUTES } from './routes.js';

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
  accessSheet: AccessSheet;
  production: boolean;
  /** The CSP form-action sources of the pages the provider renders itself (a form_post goes to a client). */
  clientOrigins: string[];
  log: Logger;
  /** REFRESH_REUSE_GRACE: a refresh token retried this soon after its rotation is refused without ending the grant. */
  refreshReuseGraceMs: number;
  /** The app's clock, on which a refresh token's reuse grace runs. */
  clock: Pick<Clock, 'now'>;
}

/** The scopes a client may ask for: who the member is, their name, staying signed in, and swimming at the pool. */
export const OIDC_SCOPES = ['openid', 'profile', 'offline_access', 'pool:swim'];

/** The claims each scope releases. `pool:swim` says until when the member may swim: their membership's end. */
const CLAIMS = { openid: ['sub'], profile: ['name'], 'pool:swim': ['membership_valid_until'] };

/** What discovery lists is what works: nothing of what Keycard does not do is switched on. */
const FEATURES: Configuration['features'] = {
  devInteractions: { enabled: false },
  revocation: { enabled: true },
  userinfo: { enabled: true },
  rpInitiatedLogout: { enabled: false },
  pushedAuthorizationRequests: { enabled: false },
  dPoP: { enabled: false },
};

/** How long each thing the provider stores lasts, in seconds. */
const TTL: Configuration['ttl'] = {
  AccessToken: 15 * 60,
  AuthorizationCode: 60,
  IdToken: 60 * 60,
  Interaction: 15 * 60,
  Grant: 30 * 24 * 60 * 60,
  // Made for each sign-in (see forgetProviderSession) and needed only until it is done.
  Session: SESSION_TTL_S,
  RefreshToken: 30 * 24 * 60 * 60,
};

/** The key ring as the provider's JWKS, the signing key first: oidc-provider signs with the first key of the algorithm. */
function signingKeys(keyRing: KeyRing): Configuration['jwks'] {
  const keys = [keyRing.current, ...keyRing.all().filter((k) => k.kid !== keyRing.current.kid)].map((k) => ({
    ...(k.privateKey.export({ format: 'jwk' }) as Record<string, unknown>),
    kid: k.kid,
    alg: 'ES256',
    use: 'sig',
  }));
  return { keys } as Configuration['jwks'];
}

/** oidc-provider's configuration for what Keycard does, and nothing more (see createOidcProvider). */
export function providerConfiguration(options: OidcProviderOptions, cookieNames: ProviderCookieNames, secureCookies: boolean): Configuration {
  return {
    adapter: (model: string) => new KeycardOidcAdapter(options.data, model, { refreshReuseGraceMs: options.refreshReuseGraceMs, clock: options.clock }),
    clients: options.clients.map(clientMetadata),
    clientDefaults: CLIENT_DEFAULTS,
    jwks: signingKeys(options.keyRing),
    cookies: cookieConfiguration(options.cookieKeys, cookieNames, secureCookies),
    scopes: OIDC_SCOPES,
    claims: CLAIMS,
    subjectTypes: ['pairwise'],
    ...accountConfiguration(options.data, options.partnerTokens),
    // The ID token carries the claims of the scopes granted (the pool needs the name and the membership's end at once).
    conformIdTokenClaims: false,
    // What discovery lists is what works: the code flow only, two ways for a client to authenticate.
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'none'],
    pkce: { required: () => true },
    rotateRefreshToken: true,
    features: FEATURES,
    enabledJWA: { idTokenSigningAlgValues: ['ES256'], userinfoSigningAlgValues: ['ES256'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: accessSheetPolicy(options.accessSheet) },
    routes: PROVIDER_ROUTES,
    ttl: TTL,
    renderError,
  };
}
