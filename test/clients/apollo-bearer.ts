// Apollo Client 4 signed in with Keycard's bearer tokens: every request carries the current access token; when the
// gym refuses it (expired or revoked: UNAUTHENTICATED, HTTP 401), the operation waits for one refresh and is sent
// once more. The test next to this file runs it against a real gym.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { from, of, switchMap, throwError } from 'rxjs';

const PAIR = 'accessToken refreshToken';
const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${PAIR} } }`;
const REFRESH = `mutation Refresh($refreshToken: String!) { refresh(refreshToken: $refreshToken) { ${PAIR} } }`;

interface GymResponse {
  data?: Record<string, { accessToken: string; refreshToken: string }> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** One member's tokens. Keep the refresh token somewhere safer than localStorage if you can. */
export class Tokens {
  accessToken: string | null = null;
  refreshToken: string | null = null;
  private refreshing: Promise<boolean> | null = null;

  constructor(readonly url: string) {}

  /** `login` with mode TOKEN. Throws when the gym refuses (a wrong password, too many attempts). */
  async signIn(email: string, password: string): Promise<void> {
    const { data, errors } = await this.post(LOGIN, { input: { email, password, mode: 'TOKEN' } });
    if (!data?.login) throw new Error(errors?.[0]?.message ?? 'sign-in failed');
    ({ accessToken: this.accessToken, refreshToken: this.refreshToken } = data.login);
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
    this.refreshing ??= this.post(REFRESH, { refreshToken: this.refreshToken })
      .then(({ data, errors }) => {
        if (data?.refresh) {
          ({ accessToken: this.accessToken, refreshToken: this.refreshToken } = data.refresh);
          return true;
        }
        // UNAUTHENTICATED: signed out, expired, or revoked. Anything else (RATE_LIMITED) may pass: keep the tokens.
        if (errors?.[0]?.extensions?.code !== 'UNAUTHENTICATED') throw new Error(errors?.[0]?.message ?? 'refresh failed');
        this.accessToken = this.refreshToken = null;
        return false;
      })
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  // Plain fetch, outside Apollo's links: a refused refresh must not itself trigger a refresh.
  private async post(query: string, variables: Record<string, unknown>): Promise<GymResponse> {
    const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return (await res.json()) as GymResponse;
  }
}

/** The gym's answer to a bad access token: HTTP 401, and UNAUTHENTICATED on the guarded fields. */
const refused = (error: unknown): boolean =>
  (ServerError.is(error) && error.statusCode === 401) ||
  (CombinedGraphQLErrors.is(error) && error.errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED'));

export function createApolloClient(url: string, tokens: Tokens): ApolloClient {
  // Read for every request, so a retry carries the renewed token; the token sent is kept in the operation's context.
  const bearer = new SetContextLink(({ headers }) => {
    const sentWith = tokens.accessToken;
    return { sentWith, headers: { ...headers, ...(sentWith ? { authorization: `Bearer ${sentWith}` } : {}) } };
  });

  // ErrorLink does not handle the retry's own errors, so an operation is retried at most once: never a loop.
  const refreshOnce = new ErrorLink(({ error, result, operation, forward }) => {
    if (!refused(error)) return;
    return from(tokens.refresh(operation.getContext().sentWith)).pipe(
      // Not renewed: the member must sign in again, and the caller gets the gym's own UNAUTHENTICATED answer.
      switchMap((renewed) => (renewed ? forward(operation) : result ? of(result) : throwError(() => error))),
    );
  });

  return new ApolloClient({ link: ApolloLink.from([refreshOnce, bearer, new HttpLink({ uri: url })]), cache: new InMemoryCache() });
}
