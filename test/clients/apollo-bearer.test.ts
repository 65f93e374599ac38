import { CombinedGraphQLErrors, gql, type TypedDocumentNode } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DEMO } from '../helpers/client.js';
import { createApolloClient, Tokens } from './apollo-bearer.js';
import { expectOneRefreshAndRetry, expectOneSharedRefresh, expired, named, requestsAfter, signOutElsewhere } from './gym-log.js';

/**
 * The README's Apollo Client code (./apollo-bearer.ts) against a real gym: real HTTP on port 0, real tokens from real
 * logins. Nothing here is mocked; what the gym did is read from its own request log.
 */

const ME: TypedDocumentNode<{ me: { name: string } }> = gql`
  query Me {
    me {
      name
    }
  }
`;

describe('Apollo Client 4 with bearer tokens (the README snippet)', () => {
  let app: TestApp;
  let url: string;
  beforeAll(async () => {
    app = await startTestApp();
    url = `${app.url}/graphql`;
  });
  afterAll(() => app.close());

  async function signedIn(): Promise<Tokens> {
    const tokens = new Tokens(url);
    await tokens.signIn(DEMO.alice.email, DEMO.alice.password);
    return tokens;
  }

  it('answers a signed-in query with the access token from login', async () => {
    const tokens = await signedIn();
    const mark = app.logs.length;
    const { data } = await createApolloClient(url, tokens).query({ query: ME });
    expect(data?.me.name).toBe('Alice Member');
    expect(named(await requestsAfter(app, mark, 1), 'Me')).toEqual([expect.objectContaining({ status: 200, auth: 'TOKEN' })]);
  });

  it('refreshes once when the gym refuses the expired access token, and the operation succeeds with the new one', async () => {
    const tokens = await signedIn();
    const { refreshToken } = tokens;
    tokens.accessToken = expired(app, tokens.accessToken!);
    const mark = app.logs.length;
    const { data } = await createApolloClient(url, tokens).query({ query: ME });
    expect(data?.me.name).toBe('Alice Member');
    await expectOneRefreshAndRetry(app, mark, tokens, refreshToken);
  });

  it('shares one refresh among five operations refused at the same time, and all five succeed', async () => {
    const tokens = await signedIn();
    const first = tokens.refreshToken!;
    tokens.accessToken = expired(app, tokens.accessToken!);
    const client = createApolloClient(url, tokens);
    const mark = app.logs.length;
    // Five requests on the wire at once (Apollo would otherwise merge identical queries in flight into one).
    const results = await Promise.all(
      Array.from({ length: 5 }, () => client.query({ query: ME, fetchPolicy: 'no-cache', context: { queryDeduplication: false } })),
    );
    expect(results.map((r) => r.data?.me.name)).toEqual(Array(5).fill('Alice Member'));
    await expectOneSharedRefresh(app, mark, tokens, first);
  });

  it("hands the caller the gym's UNAUTHENTICATED when the refresh is refused (signed out), after one refresh and no loop", async () => {
    const tokens = await signedIn();
    await signOutElsewhere(app, tokens);
    const client = createApolloClient(url, tokens);
    const mark = app.logs.length;

    const error = await client.query({ query: ME, fetchPolicy: 'no-cache' }).then(() => null, (e: unknown) => e);
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(tokens).toMatchObject({ accessToken: null, refreshToken: null });
    // Once signed out, the next operation fails the same way at once: no refresh is even tried.
    const again = await client.query({ query: ME, fetchPolicy: 'no-cache' }).then(() => null, (e: unknown) => e);
    expect((again as CombinedGraphQLErrors).errors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);

    const lines = await requestsAfter(app, mark, 3);
    expect(lines.map((line) => [line.operation, line.status, line.outcome])).toEqual([
      ['Me', 401, 'errors:UNAUTHENTICATED'],
      ['Refresh', 200, 'errors:UNAUTHENTICATED'],
      ['Me', 200, 'errors:UNAUTHENTICATED'],
    ]);
  });
});
