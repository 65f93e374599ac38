import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toGlobalId } from '../../src/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, sessionClient, type GqlResponse } from '../helpers/client.js';

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
