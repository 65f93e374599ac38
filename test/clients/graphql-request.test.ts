import { ClientError } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DEMO } from '../helpers/client.js';
import { createGymClient, Tokens } from './graphql-request.js';
import { expectOneRefreshAndRetry, expectOneSharedRefresh, expired, requestsAfter, signOutElsewhere } from './gym-log.js';

/**
 * The README's graphql-request code (./graphql-request.ts) against a real gym: real HTTP on port 0, real tokens from
 * real logins. Nothing here is mocked; what the gym did is read from its own request log.
 */

const ME = 'query Me { me { name } }';
type Me = { me: { name: string } };

describe('graphql-request with lazy headers (the README snippet)', () => {
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

  it('reads the token for each request: a client made before the sign-in sends the token the sign-in brought', async () => {
    const tokens = new Tokens(url);
    const gym = createGymClient(url, tokens);
    await tokens.signIn(DEMO.alice.email, DEMO.alice.password);
    const mark = app.logs.length;
    expect(await gym<Me>(ME)).toEqual({ me: { name: 'Alice Member' } });
    expect(await requestsAfter(app, mark, 1)).toEqual([expect.objectContaining({ operation: 'Me', status: 200, auth: 'TOKEN' })]);
  });

  it('refreshes once when the gym refuses the expired access token, and the request succeeds with the new one', async () => {
    const tokens = await signedIn();
    const { refreshToken } = tokens;
    tokens.accessToken = expired(app, tokens.accessToken!);
    const mark = app.logs.length;
    expect(await createGymClient(url, tokens)<Me>(ME)).toEqual({ me: { name: 'Alice Member' } });
    await expectOneRefreshAndRetry(app, mark, tokens, refreshToken);
  });

  it('shares one refresh among five requests refused at the same time, and all five succeed', async () => {
    const tokens = await signedIn();
    const first = tokens.refreshToken;
    tokens.accessToken = expired(app, tokens.accessToken!);
    const gym = createGymClient(url, tokens);
    const mark = app.logs.length;
    const results = await Promise.all(Array.from({ length: 5 }, () => gym<Me>(ME)));
    expect(results).toEqual(Array(5).fill({ me: { name: 'Alice Member' } }));
    await expectOneSharedRefresh(app, mark, tokens, first);
  });

  it("throws the gym's UNAUTHENTICATED when the refresh is refused (signed out), after one refresh and no loop", async () => {
    const tokens = await signedIn();
    await signOutElsewhere(app, tokens);
    const gym = createGymClient(url, tokens);
    const mark = app.logs.length;

    const error = await gym<Me>(ME).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).response.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(tokens).toMatchObject({ accessToken: null, refreshToken: null });
    // Once signed out, the next request fails the same way at once: no refresh is even tried.
    const again = await gym<Me>(ME).then(() => null, (e: unknown) => e);
    expect((again as ClientError).response.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);

    const lines = await requestsAfter(app, mark, 3);
    expect(lines.map((line) => [line.operation, line.status, line.outcome])).toEqual([
      ['Me', 401, 'errors:UNAUTHENTICATED'],
      ['Refresh', 200, 'errors:UNAUTHENTICATED'],
      ['Me', 200, 'errors:UNAUTHENTICATED'],
    ]);
  });
});
