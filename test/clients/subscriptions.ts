// Keycard's live check-ins from a client: a keycard (token) sign-in, a graphql-ws client that keeps its socket signed
// in across token expiries, and Apollo Client 4 over both. The test next to this file runs it against a real gym.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { OperationTypeNode } from 'graphql';
import { createClient, type Client, type ClientOptions } from 'graphql-ws';

/** The gym's refusal, with its `extensions.code` (UNAUTHENTICATED from `refresh`: the member must sign in again). */
export class GymError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** A GraphQL request over plain fetch. */
async function request<T>(url: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  const error = body.errors?.[0];
  if (error || !body.data) throw new GymError(error?.extensions?.code ?? String(res.status), error?.message ?? 'no data');
  return body.data;
}

const TOKENS = 'accessToken accessTokenExpiresAt refreshToken';

/** One member's keycard: the access token, when it expires, and the refresh token that renews it. */
export class Keycard {
  accessToken = '';
  /** The access token's `exp`, in milliseconds. */
  expiresAt = 0;
  refreshToken = '';
  private refreshing: Promise<void> | undefined;

  /**
   * @param url the gym's GraphQL endpoint, e.g. `https://gym.example/graphql`
   * @param refreshWithinMs how long before its expiry a token is renewed rather than used
   */
  constructor(
    readonly url: string,
    readonly refreshWithinMs = 10_000,
  ) {}

  async signIn(email: string, password: string): Promise<void> {
    const data = await request<{ login: Tokens }>(this.url, `mutation ($input: LoginInput!) { login(input: $input) { ${TOKENS} } }`, {
      input: { email, password, mode: 'TOKEN' },
    });
    this.keep(data.login);
  }

  /**
   * Trades the refresh token for a new pair. One refresh at a time: the refresh token rotates, and the gym treats a
   * spent one presented again as stolen and revokes every token of the sign-in. Throws a GymError (UNAUTHENTICATED)
   * when the member must sign in again.
   */
  refresh(): Promise<void> {
    this.refreshing ??= request<{ refresh: Tokens }>(this.url, `mutation ($token: String!) { refresh(refreshToken: $token) { ${TOKENS} } }`, {
      token: this.refreshToken,
    })
      .then((data) => this.keep(data.refresh))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** An access token good for a while yet: renewed first when it expires within `refreshWithinMs`. */
  async token(): Promise<string> {
    if (Date.now() >= this.expiresAt - this.refreshWithinMs) await this.refresh();
    return this.accessToken;
  }

  /** The gym refused the token (a socket closed with 4403): renew it next time, whatever our clock says. */
  expire(): void {
    this.expiresAt = 0;
  }

  private keep(tokens: Tokens): void {
    this.accessToken = tokens.accessToken;
    this.expiresAt = Date.parse(tokens.accessTokenExpiresAt);
    this.refreshToken = tokens.refreshToken;
  }
}

interface Tokens {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
}

export interface GymSubscriptionsOptions {
  /** The gym's GraphQL endpoint over HTTP; the socket is on the same path. */
  url: string;
  keycard: Keycard;
  /**
   * Node: `WebSocket` from the `ws` package (browsers have their own). With Apollo Client on Node 20, also set
   * `globalThis.WebSocket ??= WebSocket`: GraphQLWsLink reads it when a subscription fails.
   */
  webSocketImpl?: unknown;
  /**
   * After a reconnect: events sent while the socket was down were missed, so re-query what the page shows over HTTP
   * (e.g. `checkIns(first: 20)`; with Apollo Client, `apollo.refetchQueries({ include: 'active' })`).
   */
  onReconnected?: () => void;
  /** The wait before each retry: by default {@link backoff}. */
  retryWait?: ClientOptions['retryWait'];
}

/** 1 s, 2 s, 4 s... up to 30 s, less up to half at random, so that a restarted gym is not hit by every client at once. */
export const backoff = (retries: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1_000 * 2 ** retries) * (1 - Math.random() / 2)));

/**
 * A graphql-ws client that stays signed in. The gym closes a socket with 4403 the moment its access token expires (or
 * is revoked); graphql-ws retries on 4403 and calls `connectionParams` again, which is where the token is renewed, and
 * then starts the same subscriptions again. When the gym refuses to renew it, every subscription gets that GymError:
 * the member must sign in again.
 */
export function createGymSubscriptions(options: GymSubscriptionsOptions): Client {
  const { keycard } = options;
  return createClient({
    url: options.url.replace(/^http/, 'ws'),
    webSocketImpl: options.webSocketImpl,
    connectionParams: async () => ({ authorization: 'Bearer ' + (await keycard.token()) }),
    // Five to ten minutes of retrying: enough to ride out a restart of the gym, not just a token expiry.
    retryAttempts: 25,
    retryWait: options.retryWait ?? backoff,
    // graphql-ws retries only on a close by default; a gym that is restarting refuses the connection instead (an
    // error). Retry that too, but not the gym's own refusal to renew the token.
    shouldRetry: (err) => !(err instanceof GymError),
    on: {
      connected: (_socket, _payload, wasRetry) => {
        if (wasRetry) options.onReconnected?.();
      },
      closed: (event) => {
        // The gym checks the token by its own clock: if it said no, renew it even if ours says it is still good.
        if ((event as { code?: number }).code === 4403) keycard.expire();
      },
    },
  });
}

/**
 * Apollo Client 4: subscriptions over the graphql-ws client above, queries and mutations over HTTP with the same
 * keycard's bearer token.
 */
export function createGymApolloClient(options: { url: string; keycard: Keycard; subscriptions: Client }): ApolloClient {
  const bearer = new SetContextLink(async ({ headers }) => ({ headers: { ...headers, authorization: 'Bearer ' + (await options.keycard.token()) } }));
  const http = ApolloLink.from([bearer, new HttpLink({ uri: options.url })]);
  return new ApolloClient({
    link: ApolloLink.split(({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION, new GraphQLWsLink(options.subscriptions), http),
    cache: new InMemoryCache(),
  });
}
