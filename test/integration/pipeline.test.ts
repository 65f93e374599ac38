import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { bearer, Client, signInWithKeycard, type GqlError } from '../helpers/client.js';
import { openSocket, type GymSocket } from '../helpers/live.js';

/** HTTP's refusal of every subscription (they are served over the socket): the one error only HTTP gives. */
const SUBSCRIPTION_OVER_HTTP = 'Subscriptions are served over WebSocket (graphql-ws) on this same path, not over HTTP.';

const deep = 'subscription { myCheckIns { member { checkIns { edges { node { member { checkIns { edges { node { member { name } } } } } } } } } } }';

/**
 * One subscription document per rule of the pipeline, each refused before it runs. The same text goes over HTTP and
 * over the socket: HTTP refuses it for being a subscription too, and otherwise must say exactly what the socket says.
 */
const REFUSED: [rule: string, document: string, code: string][] = [
  ['the token limit', `subscription { myCheckIns { ${'at '.repeat(1200)} } }`, 'GRAPHQL_VALIDATION_FAILED'],
  ['a syntax error', 'subscription { myCheckIns { at }', 'GRAPHQL_PARSE_FAILED'],
  ['the depth limit', deep, 'GRAPHQL_VALIDATION_FAILED'],
  ['the alias limit', `subscription { myCheckIns { ${Array.from({ length: 16 }, (_, i) => `a${i}: at`).join(' ')} } }`, 'GRAPHQL_VALIDATION_FAILED'],
  ['the directive limit', `subscription { myCheckIns { ${Array.from({ length: 11 }, (_, i) => `d${i}: at @include(if: true)`).join(' ')} } }`, 'GRAPHQL_VALIDATION_FAILED'],
  ["graphql-js's rules, with or without suggestions", 'subscription { myCheckIns { at member { nmae } } }', 'GRAPHQL_VALIDATION_FAILED'],
  ['a literal of the wrong type, named as bad input', 'subscription { myCheckIns { member { checkIns(first: "ten") { edges { cursor } } } } }', 'BAD_USER_INPUT'],
];

/** The page of pages both transports refuse for its cost: the same selection under each one's root field. */
const COSTLY = 'checkIns(first: 100) { edges { node { member { checkIns(first: 60) { edges { cursor } } } } } }';

/** A message with the counts that depend on the document's root (the cost found) left out. */
const withoutCounts = (errors: GqlError[]) => errors.map((e) => ({ message: e.message.replace(/found \d+/, 'found N'), extensions: e.extensions }));

describe.each([
  ['development', {}],
  ['production', { NODE_ENV: 'production' }],
])('HTTP and the socket run one GraphQL pipeline (%s)', (mode, env) => {
  let app: TestApp;
  let authorization: string;
  let socket: GymSocket;
  beforeAll(async () => {
    app = await startTestApp({ env });
    authorization = bearer((await signInWithKeycard(app.url, 'staff')).accessToken).authorization;
    // Eager: graphql-ws's lazy client would close its idle socket between refused operations.
    socket = openSocket(app, { authorization, eager: true });
  });
  afterAll(async () => {
    await socket?.dispose();
    await app?.close();
  });

  const overSocket = async (query: string, variables?: Record<string, unknown>) => (await socket.watch(query, variables).failed()) as GqlError[];
  const overHttp = async (query: string, variables?: Record<string, unknown>) => (await new Client(app.url).gql(query, variables, { authorization })).errors ?? [];

  test.each(REFUSED)('%s: the same document gets the same errors, codes and extensions over both', async (_rule, document, code) => {
    const fromSocket = await overSocket(document);
    const fromHttp = (await overHttp(document)).filter((e) => e.message !== SUBSCRIPTION_OVER_HTTP);
    expect(fromSocket.map((e) => e.extensions?.code)).toContain(code);
    expect(fromSocket).toEqual(fromHttp);
    if (mode === 'production') expect(JSON.stringify(fromSocket)).not.toMatch(/Did you mean|limit of/);
  });

  test('the cost limit refuses the same selection over both, with the same message and code', async () => {
    const fromSocket = await overSocket(`subscription { myCheckIns { member { ${COSTLY} } } }`);
    const fromHttp = await overHttp(`query { me { ${COSTLY} } }`);
    expect(fromSocket.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(withoutCounts(fromSocket)).toEqual(withoutCounts(fromHttp));
  });

  test('a variable that does not coerce is BAD_USER_INPUT with the same message over both', async () => {
    const page = 'checkIns(first: $n) { edges { cursor } }';
    const fromSocket = await overSocket(`subscription ($n: Int!) { myCheckIns { member { ${page} } } }`, { n: 'many' });
    const fromHttp = await overHttp(`query ($n: Int!) { me { ${page} } }`, { n: 'many' });
    expect(fromSocket.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(withoutCounts(fromSocket)).toEqual(withoutCounts(fromHttp));
  });

  test('a variable naming no enum value is told of the values only outside production', async () => {
    const errors = await overHttp('mutation ($s: MemberStatus!) { setMemberStatus(memberId: "TWVtYmVyOjE=", status: $s) { status } }', { s: 'ACTIV' });
    expect(errors.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    if (mode === 'production') expect(errors[0]!.message).not.toMatch(/Did you mean|ACTIVE/);
    else expect(errors[0]!.message).toMatch(/Did you mean the enum value "ACTIVE"\?$/);
  });
});
