import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toGlobalId } from '../../src/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, codes, DEMO, LOGIN, sessionClient, type GqlResponse } from '../helpers/client.js';

/** The one error a refused input gets: its code, and the argument it names (in extensions or the message). */
function refusal(res: GqlResponse): { code: unknown; names: string } {
  expect(res.status).toBeLessThan(500);
  expect(res.errors).toHaveLength(1);
  const error = res.errors![0]!;
  return { code: error.extensions?.code, names: String(error.extensions?.argument ?? error.message) };
}

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { method } }`;
const SET_MEMBERSHIP = `mutation($input: SetMembershipInput!) { setMembership(input: $input) { status validUntil plan { code } } }`;
const SET_ROLE = `mutation($id: ID!, $role: Role!) { setRole(memberId: $id, role: $role) { role } }`;
const SET_STATUS = `mutation($id: ID!, $status: MemberStatus!) { setMemberStatus(memberId: $id, status: $status) { status } }`;
const good = { email: 'new@example.com', password: 'a long and unusual passphrase', name: 'New', mode: 'SESSION' };

describe('bad input', () => {
  let app: TestApp;
  let admin: Client;
  let staff: Client;
  let aliceId: string;
  let adminId: string;
  beforeAll(async () => {
    app = await startTestApp();
    admin = await sessionClient(app.url, 'admin');
    staff = await sessionClient(app.url, 'staff');
    const members = await staff.gql(`{ members { edges { node { id email } } } }`);
    const byEmail = new Map<string, string>(members.data.members.edges.map((e: any) => [e.node.email, e.node.id]));
    aliceId = byEmail.get('alice@keycard.test')!;
    adminId = byEmail.get('admin@keycard.test')!;
  });
  afterAll(() => app.close());

  const count = async (table: string) => ((await app.database.sql.get(`select count(*) n from ${table}`)) as { n: number }).n;

  it.each([
    ['an invalid email', { email: 'not-an-email' }, 'input.email'],
    ['a short password', { password: 'short-pass' }, 'input.password'],
    ['a password over 128 characters', { password: 'x'.repeat(129) }, 'input.password'],
    ['a common password', { password: 'password1234' }, 'input.password'],
    ['another common password', { password: '123456789012' }, 'input.password'],
    ['an empty name', { name: '   ' }, 'input.name'],
  ])('refuses signUp with %s, naming %s, and creates nobody', async (_what, change, argument) => {
    const before = (await count('members'));
    const res = await new Client(app.url).gql(SIGN_UP, { input: { ...good, ...change } });
    expect(refusal(res)).toEqual({ code: 'BAD_USER_INPUT', names: argument });
    expect((await count('members'))).toBe(before);
  });

  it('answers an id or a cursor past the largest row id as one naming no row, on either engine, never as a fault', async () => {
    const past = Buffer.from('Plan:2147483648').toString('base64url');
    const lookup = await new Client(app.url).gql(`{ a: node(id: "${past}") { id } b: node(id: "${toGlobalId('Plan', 1)}") { id } }`);
    expect(lookup.errors).toBeUndefined();
    expect(lookup.data).toEqual({ a: null, b: { id: toGlobalId('Plan', 1) } });
    const cursor = Buffer.from('cursor:2147483648').toString('base64url');
    const page = await staff.gql(`{ checkIns(first: 1, after: "${cursor}") { edges { cursor } } }`);
    expect(refusal(page)).toEqual({ code: 'BAD_USER_INPUT', names: 'after' });
    const member = await admin.gql(SET_ROLE, { id: Buffer.from('Member:2147483648').toString('base64url'), role: 'STAFF' });
    expect(refusal(member)).toEqual({ code: 'BAD_USER_INPUT', names: 'memberId' });
  });

  it('accepts a 128-character password whole, and only whole', async () => {
    const password = 'p'.repeat(100) + 'q'.repeat(28);
    const client = new Client(app.url);
    expect((await client.gql(SIGN_UP, { input: { ...good, email: 'long@example.com', password } })).errors).toBeUndefined();
    const login = `mutation($p: String!) { login(input: { email: "long@example.com", password: $p, mode: SESSION }) { method } }`;
    expect((await client.gql(login, { p: password.slice(0, 127) })).errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
    expect((await client.gql(login, { p: password })).errors).toBeUndefined();
  });

  it('refuses a taken email, whatever its case, with EMAIL_TAKEN', async () => {
    const res = await new Client(app.url).gql(SIGN_UP, { input: { ...good, email: 'ALICE@keycard.test' } });
    expect(refusal(res)).toEqual({ code: 'EMAIL_TAKEN', names: 'input.email' });
  });

  it('refuses login with an invalid email, naming it', async () => {
    const res = await new Client(app.url).gql(`mutation { login(input: { email: "nope", password: "whatever it is", mode: SESSION }) { method } }`);
    expect(refusal(res)).toEqual({ code: 'BAD_USER_INPUT', names: 'input.email' });
  });

  it('refuses setMembership for a malformed, mistyped or unknown member ID and changes nothing', async () => {
    const input = { memberId: aliceId, plan: 'BASIC', validUntil: '2031-01-01T00:00:00Z' };
    const before = JSON.stringify((await app.database.sql.all('select * from memberships order by member_id')));
    expect(refusal(await staff.gql(SET_MEMBERSHIP, { input: { ...input, memberId: 'garbage' } }))).toEqual({ code: 'BAD_USER_INPUT', names: 'input.memberId' });
    expect(refusal(await staff.gql(SET_MEMBERSHIP, { input: { ...input, memberId: toGlobalId('Plan', 1) } }))).toEqual({ code: 'BAD_USER_INPUT', names: 'input.memberId' });
    expect(refusal(await staff.gql(SET_MEMBERSHIP, { input: { ...input, memberId: toGlobalId('Member', 9999) } }))).toEqual({ code: 'NOT_FOUND', names: 'input.memberId' });
    expect(JSON.stringify((await app.database.sql.all('select * from memberships order by member_id')))).toBe(before);
  });

  it('refuses an unknown plan or a malformed date with BAD_USER_INPUT naming the field', async () => {
    const input = { memberId: aliceId, plan: 'BASIC', validUntil: '2031-01-01T00:00:00Z' };
    const plan = refusal(await staff.gql(SET_MEMBERSHIP, { input: { ...input, plan: 'GOLD' } }));
    expect(plan.code).toBe('BAD_USER_INPUT');
    expect(plan.names).toMatch(/input\.plan|plan/);
    const date = refusal(await staff.gql(SET_MEMBERSHIP, { input: { ...input, validUntil: 'next tuesday' } }));
    expect(date.code).toBe('BAD_USER_INPUT');
    expect(date.names).toMatch(/validUntil/);
  });

  it('treats a wrong literal in the operation itself as bad input too, naming the argument', async () => {
    const literal = (input: string) => staff.gql(`mutation { setMembership(input: { memberId: "${aliceId}", ${input} }) { status } }`);
    expect(refusal(await literal('plan: GOLD, validUntil: "2031-01-01T00:00:00Z"'))).toEqual({ code: 'BAD_USER_INPUT', names: 'input.plan' });
    expect(refusal(await literal('plan: BASIC, validUntil: "next tuesday"'))).toEqual({ code: 'BAD_USER_INPUT', names: 'input.validUntil' });
    expect(refusal(await staff.gql('{ members(first: "ten") { edges { cursor } } }'))).toEqual({ code: 'BAD_USER_INPUT', names: 'first' });
    expect(refusal(await admin.gql(`mutation { setRole(memberId: "${aliceId}", role: KING) { role } }`))).toEqual({ code: 'BAD_USER_INPUT', names: 'role' });
    // An unknown field is still a validation failure: that is a mistake in the operation, not in its input.
    expect(refusal(await staff.gql('{ nope }')).code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('sets a membership with good input', async () => {
    const res = await staff.gql(SET_MEMBERSHIP, { input: { memberId: aliceId, plan: 'BASIC', validUntil: '2031-01-01T00:00:00+02:00' } });
    expect(res.data.setMembership).toEqual({ status: 'ACTIVE', validUntil: '2030-12-31T22:00:00.000Z', plan: { code: 'BASIC' } });
  });

  it('refuses setRole for bad IDs, unknown roles and the admin themself', async () => {
    expect(refusal(await admin.gql(SET_ROLE, { id: 'garbage', role: 'STAFF' }))).toEqual({ code: 'BAD_USER_INPUT', names: 'memberId' });
    expect(refusal(await admin.gql(SET_ROLE, { id: toGlobalId('Member', 9999), role: 'STAFF' }))).toEqual({ code: 'NOT_FOUND', names: 'memberId' });
    expect(refusal(await admin.gql(SET_ROLE, { id: adminId, role: 'MEMBER' }))).toEqual({ code: 'BAD_USER_INPUT', names: 'memberId' });
    const role = refusal(await admin.gql(SET_ROLE, { id: aliceId, role: 'KING' }));
    expect(role.code).toBe('BAD_USER_INPUT');
    expect(role.names).toMatch(/role/);
    expect((await admin.gql(`{ member(id: "${aliceId}") { role } }`)).data.member.role).toBe('MEMBER');
  });

  it('refuses setMemberStatus for bad IDs and unknown statuses, and staff acting on an admin', async () => {
    expect(refusal(await staff.gql(SET_STATUS, { id: 'garbage', status: 'SUSPENDED' }))).toEqual({ code: 'BAD_USER_INPUT', names: 'memberId' });
    expect(refusal(await staff.gql(SET_STATUS, { id: toGlobalId('Member', 9999), status: 'SUSPENDED' }))).toEqual({ code: 'NOT_FOUND', names: 'memberId' });
    const status = refusal(await staff.gql(SET_STATUS, { id: aliceId, status: 'BANNED' }));
    expect(status.code).toBe('BAD_USER_INPUT');
    expect(refusal(await staff.gql(SET_STATUS, { id: adminId, status: 'SUSPENDED' })).code).toBe('FORBIDDEN');
    expect((await admin.gql(`{ me { status } }`)).data.me.status).toBe('ACTIVE');
  });

  it.each([
    ['members(first: 101)', 'first'],
    ['members(first: -1)', 'first'],
    ['members(after: "bogus")', 'after'],
    ['checkIns(first: 101)', 'first'],
    ['checkIns(memberId: "bogus")', 'memberId'],
  ])('refuses %s naming %s', async (field, argument) => {
    const res = await staff.gql(`{ ${field} { edges { cursor } } }`);
    expect(refusal(res)).toEqual({ code: 'BAD_USER_INPUT', names: argument });
  });

  it('answers null for lookups of malformed, mistyped or unknown IDs', async () => {
    for (const id of ['garbage', toGlobalId('Plan', 1), toGlobalId('Member', 9999), '', 'x'.repeat(5000)]) {
      const res = await staff.gql(`query($id: ID!) { member(id: $id) { id } }`, { id });
      expect(res.errors).toBeUndefined();
      expect(res.data.member).toBeNull();
    }
    const res = await staff.gql(`{ node(id: "${toGlobalId('CheckIn', 999999)}") { id } }`);
    expect(res.data).toEqual({ node: null });
  });
});

/**
 * Control characters in free text: every argument a member or the staff types as text (a search, a name, a door, an
 * email, a partner's name) refuses them as bad input naming the argument, on either engine. PostgreSQL's text cannot
 * hold a NUL at all, and SQLite compares only up to it, so without the one rule a NUL was a fault on one engine and
 * a different answer on the other.
 */
describe('control characters in free text', () => {
  const CONTROL_CHARACTERS = ['\u0000', '\u0007', '\u001b', '\u007f'];
  let app: TestApp;
  let staff: Client;
  let alice: Client;
  beforeAll(async () => {
    // Every sign-up attempt counts against the address, refused ones included: these tests make a few dozen.
    app = await startTestApp({ env: { SIGNUP_MAX_PER_ADDRESS: '100' } });
    staff = await sessionClient(app.url, 'staff');
    alice = await sessionClient(app.url, 'alice');
  });
  afterAll(() => app.close());

  /** What a refused request must leave as it was: members, their plans, the access sheet and the keycard families. */
  const state = async () =>
    JSON.stringify(
      await Promise.all(
        ['members', 'memberships', 'check_ins', 'refresh_tokens'].map((table) => app.database.sql.all(`select * from ${table} order by 1`)),
      ),
    );

  const FREE_TEXT: [string, string, (spoiled: (text: string) => string) => Promise<GqlResponse>][] = [
    ['members(search:)', 'search', (s) => staff.gql('query($t: String) { members(search: $t) { edges { node { id } } } }', { t: s('alice') })],
    ['checkIn(door:)', 'door', (s) => alice.gql('mutation($t: String) { checkIn(door: $t) { id } }', { t: s('main') })],
    ['signUp(input.name)', 'input.name', (s) => new Client(app.url).gql(SIGN_UP, { input: { ...good, email: 'typed@example.com', name: s('New Member') } })],
    ['signUp(input.email)', 'input.email', (s) => new Client(app.url).gql(SIGN_UP, { input: { ...good, email: s('typed@example.com') } })],
    ['login(input.email)', 'input.email', (s) => new Client(app.url).gql(LOGIN, { input: { ...DEMO.alice, email: s(DEMO.alice.email), mode: 'TOKEN' } })],
    ['issuePartnerToken(audience:)', 'audience', (s) => alice.gql('mutation($t: String!) { issuePartnerToken(audience: $t) { token } }', { t: s('pool') })],
  ];

  describe.each(FREE_TEXT)('%s', (_field, argument, send) => {
    it.each(CONTROL_CHARACTERS.map((c) => [`U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`, c]))('refuses %s as BAD_USER_INPUT naming the argument, and changes nothing', async (_shown, control) => {
      const before = await state();
      for (const spoil of [() => control, (text: string) => `${text.slice(0, 2)}${control}${text.slice(2)}`, (text: string) => `${text}${control}`]) {
        const res = await send(spoil);
        expect(refusal(res), JSON.stringify(spoil('text'))).toEqual({ code: 'BAD_USER_INPUT', names: argument });
      }
      expect(await state()).toBe(before);
    });
  });

  it('still takes the same arguments without the control character', async () => {
    const found = await staff.gql('{ members(search: "alice") { edges { node { email } } } }');
    expect(found.data.members.edges).toEqual([{ node: { email: DEMO.alice.email } }]);
    expect((await alice.gql('mutation { checkIn(door: "main") { door } }')).data.checkIn.door).toBe('main');
    expect((await alice.gql('mutation { issuePartnerToken(audience: "pool") { audience } }')).data.issuePartnerToken.audience).toBe('pool');
  });

  it('takes a password with control characters whole, like any other character, and never answers a NUL with a fault', async () => {
    // A password is never shown nor stored as text: Argon2 hashes every byte of it, NUL included.
    const password = 'correct\u0000horse\u0007battery\u001bstaple\u007f';
    expect((await new Client(app.url).gql(SIGN_UP, { input: { ...good, email: 'nul@example.com', password } })).errors).toBeUndefined();
    const login = (email: string, p: string) => new Client(app.url).gql(LOGIN, { input: { email, password: p, mode: 'TOKEN' } });
    expect((await login('nul@example.com', password)).errors).toBeUndefined();
    expect(codes(await login('nul@example.com', 'correct\u0000'))).toEqual(['INVALID_CREDENTIALS']);
    expect(codes(await login('nul@example.com', password.replace('staple', 'stapler')))).toEqual(['INVALID_CREDENTIALS']);
    expect(codes(await login(DEMO.alice.email, '\u0000'))).toEqual(['INVALID_CREDENTIALS']);
    const change = await alice.gql('mutation($i: ChangePasswordInput!) { changePassword(input: $i) }', { i: { currentPassword: '\u0000'.repeat(12), newPassword: password } });
    expect(refusal(change)).toEqual({ code: 'INVALID_CREDENTIALS', names: 'input.currentPassword' });
    expect(codes(await new Client(app.url).gql('mutation { refresh(refreshToken: "\\u0000") { method } }'))).toEqual(['UNAUTHENTICATED']);
  });
});
