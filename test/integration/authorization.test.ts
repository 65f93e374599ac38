import { getDirective } from '@graphql-tools/utils';
import { isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toGlobalId } from '../../src/ids.js';
import { buildSchema } from '../../src/schema.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, sessionClient, type DemoName, type GqlResponse } from '../helpers/client.js';
import { openSocket, until } from '../helpers/live.js';

/**
 * The authorization matrix: every guarded field (and every root field) against every kind of caller. The list of
 * fields to cover comes from the schema itself, so a new guarded field fails this file until it is given a row.
 */
type Persona = 'anonymous' | DemoName;
type Access = 'public' | 'member' | 'bob-or-staff' | 'staff' | 'admin';

const PERSONAS: Persona[] = ['anonymous', 'alice', 'bob', 'staff', 'admin'];

function expected(access: Access, persona: Persona): 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN' {
  if (access === 'public') return 'ok';
  if (persona === 'anonymous') return 'UNAUTHENTICATED';
  if (access === 'member') return 'ok';
  if (access === 'admin') return persona === 'admin' ? 'ok' : 'FORBIDDEN';
  if (persona === 'staff' || persona === 'admin') return 'ok';
  return access === 'bob-or-staff' && persona === 'bob' ? 'ok' : 'FORBIDDEN';
}

interface Ids {
  /** One unspent refresh token per persona. */
  refreshTokens: Record<Persona, string>;
  bob: string;
  carol: string;
  bobCheckIn: string;
  plan: string;
}

interface Row {
  access: Access;
  /** The operation; `$ids` are filled in from the seeded data. */
  query: (ids: Ids, persona: Persona) => string;
  /** The response path of the guarded field. */
  path: string[];
  /** A subscription: run over a socket signed in with the persona's session cookie. */
  socket?: true;
}

const onBob = (selection: string) => (ids: Ids) => `{ node(id: "${ids.bob}") { ... on Member { ${selection} } } }`;
const onBobsCheckIn = (selection: string) => (ids: Ids) => `{ node(id: "${ids.bobCheckIn}") { ... on CheckIn { ${selection} } } }`;

const MATRIX: Record<string, Row> = {
  'Query.node': { access: 'public', query: (ids) => `{ node(id: "${ids.plan}") { id } }`, path: ['node'] },
  'Query.plans': { access: 'public', query: () => `{ plans { code } }`, path: ['plans'] },
  'Query.viewer': { access: 'public', query: () => `{ viewer { authenticated } }`, path: ['viewer'] },
  'Query.me': { access: 'member', query: () => `{ me { id } }`, path: ['me'] },
  'Query.member': { access: 'bob-or-staff', query: (ids) => `{ member(id: "${ids.bob}") { id } }`, path: ['member'] },
  'Query.members': { access: 'staff', query: () => `{ members(first: 2) { edges { node { id } } } }`, path: ['members'] },
  'Query.checkIns': { access: 'staff', query: () => `{ checkIns(first: 2) { edges { node { id } } } }`, path: ['checkIns'] },

  'Mutation.signUp': {
    access: 'public',
    query: (_ids, p) => `mutation { signUp(input: { email: "matrix-${p}@example.com", password: "a long and unusual passphrase", name: "M" }) { method } }`,
    path: ['signUp'],
  },
  'Mutation.login': {
    access: 'public',
    query: () => `mutation { login(input: { email: "carol@example.com", password: "a long and unusual passphrase", mode: TOKEN }) { method } }`,
    path: ['login'],
  },
  'Mutation.refresh': {
    access: 'public',
    query: (ids, p) => `mutation { refresh(refreshToken: "${ids.refreshTokens[p]}") { method } }`,
    path: ['refresh'],
  },
  'Mutation.changePassword': {
    // A wrong current password: the guard lets the member through, the mutation then refuses and changes nothing.
    access: 'member',
    query: () => `mutation { changePassword(input: { currentPassword: "not the password at all", newPassword: "another long passphrase" }) }`,
    path: ['changePassword'],
  },
  'Mutation.issuePartnerToken': { access: 'member', query: () => `mutation { issuePartnerToken(audience: "pool") { audience } }`, path: ['issuePartnerToken'] },
  'Mutation.checkIn': { access: 'member', query: () => `mutation { checkIn(door: "matrix") { id } }`, path: ['checkIn'] },
  'Mutation.setMembership': {
    access: 'staff',
    query: (ids) => `mutation { setMembership(input: { memberId: "${ids.carol}", plan: BASIC, validUntil: "2030-01-01T00:00:00Z" }) { status } }`,
    path: ['setMembership'],
  },
  'Mutation.setRole': { access: 'admin', query: (ids) => `mutation { setRole(memberId: "${ids.carol}", role: MEMBER) { id } }`, path: ['setRole'] },
  'Mutation.setMemberStatus': {
    access: 'staff',
    query: (ids) => `mutation { setMemberStatus(memberId: "${ids.carol}", status: ACTIVE) { id } }`,
    path: ['setMemberStatus'],
  },

  'Member.id': { access: 'bob-or-staff', query: onBob('id'), path: ['node'] },
  'Member.name': { access: 'bob-or-staff', query: onBob('name'), path: ['node'] },
  'Member.email': { access: 'bob-or-staff', query: onBob('email'), path: ['node', 'email'] },
  'Member.role': { access: 'bob-or-staff', query: onBob('role'), path: ['node', 'role'] },
  'Member.status': { access: 'bob-or-staff', query: onBob('status'), path: ['node', 'status'] },
  'Member.membership': { access: 'bob-or-staff', query: onBob('membership { validUntil }'), path: ['node', 'membership'] },
  'Member.checkIns': { access: 'bob-or-staff', query: onBob('checkIns(first: 1) { edges { cursor } }'), path: ['node', 'checkIns'] },
  'Member.createdAt': { access: 'bob-or-staff', query: onBob('createdAt'), path: ['node', 'createdAt'] },
  'Membership.plan': { access: 'bob-or-staff', query: onBob('membership { plan { code } }'), path: ['node', 'membership'] },
  'Membership.status': { access: 'bob-or-staff', query: onBob('membership { status }'), path: ['node', 'membership'] },
  'Membership.validUntil': { access: 'bob-or-staff', query: onBob('membership { validUntil }'), path: ['node', 'membership'] },
  'CheckIn.id': { access: 'bob-or-staff', query: onBobsCheckIn('id'), path: ['node'] },
  'CheckIn.member': { access: 'bob-or-staff', query: onBobsCheckIn('member { name }'), path: ['node'] },
  'CheckIn.at': { access: 'bob-or-staff', query: onBobsCheckIn('at'), path: ['node'] },
  'CheckIn.door': { access: 'bob-or-staff', query: onBobsCheckIn('door'), path: ['node', 'door'] },
  'CheckIn.method': { access: 'bob-or-staff', query: onBobsCheckIn('method'), path: ['node'] },
  // Over graphql-ws: anonymous cannot open the socket at all (4403), a refused subscription gets an error message.
  'Subscription.checkIns': { access: 'staff', query: () => `subscription { checkIns { id } }`, path: ['checkIns'], socket: true },
  'Subscription.myCheckIns': { access: 'member', query: () => `subscription { myCheckIns { id } }`, path: ['myCheckIns'], socket: true },
  // Last: these end the persona's own session.
  'Mutation.logoutEverywhere': { access: 'member', query: () => `mutation { logoutEverywhere }`, path: ['logoutEverywhere'] },
  'Mutation.logout': { access: 'public', query: () => `mutation { logout }`, path: ['logout'] },
};

/** Every root field, and every field of a type or with a field that has @auth, in the schema as served. */
function guardedCoordinates(): string[] {
  const schema = buildSchema();
  const roots = new Set(['Query', 'Mutation', 'Subscription']);
  const out: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const typeGuarded = Boolean(getDirective(schema, type, 'auth')?.length);
    for (const field of Object.values(type.getFields())) {
      const fieldGuarded = Boolean(getDirective(schema, field, 'auth')?.length);
      if (roots.has(type.name) || typeGuarded || fieldGuarded) out.push(`${type.name}.${field.name}`);
    }
  }
  return out.sort();
}

/**
 * What a subscription gets on a socket opened with the client's session cookie: 'ok' once the server started it, the
 * code of the error message that refused it, or 'UNAUTHENTICATED' when the socket itself was refused (4403: no
 * credential, the socket's equivalent of an anonymous request).
 */
async function overSocket(app: TestApp, client: Client, query: string): Promise<string> {
  const before = app.logs.filter((line) => line.event === 'subscription_start').length;
  const s = openSocket(app, { cookie: client.cookieHeader(), origin: app.url });
  try {
    const feed = s.watch(query);
    await until(() => feed.error !== undefined || app.logs.filter((line) => line.event === 'subscription_start').length > before, 'the subscription to start or be refused');
    if (feed.error === undefined) return 'ok';
    if (Array.isArray(feed.error)) return String((feed.error as { extensions?: { code?: string } }[])[0]?.extensions?.code);
    return (feed.error as { code?: number }).code === 4403 ? 'UNAUTHENTICATED' : `closed ${JSON.stringify(feed.error)}`;
  } finally {
    await s.dispose();
  }
}

function at(data: unknown, path: string[]): unknown {
  return path.reduce<unknown>((value, key) => (value as Record<string, unknown> | null | undefined)?.[key], data);
}

describe('the authorization matrix', () => {
  let app: TestApp;
  let ids: Ids;
  const as = (persona: Persona) => (persona === 'anonymous' ? Promise.resolve(new Client(app.url)) : sessionClient(app.url, persona));

  beforeAll(async () => {
    app = await startTestApp();
    const staff = await sessionClient(app.url, 'staff');
    const carol = await new Client(app.url).gql(
      `mutation { signUp(input: { email: "carol@example.com", password: "a long and unusual passphrase", name: "Carol", mode: SESSION }) { member { id } } }`,
    );
    const bob = await staff.gql(`{ members(search: "bob@") { edges { node { id checkIns(first: 1) { edges { node { id } } } } } } }`);
    const bobNode = bob.data.members.edges[0].node;
    const refreshTokens = {} as Record<Persona, string>;
    for (const persona of PERSONAS) {
      const login = await new Client(app.url).gql(`mutation { login(input: { email: "carol@example.com", password: "a long and unusual passphrase" }) { refreshToken } }`);
      refreshTokens[persona] = login.data.login.refreshToken;
    }
    ids = { refreshTokens, bob: bobNode.id, carol: carol.data.signUp.member.id, bobCheckIn: bobNode.checkIns.edges[0].node.id, plan: toGlobalId('Plan', 1) };
  });
  afterAll(() => app.close());

  it('has a row for every root field and every guarded field in the schema', () => {
    expect(Object.keys(MATRIX).sort()).toEqual(guardedCoordinates());
  });

  for (const persona of PERSONAS) {
    it(`holds for ${persona} on every field`, async () => {
      const client = await as(persona);
      const results: string[] = [];
      for (const [coordinate, row] of Object.entries(MATRIX)) {
        if (row.socket) {
          const outcome = await overSocket(app, client, row.query(ids, persona));
          if (outcome !== expected(row.access, persona)) results.push(`${coordinate}: expected ${expected(row.access, persona)}, got ${outcome}`);
          continue;
        }
        const res: GqlResponse = await client.gql(row.query(ids, persona));
        const want = expected(row.access, persona);
        const authErrors = (res.errors ?? []).filter((e) => ['UNAUTHENTICATED', 'FORBIDDEN'].includes(String(e.extensions?.code)));
        expect(res.status, coordinate).toBe(200);
        if (want === 'ok') {
          if (authErrors.length > 0) results.push(`${coordinate}: expected access, got ${authErrors[0]!.extensions?.code}`);
        } else if (row.path[0] === 'node') {
          // node(id:) hides what the caller may not see: null and no error, exactly as for an id that does not exist.
          if (res.errors || at(res.data, ['node']) !== null) results.push(`${coordinate}: expected node to be null, got ${JSON.stringify(res)}`);
        } else {
          const codes = authErrors.map((e) => e.extensions?.code);
          if (!codes.includes(want)) results.push(`${coordinate}: expected ${want}, got ${JSON.stringify(res.errors ?? res.data)}`);
          else if (at(res.data, row.path) != null) results.push(`${coordinate}: refused but data was still returned`);
          // A refusal never shows what it guards.
          if (JSON.stringify(res.errors).includes('bob@keycard.test')) results.push(`${coordinate}: error leaks guarded data`);
        }
      }
      expect(results).toEqual([]);
    });
  }

  it('answers the rest of a query when one field is refused', async () => {
    const res = await (await as('alice')).gql(`{ viewer { authenticated } me { name } member(id: "${ids.bob}") { name } }`);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ viewer: { authenticated: true }, me: { name: 'Alice Member' }, member: null });
    expect(res.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['member'], 'FORBIDDEN']]);
  });

  it('holds through aliases and fragments', async () => {
    const res = await (await as('alice')).gql(
      `query { a: node(id: "${ids.bob}") { ...M } b: member(id: "${ids.bob}") { ... on Member { secret: email } } }
       fragment M on Member { n: name e: email }`,
    );
    expect(res.data).toEqual({ a: null, b: null });
    expect(res.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['b'], 'FORBIDDEN']]);
    expect(JSON.stringify(res)).not.toContain('bob@keycard.test');
  });

  it('lets a member read all of their own record through node', async () => {
    const res = await (await as('bob')).gql(`{ node(id: "${ids.bob}") { ... on Member { email role status membership { status plan { code } } } } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.node).toEqual({ email: 'bob@keycard.test', role: 'MEMBER', status: 'ACTIVE', membership: { status: 'EXPIRED', plan: { code: 'BASIC' } } });
  });
});
