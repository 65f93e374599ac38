import { gql, type TypedDocumentNode } from '@urql/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { signInWithKeycard } from '../helpers/client.js';
import { createUrqlClient, type TokenStore } from './urql.js';
import { expectOneRefreshAndRetry, expectOneSharedRefresh, expired, requestsAfter, signOutElsewhere } from './gym-log.js';

/**
 * The README's urql code (./urql.ts) against a real gym: real HTTP on port 0, real tokens from real logins. Nothing
 * here is mocked; what the gym did is read from its own request log.
 */

const ME: TypedDocumentNode<{ me: { name: string } | null }> = gql('query Me { me { name } }');
/** Fresh from the network each time: urql's document cache would otherwise answer a repeated query itself. */
const NETWORK = { requestPolicy: 'network-only' } as const;

describe('urql with @urql/exchange-auth (the README snippet)', () => {
  let app: TestApp;
  let url: string;
  beforeAll(async () => {
    app = await startTestApp();
    url = `${app.url}/graphql`;
  });
  afterAll(() => app.close());

  /** Alice's tokens from a real `login` (mode TOKEN), as the app would store them. */
  async function signedIn(): Promise<TokenStore> {
    const { accessToken, refreshToken } = await signInWithKeycard(app.url, 'alice');
    return { accessToken, refreshToken };
  }

  it('answers a signed-in query, sent as POST with the access token', async () => {
    const tokens = await signedIn();
    const mark = app.logs.length;
    const result = await createUrqlClient(url, tokens).query(ME, {}, NETWORK).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data?.me?.name).toBe('Alice Member');
    expect(await requestsAfter(app, mark, 1)).toEqual([expect.objectContaining({ method: 'POST', operation: 'Me', status: 200, auth: 'TOKEN' })]);
  });

  it('refreshes once when the gym refuses the expired access token, and the operation succeeds with the new one', async () => {
    const tokens = await signedIn();
    const { refreshToken } = tokens;
    tokens.accessToken = expired(app, tokens.accessToken!);
    const mark = app.logs.length;
    const result = await createUrqlClient(url, tokens).query(ME, {}, NETWORK).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data?.me?.name).toBe('Alice Member');
    await expectOneRefreshAndRetry(app, mark, tokens, refreshToken);
  });

  it('shares one refresh among five operations refused at the same time, and all five succeed', async () => {
    const tokens = await signedIn();
    const first = tokens.refreshToken;
    tokens.accessToken = expired(app, tokens.accessToken!);
    const client = createUrqlClient(url, tokens);
    const mark = app.logs.length;
    // Five different documents (an alias each): urql would otherwise share one request among identical operations.
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => client.query<Record<string, { name: string }>>(`query Me { m${i}: me { name } }`, {}, NETWORK).toPromise()),
    );
    expect(results.map((r) => r.error)).toEqual(Array(5).fill(undefined));
    expect(results.map((r, i) => r.data?.[`m${i}`]?.name)).toEqual(Array(5).fill('Alice Member'));
    await expectOneSharedRefresh(app, mark, tokens, first);
  });

  it("hands the caller the gym's UNAUTHENTICATED when the refresh is refused (signed out), after one refresh and no loop", async () => {
    const tokens = await signedIn();
    await signOutElsewhere(app, tokens);
    const client = createUrqlClient(url, tokens);
    const mark = app.logs.length;

    const result = await client.query(ME, {}, NETWORK).toPromise();
    expect(result.error?.graphQLErrors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(tokens).toEqual({ accessToken: null, refreshToken: null });
    // Once signed out, the next operation fails the same way at once: no refresh is even tried.
    const again = await client.query(ME, {}, NETWORK).toPromise();
    expect(again.error?.graphQLErrors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);

    // The refused token, the refused refresh (it carries the stale token too), the held operation sent once more as
    // it was, and the next one, without a token.
    const lines = await requestsAfter(app, mark, 4);
    expect(lines.map((line) => [line.operation, line.status, line.outcome])).toEqual([
      ['Me', 401, 'errors:UNAUTHENTICATED'],
      ['Refresh', 401, 'errors:UNAUTHENTICATED'],
      ['Me', 401, 'errors:UNAUTHENTICATED'],
      ['Me', 200, 'errors:UNAUTHENTICATED'],
    ]);
  });
});
