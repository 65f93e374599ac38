// urql signed in with Keycard's bearer tokens through @urql/exchange-auth: the auth exchange adds the access token to
// every operation; when the gym refuses it (expired or revoked: UNAUTHENTICATED, HTTP 401), it holds operations while
// one refresh runs and then sends the refused ones once more. The test next to this file runs it against a real gym.
import { Client, cacheExchange, fetchExchange, type Operation } from '@urql/core';
import { authExchange } from '@urql/exchange-auth';

const REFRESH = 'mutation Refresh($refreshToken: String!) { refresh(refreshToken: $refreshToken) { accessToken refreshToken } }';

/**
 * Where the app keeps the member's tokens, from `login` with mode TOKEN (in memory, or somewhere safer than
 * localStorage). Both are null once the member must sign in again.
 */
export interface TokenStore {
  accessToken: string | null;
  refreshToken: string | null;
}

/** The Authorization header an operation went out with. */
function sentWith(operation: Operation): string | null {
  const { fetchOptions } = operation.context;
  return new Headers((typeof fetchOptions === 'function' ? fetchOptions() : fetchOptions)?.headers).get('authorization');
}

export function createUrqlClient(url: string, tokens: TokenStore): Client {
  const authorization = () => (tokens.accessToken ? `Bearer ${tokens.accessToken}` : null);
  return new Client({
    url,
    // POST always: urql sends short queries as GET, which the gym's CSRF prevention refuses without a preflight header.
    preferGetMethod: false,
    exchanges: [
      cacheExchange,
      authExchange(async (utils) => {
        // Whether the operation the gym just refused carried the current token, or one a refresh has replaced since.
        let refusedCurrentToken = false;
        return {
          addAuthToOperation(operation) {
            const header = authorization();
            return header ? utils.appendHeaders(operation, { authorization: header }) : operation;
          },
          didAuthError(error, operation) {
            refusedCurrentToken = sentWith(operation) === authorization();
            const refused = error.response?.status === 401 || error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
            return refused && tokens.refreshToken !== null;
          },
          // The exchange runs one refreshAuth at a time and holds other operations meanwhile. Refresh tokens rotate, and
          // the gym revokes the whole sign-in when a spent one comes back, so an operation refused for a token that a
          // refresh has replaced since is only retried with the new token, not refreshed for again.
          async refreshAuth() {
            if (!refusedCurrentToken) return;
            const { data, error } = await utils.mutate(REFRESH, { refreshToken: tokens.refreshToken });
            if (data?.refresh) {
              ({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken } = data.refresh);
            } else if (error?.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) {
              // Signed out, expired or revoked: the held operations go once more as they were, and their callers get
              // the gym's UNAUTHENTICATED (other errors, e.g. RATE_LIMITED or the network, keep the tokens).
              tokens.accessToken = tokens.refreshToken = null;
            }
          },
        };
      }),
      fetchExchange,
    ],
  });
}
