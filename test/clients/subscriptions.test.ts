import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CombinedGraphQLErrors, gql } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { idOf } from '../../src/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, DEMO } from '../helpers/client.js';
import { openTestDatabase } from '../helpers/database.js';
import { started, until } from '../helpers/live.js';
import { createGymApolloClient, createGymSubscriptions, GymError, Keycard } from './subscriptions.js';

/**
 * The README's client code (./subscriptions.ts) against a real gym: real HTTP and sockets on port 0, real tokens
 * that really expire. Nothing here is mocked.
 */

// What a Node app does besides passing `ws` to graphql-ws: Node 20 has no global WebSocket, and Apollo's GraphQLWsLink
// reads WebSocket.CLOSED when a subscription fails (apollographql/apollo-client#11761), so without this the gym's error
// never reaches the subscriber: a ReferenceError does.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const CHECK_INS = 'subscription { checkIns { at method member { name } } }';

async function signedIn(app: TestApp, who: 'staff' | 'alice', refreshWithinMs?: number): Promise<Keycard> {
  const keycard = new Keycard(`${app.url}/graphql`, refreshWithinMs);
  await keycard.signIn(DEMO[who].email, DEMO[who].password);
  return keycard;
}

/**
 * Alice comes through the door: a new check-in and so a new event. A check-in within 5 minutes of the last one gives
 * the same row back and no event, so her earlier ones are aged first.
 */
async function aliceChecksIn(app: TestApp): Promise<{ id: string; at: string }> {
  const keycard = await signedIn(app, 'alice');
  const alice = new Client(app.url);
  alice.headers.authorization = 'Bearer ' + (await keycard.token());
  const me = await alice.gql<{ me: { id: string } }>('{ me { id } }');
  await app.database.sql.run('update check_ins set at = ? where member_id = ?', app.database.sql.instant(Date.now() - 10 * 60_000), idOf('Member', me.data!.me.id));
  const res = await alice.gql<{ checkIn: { id: string; at: string } }>('mutation { checkIn(door: "main") { id at } }');
  expect(res.errors).toBeUndefined();
  return res.data!.checkIn;
}

/** The snippet's client for a test: `ws` on Node, and quick retries (graphql-ws's own wait a second and more). */
function quickSubscriptions(app: TestApp, keycard: Keycard, onReconnected?: () => void) {
  return createGymSubscriptions({
    url: `${app.url}/graphql`,
    keycard,
    webSocketImpl: WebSocket,
    ...(onReconnected ? { onReconnected } : {}),
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
  });
}

/** How many subscriptions the gym has started so far (each logs `subscription_start` once it can hear events). */
const startedSoFar = (app: TestApp) => app.logs.filter((line) => line.event === 'subscription_start').length;

describe('the keycard', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('spends its refresh token once when asked to refresh twice at once (a spent one presented again revokes the sign-in)', async () => {
    const keycard = await signedIn(app, 'staff');
    const first = keycard.refreshToken;
    await Promise.all([keycard.refresh(), keycard.refresh()]);
    expect(keycard.refreshToken).not.toBe(first);
    // The sign-in is still good: the new refresh token works, and so does the access token it came with.
    await keycard.refresh();
    const staff = new Client(app.url);
    staff.headers.authorization = 'Bearer ' + keycard.accessToken;
    const viewer = await staff.gql<{ viewer: { authenticated: boolean; role: string } }>('{ viewer { authenticated role } }');
    expect(viewer.data?.viewer).toEqual({ authenticated: true, role: 'STAFF' });
  });
});

describe('the plain graphql-ws client, with access tokens that live 2 s', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { ACCESS_TOKEN_TTL: '2s' } });
  });
  afterAll(() => app.close());

  it('renews the token in connectionParams when the gym closes the socket at exp with 4403 token_expired, reconnects, and the same subscription goes on receiving check-ins', async () => {
    // Renewed only when under 300 ms are left, so that the socket opens on the token the sign-in gave.
    const keycard = await signedIn(app, 'staff', 300);
    const firstRefreshToken = keycard.refreshToken;
    let reconnects = 0;
    const client = quickSubscriptions(app, keycard, () => reconnects++);
    // Which token each connection opened with, and every close as the client saw it.
    const connections: { accessToken: string; expiresAt: number }[] = [];
    const closes: { code: number; reason: string; at: number }[] = [];
    client.on('connected', () => connections.push({ accessToken: keycard.accessToken, expiresAt: keycard.expiresAt }));
    client.on('closed', (event) => {
      const { code, reason } = event as { code: number; reason: string };
      closes.push({ code, reason, at: Date.now() });
    });

    const events: any[] = [];
    const failures: unknown[] = [];
    let completed = false;
    const before = startedSoFar(app);
    const stop = client.subscribe(
      { query: CHECK_INS },
      { next: (value) => void events.push(value), error: (err) => void failures.push(err), complete: () => void (completed = true) },
    );
    try {
      await started(app, before + 1);
      expect(connections).toHaveLength(1);
      const first = connections[0]!;

      // The gym closes the socket at the token's exp (the token lives at most 2 s), not later.
      await until(() => closes.length > 0, 'the gym to close the socket', 3_000);
      expect(closes[0]).toMatchObject({ code: 4403, reason: 'token_expired' });
      expect(closes[0]!.at).toBeGreaterThanOrEqual(first.expiresAt);
      expect(closes[0]!.at - first.expiresAt).toBeLessThan(1_000);

      // graphql-ws retried, connectionParams renewed the token (the refresh token rotated), and onReconnected ran.
      await until(() => reconnects === 1, 'the client to reconnect');
      expect(connections).toHaveLength(2);
      expect(connections[1]!.accessToken).not.toBe(first.accessToken);
      expect(connections[1]!.expiresAt).toBeGreaterThan(first.expiresAt);
      expect(keycard.refreshToken).not.toBe(firstRefreshToken);

      // The subscription started again by itself: a check-in after the reconnect reaches the same sink.
      await started(app, before + 2);
      const checkIn = await aliceChecksIn(app);
      await until(() => events.length > 0, 'the check-in event');
      expect(events).toEqual([{ data: { checkIns: { at: checkIn.at, method: 'TOKEN', member: { name: 'Alice Member' } } } }]);
      expect(failures).toEqual([]);
      expect(completed).toBe(false);
    } finally {
      stop();
      await client.dispose();
    }
  });

  it("renews the token after a 4403 even while the client's clock says it is still good (a clock behind the gym's)", async () => {
    const keycard = await signedIn(app, 'staff', 300);
    const client = quickSubscriptions(app, keycard);
    const tokens: string[] = [];
    const closes: { code: number; reason: string }[] = [];
    client.on('connected', () => void tokens.push(keycard.accessToken));
    client.on('closed', (event) => void closes.push(event as { code: number; reason: string }));
    // The client believes the token has a minute left: only the gym's 4403 can tell it otherwise.
    keycard.expiresAt += 60_000;
    const before = startedSoFar(app);
    const stop = client.subscribe({ query: CHECK_INS }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    try {
      await started(app, before + 1);
      // Closed at the real exp, then back with a new token on the first retry: not refused again and again.
      await until(() => tokens.length === 2, 'the client to reconnect', 3_000);
      expect(closes.map(({ code, reason }) => [code, reason])).toEqual([[4403, 'token_expired']]);
      expect(tokens[1]).not.toBe(tokens[0]);
    } finally {
      stop();
      await client.dispose();
    }
  });

  it('ends every subscription with the GymError UNAUTHENTICATED, without retrying, once the gym will not renew the token (signed out)', async () => {
    const keycard = await signedIn(app, 'staff', 300);
    const client = quickSubscriptions(app, keycard);
    let attempts = 0;
    client.on('connecting', () => void attempts++);
    const failures: unknown[] = [];
    const before = startedSoFar(app);
    const stop = client.subscribe({ query: CHECK_INS }, { next: () => undefined, error: (err) => void failures.push(err), complete: () => undefined });
    try {
      await started(app, before + 1);
      // Signed out on another device: the refresh token's whole sign-in is revoked.
      const logout = await new Client(app.url).gql('mutation ($token: String!) { logout(refreshToken: $token) }', { token: keycard.refreshToken });
      expect(logout.data).toEqual({ logout: true });
      await until(() => failures.length > 0, 'the subscription to fail', 3_000);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toBeInstanceOf(GymError);
      expect((failures[0] as GymError).code).toBe('UNAUTHENTICATED');
      // The first connection, and the one retry whose renewal the gym refused: the client did not keep trying.
      expect(attempts).toBe(2);
    } finally {
      stop();
      await client.dispose();
    }
  });
});

describe('the plain graphql-ws client, when the gym restarts', () => {
  it('connects again once the gym is back, and the same subscription goes on receiving check-ins', async () => {
    // A restart: the same database, keys and port, a new process (here, a new app in this one).
    const database = await openTestDatabase();
    const keysDir = mkdtempSync(path.join(tmpdir(), 'keycard-keys-'));
    let app: TestApp | undefined = await startTestApp({ database, keysDir });
    const port = Number(new URL(app.url).port);
    const keycard = await signedIn(app, 'staff');
    let reconnects = 0;
    const client = quickSubscriptions(app, keycard, () => reconnects++);
    const refused: unknown[] = [];
    client.on('error', (err) => void refused.push(err));
    const events: any[] = [];
    const failures: unknown[] = [];
    const stop = client.subscribe({ query: CHECK_INS }, { next: (value) => void events.push(value), error: (err) => void failures.push(err), complete: () => undefined });
    try {
      await started(app, 1);
      await app.close();
      app = undefined;
      // Down long enough for the client to find nothing listening, more than once.
      await until(() => refused.length >= 2, 'the client to find the gym down', 3_000);
      app = await startTestApp({ database, keysDir, port, seed: false });
      await until(() => reconnects === 1, 'the client to reconnect', 3_000);
      await started(app, 1);
      const checkIn = await aliceChecksIn(app);
      await until(() => events.length > 0, 'the check-in event');
      expect(events).toEqual([{ data: { checkIns: { at: checkIn.at, method: 'TOKEN', member: { name: 'Alice Member' } } } }]);
      expect(failures).toEqual([]);
    } finally {
      stop();
      await client.dispose();
      await app?.close();
      await database.close();
      rmSync(keysDir, { recursive: true, force: true });
    }
  });
});

describe("Apollo Client 4's GraphQLWsLink", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  function apolloFor(keycard: Keycard) {
    const subscriptions = createGymSubscriptions({ url: `${app.url}/graphql`, keycard, webSocketImpl: WebSocket });
    return { subscriptions, apollo: createGymApolloClient({ url: `${app.url}/graphql`, keycard, subscriptions }) };
  }

  it("delivers a check-in to a STAFF client as it happens, with the member's name, and the same client reads it over HTTP", async () => {
    const { subscriptions, apollo } = apolloFor(await signedIn(app, 'staff'));
    const results: any[] = [];
    const before = startedSoFar(app);
    const subscription = apollo.subscribe({ query: gql(CHECK_INS) }).subscribe({
      next: (result) => void results.push(result),
      error: (error) => void results.push({ error }),
    });
    try {
      await started(app, before + 1);
      const checkIn = await aliceChecksIn(app);
      await until(() => results.length > 0, 'the check-in event');
      expect(results[0].error).toBeUndefined();
      expect(results[0].data.checkIns).toMatchObject({ at: checkIn.at, method: 'TOKEN', member: { name: 'Alice Member' } });

      // The HTTP half (what onReconnected re-queries with) carries the bearer token: the access sheet is STAFF only.
      const sheet = await apollo.query<{ checkIns: { edges: { node: { id: string } }[] } }>({
        query: gql('query { checkIns(first: 1) { edges { node { id } } } }'),
        fetchPolicy: 'network-only',
      });
      expect(sheet.error).toBeUndefined();
      expect(sheet.data?.checkIns.edges.map((edge) => edge.node.id)).toEqual([checkIn.id]);
    } finally {
      subscription.unsubscribe();
      apollo.stop();
      await subscriptions.dispose();
    }
  });

  it('gives a MEMBER client subscribing to checkIns an error with extensions.code FORBIDDEN', async () => {
    const { subscriptions, apollo } = apolloFor(await signedIn(app, 'alice'));
    let error: unknown;
    const subscription = apollo.subscribe({ query: gql(CHECK_INS) }).subscribe({
      // Apollo Client 4 hands a subscription's errors to `next`, as `result.error`; `error` is for the unexpected.
      next: (result) => void (error ??= result.error ?? new Error(`unexpected data: ${JSON.stringify(result.data)}`)),
      error: (err) => void (error ??= err),
    });
    try {
      await until(() => error !== undefined, 'the subscription to fail');
      expect(CombinedGraphQLErrors.is(error)).toBe(true);
      expect((error as CombinedGraphQLErrors).errors.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    } finally {
      subscription.unsubscribe();
      apollo.stop();
      await subscriptions.dispose();
    }
  });
});
