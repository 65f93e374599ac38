// graphql-request signed in with Keycard's bearer tokens: lazy headers read the current access token for every
// request; when the gym refuses it (expired or revoked: UNAUTHENTICATED, HTTP 401), the request waits for one refresh
// and is sent once more. The test next to this file runs it against a real gym.
import { ClientError, GraphQLClient, request, type Variables } from 'graphql-request';

const PAIR = 'accessToken refreshToken';
const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${PAIR} } }`;
const REFRESH = `mutation Refresh($refreshToken: String!) { refresh(refreshToken: $refreshToken) { ${PAIR} } }`;

type Pair = { accessToken: string; refreshToken: string };

/** The gym refused the credentials: UNAUTHENTICATED (with HTTP 401 when a bearer token was refused). */
const refused = (error: unknown): error is ClientError =>
  error instanceof ClientError &&
  (error.response.status === 401 || (error.response.errors ?? []).some((e) => e.extensions?.code === 'UNAUTHENTICATED'));

/** One member's tokens. Keep the refresh token somewhere safer than localStorage if you can. */
export class Tokens {
  accessToken: string | null = null;
  refreshToken: string | null = null;
  private refreshing: Promise<boolean> | null = null;

  constructor(readonly url: string) {}

  /** `login` with mode TOKEN. Throws the gym's ClientError when it refuses (a wrong password, too many attempts). */
  async signIn(email: string, password: string): Promise<void> {
    const { login } = await request<{ login: Pair }>(this.url, LOGIN, { input: { email, password, mode: 'TOKEN' } });
    ({ accessToken: this.accessToken, refreshToken: this.refreshToken } = login);
  }

  /**
   * Renews the pair after the gym refused `failedToken`. Resolves false when the member must sign in again.
   * Refresh tokens rotate, and the gym revokes the whole sign-in when a spent one comes back, so there is never more
   * than one refresh at a time: callers share the one running, and a caller whose token was replaced meanwhile just
   * retries with the new one.
   */
  refresh(failedToken: string | null): Promise<boolean> {
    if (failedToken !== this.accessToken) return Promise.resolve(this.accessToken !== null);
    if (!this.refreshToken) return Promise.resolve(false);
    this.refreshing ??= request<{ refresh: Pair }>(this.url, REFRESH, { refreshToken: this.refreshToken })
      .then(({ refresh }) => {
        ({ accessToken: this.accessToken, refreshToken: this.refreshToken } = refresh);
        return true;
      })
      .catch((error: unknown) => {
        // UNAUTHENTICATED: signed out, expired, or revoked. Anything else (RATE_LIMITED, the network) may pass.
        if (!refused(error)) throw error;
        this.accessToken = this.refreshToken = null;
        return false;
      })
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }
}

/** `request(document, variables)` for the signed-in member; a refused token is refreshed once, then the gym's error is thrown. */
export function createGymClient(url: string, tokens: Tokens) {
  // Lazy headers: computed for each request from the token held now, so every request after a refresh carries the
  // new one (a fixed header would keep sending the token the client was made with).
  const client = new GraphQLClient(url, {
    headers: (): Record<string, string> => (tokens.accessToken ? { authorization: `Bearer ${tokens.accessToken}` } : {}),
  });

  return async function gymRequest<T>(document: string, variables?: Variables): Promise<T> {
    const sentWith = tokens.accessToken;
    try {
      return await client.request<T>(document, variables);
    } catch (error) {
      // Retried once at most; when the refresh is refused, the caller gets the gym's UNAUTHENTICATED (a ClientError).
      if (!refused(error) || !(await tokens.refresh(sentWith))) throw error;
      return client.request<T>(document, variables);
    }
  };
}
