import Provider, { errors, type ClientMetadata, type Configuration } from 'oidc-provider';
import type { OidcClientConfig } from '../config/options.js';
import { ConfigError } from '../shared/errors.js';

export type { OidcClientConfig };

/** How the provider may answer an authorization request: in the redirect's query, or by a form posted to it. */
export const RESPONSE_MODES = ['query', 'form_post'];

/** What a client registers for when its configuration says nothing of it: the code flow, pairwise, ES256. */
export const CLIENT_DEFAULTS: Configuration['clientDefaults'] = {
  id_token_signed_response_alg: 'ES256',
  subject_type: 'pairwise',
  grant_types: ['authorization_code'],
  response_types: ['code'],
};

/** A configured client as the provider registers it: the code flow with refresh, pairwise subjects, ES256. */
export function clientMetadata(client: OidcClientConfig): ClientMetadata {
  return {
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
  };
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
