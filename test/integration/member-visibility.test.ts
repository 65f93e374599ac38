import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toGlobalId } from '../../src/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, codes, sessionClient, type GqlResponse } from '../helpers/client.js';

/**
 * One rule for a member, however it is reached (member, node, a list, a check-in): the member themself, or STAFF.
 * And node(id:) answers a caller who may not see an object exactly as it answers for one that does not exist.
 */

/** Everything a client can observe of a response, for comparing two of them whole. */
const observed = (res: GqlResponse) => JSON.stringify({ status: res.status, data: res.data, errors: res.errors });

/** Every spelling of a member's id that is not the one the server hands out: each must be refused. */
function nonCanonical(rowId: number): [string, string][] {
  const canonical = toGlobalId('Member', rowId);
  const b64url = (text: string) => Buffer.from(text).toString('base64url');
  const variants: [string, string][] = [
    ['standard base64 with padding', Buffer.from(`Member:${rowId}`).toString('base64')],
    ['padding appended', `${canonical}=`],
    ['two padding characters appended', `${canonical}==`],
    ['junk after padding', `${canonical}=junk`],
    ['a trailing space', `${canonical} `],
    ['a leading space', ` ${canonical}`],
    ['a space inside', `${canonical.slice(0, 4)} ${canonical.slice(4)}`],
    ['a trailing newline', `${canonical}\n`],
    ['a leading zero', b64url(`Member:0${rowId}`)],
    ['a plus sign', b64url(`Member:+${rowId}`)],
    ['a trailing NUL byte', b64url(`Member:${rowId}\0`)],
    ['a trailing newline inside', b64url(`Member:${rowId}\n`)],
    ['the type in lower case', b64url(`member:${rowId}`)],
    ['2^53 + 1, which rounds to another number', b64url('Member:9007199254740993')],
    ['sixteen nines', b64url('Member:9999999999999999')],
  ];
  // The same bytes spelled with different unused bits in the last character: a decoder that ignores them accepts it.
  const last = canonical.at(-1)!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sibling = [...alphabet].find(
    (c) => c !== last && Buffer.from(canonical.slice(0, -1) + c, 'base64url').equals(Buffer.from(canonical, 'base64url')),
  );
  if (sibling) variants.push(['other unused bits in the last character', canonical.slice(0, -1) + sibling]);
  return variants;
}

describe('who sees a member', () => {
  let app: TestApp;
  let staff: Client;
  let alice: Client;
  const anonymous = () => new Client(app.url);
  let ids: { alice: string; bob: string; admin: string; staff: string; bobCheckIn: string; aliceCheckIn: string; aliceRow: number };
  const missingMember = toGlobalId('Member', 999_999);
  const missingCheckIn = toGlobalId('CheckIn', 999_999);

  beforeAll(async () => {
    app = await startTestApp({ env: { SIGNUP_MAX_PER_ADDRESS: '1000' } });
    staff = await sessionClient(app.url, 'staff');
    alice = await sessionClient(app.url, 'alice');
    const res = await staff.gql(`{ members(first: 10) { edges { node { id email checkIns(first: 1) { edges { node { id } } } } } } }`);
    const byEmail = new Map<string, any>(res.data.members.edges.map((e: any) => [e.node.email, e.node]));
    const idOf = (email: string) => byEmail.get(email).id as string;
    const aliceRow = ((await app.database.sql.get(`select id from members where email = 'alice@keycard.test'`)) as { id: number }).id;
    ids = {
      alice: idOf('alice@keycard.test'),
      bob: idOf('bob@keycard.test'),
      admin: idOf('admin@keycard.test'),
      staff: idOf('staff@keycard.test'),
      bobCheckIn: byEmail.get('bob@keycard.test').checkIns.edges[0].node.id,
      aliceCheckIn: byEmail.get('alice@keycard.test').checkIns.edges[0].node.id,
      aliceRow,
    };
  });
  afterAll(() => app.close());

  describe('a member who is not the one asked about', () => {
    it("cannot read the admin's name by node(id:): the answer is null, as for an id that does not exist", async () => {
      const res = await alice.gql(`{ node(id: "${ids.admin}") { __typename id ... on Member { name email } } }`);
      expect(res.data).toEqual({ node: null });
      expect(res.errors).toBeUndefined();
      expect(JSON.stringify(res)).not.toContain('Ada Admin');
    });

    it("cannot read the admin's name by member(id:): FORBIDDEN, whether or not the id exists", async () => {
      const query = `query($id: ID!) { member(id: $id) { name } }`;
      const existing = await alice.gql(query, { id: ids.admin });
      expect(existing.data).toEqual({ member: null });
      expect(codes(existing)).toEqual(['FORBIDDEN']);
      expect(JSON.stringify(existing)).not.toContain('Ada Admin');
      const missing = await alice.gql(query, { id: missingMember });
      expect(observed(missing)).toBe(observed(existing));
    });

    it('cannot read another member through any list, nor through their check-ins', async () => {
      for (const list of [`{ members(first: 10) { edges { node { name } } } }`, `{ checkIns(first: 10) { edges { node { member { name } } } } }`]) {
        const res = await alice.gql(list);
        expect(codes(res), list).toEqual(['FORBIDDEN']);
        expect(res.data ?? null).toBeNull();
      }
      const res = await alice.gql(`{
        bobsVisit: node(id: "${ids.bobCheckIn}") { ... on CheckIn { at member { name } } }
        me { checkIns(first: 50) { edges { node { member { name } } } } }
      }`);
      expect(res.errors).toBeUndefined();
      expect(res.data.bobsVisit).toBeNull();
      // Her own check-ins only ever lead back to herself.
      const names = new Set(res.data.me.checkIns.edges.map((e: any) => e.node.member.name));
      expect([...names]).toEqual(['Alice Member']);
      for (const name of ['Ada Admin', 'Sam Staff', 'Bob Member']) expect(JSON.stringify(res)).not.toContain(name);
    });

    it('cannot list the members by walking the sequential ids through node(id:)', async () => {
      const probes = Array.from({ length: 8 }, (_, i) => `m${i}: node(id: "${toGlobalId('Member', i + 1)}") { __typename ... on Member { name } }`);
      const res = await alice.gql(`{ ${probes.join(' ')} }`);
      expect(res.errors).toBeUndefined();
      const seen = Object.values(res.data as Record<string, unknown>).filter((v) => v !== null);
      expect(seen).toEqual([{ __typename: 'Member', name: 'Alice Member' }]);
    });
  });

  describe('node(id:) for a caller who may not see the object', () => {
    const shapes = [
      (id: string) => `{ node(id: "${id}") { __typename } }`,
      (id: string) => `{ node(id: "${id}") { id } }`,
      (id: string) => `{ node(id: "${id}") { ... on Member { name } ... on CheckIn { at } } }`,
      (id: string) => `{ a: node(id: "${id}") { __typename } viewer { authenticated } }`,
    ];

    it('answers an anonymous caller the same, to the byte, for an existing member and for none', async () => {
      for (const shape of shapes) {
        const existing = await anonymous().gql(shape(ids.admin));
        const missing = await anonymous().gql(shape(missingMember));
        expect(observed(existing), shape('…')).toBe(observed(missing));
        expect(existing.errors).toBeUndefined();
      }
    });

    it('answers an anonymous caller the same for an existing check-in and for none', async () => {
      for (const shape of shapes) {
        expect(observed(await anonymous().gql(shape(ids.bobCheckIn)))).toBe(observed(await anonymous().gql(shape(missingCheckIn))));
      }
    });

    it('answers a signed-in member the same for somebody else and for nobody', async () => {
      for (const shape of shapes) {
        expect(observed(await alice.gql(shape(ids.admin)))).toBe(observed(await alice.gql(shape(missingMember))));
        expect(observed(await alice.gql(shape(ids.bobCheckIn)))).toBe(observed(await alice.gql(shape(missingCheckIn))));
      }
    });

    it('still shows a plan to anyone: plans are public', async () => {
      const res = await anonymous().gql(`{ node(id: "${toGlobalId('Plan', 1)}") { __typename ... on Plan { code } } }`);
      expect(res.data).toEqual({ node: { __typename: 'Plan', code: 'BASIC' } });
    });
  });

  describe('who still sees a member', () => {
    it('lets staff see every member, by node, member and the lists', async () => {
      const res = await staff.gql(`{
        admin: node(id: "${ids.admin}") { ... on Member { name email role } }
        alice: member(id: "${ids.alice}") { name email }
        visit: node(id: "${ids.bobCheckIn}") { ... on CheckIn { member { name } } }
        members(first: 10) { edges { node { name } } }
        checkIns(first: 100) { edges { node { member { name } } } }
      }`);
      expect(res.errors).toBeUndefined();
      expect(res.data.admin).toEqual({ name: 'Ada Admin', email: 'admin@keycard.test', role: 'ADMIN' });
      expect(res.data.alice).toEqual({ name: 'Alice Member', email: 'alice@keycard.test' });
      expect(res.data.visit).toEqual({ member: { name: 'Bob Member' } });
      expect(res.data.members.edges.map((e: any) => e.node.name)).toEqual(expect.arrayContaining(['Ada Admin', 'Sam Staff', 'Alice Member', 'Bob Member']));
      expect(new Set(res.data.checkIns.edges.map((e: any) => e.node.member.name)).size).toBeGreaterThan(1);
    });

    it('lets a member see themself however they are reached', async () => {
      const res = await alice.gql(`{
        me { name email }
        viewer { member { name } }
        byNode: node(id: "${ids.alice}") { ... on Member { name email role status createdAt } }
        byId: member(id: "${ids.alice}") { name }
        visit: node(id: "${ids.aliceCheckIn}") { ... on CheckIn { member { name } } }
      }`);
      expect(res.errors).toBeUndefined();
      expect(res.data.me).toEqual({ name: 'Alice Member', email: 'alice@keycard.test' });
      expect(res.data.viewer).toEqual({ member: { name: 'Alice Member' } });
      expect(res.data.byNode).toMatchObject({ name: 'Alice Member', email: 'alice@keycard.test', role: 'MEMBER', status: 'ACTIVE' });
      expect(res.data.byId).toEqual({ name: 'Alice Member' });
      expect(res.data.visit).toEqual({ member: { name: 'Alice Member' } });
    });

    it('lets a member who just signed in, signed up or refreshed read the member in the payload', async () => {
      const login = await anonymous().gql(`mutation { login(input: { email: "bob@keycard.test", password: "keycard-bob-pass" }) { refreshToken member { name email } } }`);
      expect(login.errors).toBeUndefined();
      expect(login.data.login.member).toEqual({ name: 'Bob Member', email: 'bob@keycard.test' });
      const refresh = await anonymous().gql(`mutation($t: String!) { refresh(refreshToken: $t) { member { name } } }`, { t: login.data.login.refreshToken });
      expect(refresh.data.refresh.member).toEqual({ name: 'Bob Member' });
      const signUp = await anonymous().gql(
        `mutation { signUp(input: { email: "dora@example.com", password: "a long and unusual passphrase", name: "Dora" }) { member { name email } } }`,
      );
      expect(signUp.data.signUp.member).toEqual({ name: 'Dora', email: 'dora@example.com' });
    });
  });

  describe('global ids', () => {
    it('are accepted only as the server spells them: every other spelling is null for a lookup', async () => {
      const canonical = await staff.gql(`query($id: ID!) { member(id: $id) { name } node(id: $id) { id } }`, { id: ids.alice });
      expect(canonical.data).toEqual({ member: { name: 'Alice Member' }, node: { id: ids.alice } });
      const accepted: string[] = [];
      for (const [label, id] of nonCanonical(ids.aliceRow)) {
        expect(id).not.toBe(ids.alice);
        const res = await staff.gql(`query($id: ID!) { member(id: $id) { name } node(id: $id) { id } }`, { id });
        expect(res.errors, label).toBeUndefined();
        if (res.data.member !== null || res.data.node !== null) accepted.push(label);
      }
      expect(accepted).toEqual([]);
    });

    it('are refused with BAD_USER_INPUT naming the argument when a mutation is given another spelling', async () => {
      const admin = await sessionClient(app.url, 'admin');
      const before = (await app.database.sql.get(`select role, status from members where id = ?`, ids.aliceRow));
      for (const [label, id] of nonCanonical(ids.aliceRow)) {
        const status = await staff.gql(`mutation($id: ID!) { setMemberStatus(memberId: $id, status: SUSPENDED) { status } }`, { id });
        expect(status.errors?.map((e) => [e.extensions?.code, e.extensions?.argument]), label).toEqual([['BAD_USER_INPUT', 'memberId']]);
        const role = await admin.gql(`mutation($id: ID!) { setRole(memberId: $id, role: STAFF) { role } }`, { id });
        expect(role.errors?.map((e) => [e.extensions?.code, e.extensions?.argument]), label).toEqual([['BAD_USER_INPUT', 'memberId']]);
        const membership = await staff.gql(
          `mutation($id: ID!) { setMembership(input: { memberId: $id, plan: BASIC, validUntil: "2030-01-01T00:00:00Z" }) { status } }`,
          { id },
        );
        expect(membership.errors?.map((e) => [e.extensions?.code, e.extensions?.argument]), label).toEqual([['BAD_USER_INPUT', 'input.memberId']]);
      }
      expect((await app.database.sql.get(`select role, status from members where id = ?`, ids.aliceRow))).toEqual(before);
    });

    it('do not let a member pass for themself with another spelling of their own id', async () => {
      for (const [label, id] of nonCanonical(ids.aliceRow)) {
        const res = await alice.gql(`query($id: ID!) { member(id: $id) { name } node(id: $id) { id } }`, { id });
        expect(res.data, label).toEqual({ member: null, node: null });
      }
    });
  });

  describe('names', () => {
    const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { member { name } } }`;
    const input = (n: number, name: string) => ({ email: `name-${n}@example.com`, password: 'a long and unusual passphrase', name });
    const count = async () => ((await app.database.sql.get(`select count(*) n from members`)) as { n: number }).n;

    it.each([
      ['a right-to-left override (U+202E)', 'Mallory\u202Egnp.exe'],
      ['a zero-width space (U+200B)', 'Ada\u200BAdmin'],
      ['a left-to-right embedding (U+202A)', '\u202AAda Admin'],
      ['a first-strong isolate (U+2068)', 'Ada \u2068Admin\u2069'],
      ['a right-to-left mark (U+200F)', 'Ada Admin\u200F'],
      ['an Arabic letter mark (U+061C)', 'Ada\u061C Admin'],
      ['a zero-width joiner (U+200D)', 'Ada\u200DAdmin'],
      ['a word joiner (U+2060)', 'Ada\u2060Admin'],
      ['a zero-width no-break space (U+FEFF)', 'Ada\uFEFFAdmin'],
      ['a soft hyphen (U+00AD, a format character)', 'Ada\u00ADAdmin'],
      ['a Hangul filler that renders blank (U+3164)', '\u3164'],
      ['a line separator (U+2028)', 'Ada\u2028Admin'],
      ['a lone surrogate', 'Ada\uD800Admin'],
    ])('refuses a name with %s, naming the argument, and creates nobody', async (_label, name) => {
      const before = (await count());
      const res = await anonymous().gql(SIGN_UP, { input: input(before, name) });
      expect(res.status).toBeLessThan(500);
      expect(res.errors?.map((e) => [e.extensions?.code, e.extensions?.argument])).toEqual([['BAD_USER_INPUT', 'input.name']]);
      expect((await count())).toBe(before);
    });

    it('keeps letters of every script and ordinary spaces, and stores the name in NFC', async () => {
      for (const [name, stored] of [
        ['Zoe\u0301 Ngo\u0302', 'Zoé Ngô'],
        ['王小明', '王小明'],
        ['محمد عبد الله', 'محمد عبد الله'],
        ['Ελένη Παπαδοπούλου', 'Ελένη Παπαδοπούλου'],
        ['  Анна  Каренина ', 'Анна  Каренина'],
      ] as const) {
        const res = await anonymous().gql(SIGN_UP, { input: input((await count()), name) });
        expect(res.errors, name).toBeUndefined();
        expect(res.data.signUp.member.name).toBe(stored);
        expect(res.data.signUp.member.name.normalize('NFC')).toBe(res.data.signUp.member.name);
      }
    });
  });
});
