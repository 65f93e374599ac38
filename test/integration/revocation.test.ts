import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, codes, dataOf, DEMO, LOGIN, sessionClient, type DemoName } from '../helpers/client.js';

interface Pair {
  accessToken: string;
  refreshToken: string;
  member: { id: string };
}

async function tokens(app: TestApp, who: DemoName, password: string = DEMO[who].password): Promise<Pair> {
  const res = await new Client(app.url).gql(LOGIN, { input: { email: DEMO[who].email, password, mode: 'TOKEN' } });
  expect(res.errors).toBeUndefined();
  return dataOf(res).login as Pair;
}

const withToken = (app: TestApp, token: string, query: string, variables?: Record<string, unknown>) =>
  new Client(app.url).gql(query, variables, { authorization: `Bearer ${token}` });
const meName = async (app: TestApp, token: string) => {
  const res = await withToken(app, token, '{ me { name } }');
  return res.status === 401 ? 'refused' : res.data.me.name;
};
const refreshes = async (app: TestApp, refreshToken: string) =>
  !(await new Client(app.url).gql(`mutation($t: String!) { refresh(refreshToken: $t) { method } }`, { t: refreshToken })).errors;

const CHANGE_PASSWORD = `mutation($input: ChangePasswordInput!) { changePassword(input: $input) }`;

for (const mode of ['stateless', 'strict'] as const) {
  describe(`TOKEN_REVOCATION=${mode}`, () => {
    let app: TestApp;
    const strict = mode === 'strict';
    beforeAll(async () => {
      app = await startTestApp({ env: { TOKEN_REVOCATION: mode } });
    });
    afterAll(() => app.close());

    it(`after logoutEverywhere: refresh families and sessions end; access tokens ${strict ? 'stop at once' : 'last until they expire'}`, async () => {
      const phone = await tokens(app, 'alice');
      const laptop = await tokens(app, 'alice');
      const browser = await sessionClient(app.url, 'alice');
      const out = await withToken(app, phone.accessToken, 'mutation { logoutEverywhere }');
      expect(out.data).toEqual({ logoutEverywhere: true });
      expect(await refreshes(app, phone.refreshToken)).toBe(false);
      expect(await refreshes(app, laptop.refreshToken)).toBe(false);
      expect((await browser.gql('{ viewer { authenticated } }')).data.viewer.authenticated).toBe(false);
      expect(await meName(app, laptop.accessToken)).toBe(strict ? 'refused' : 'Alice Member');
      // Signing in again works at once, even within the same second.
      const fresh = await tokens(app, 'alice');
      expect(await meName(app, fresh.accessToken)).toBe('Alice Member');
    });

    it(`after changePassword: every other credential ends, the caller's own family stays`, async () => {
      const caller = await tokens(app, 'bob');
      const other = await tokens(app, 'bob');
      const otherSession = await sessionClient(app.url, 'bob');
      const res = await withToken(app, caller.accessToken, CHANGE_PASSWORD, {
        input: { currentPassword: DEMO.bob.password, newPassword: 'bob has a brand new passphrase' },
      });
      expect(res.data).toEqual({ changePassword: true });
      expect(await refreshes(app, other.refreshToken)).toBe(false);
      expect((await otherSession.gql('{ viewer { authenticated } }')).data.viewer.authenticated).toBe(false);
      expect(await meName(app, other.accessToken)).toBe(strict ? 'refused' : 'Bob Member');
      // The caller keeps going: its refresh family survives (in strict mode it refreshes to a token of the new version).
      expect(await refreshes(app, caller.refreshToken)).toBe(true);
      // The old password is dead, the new one works.
      const old = await new Client(app.url).gql(LOGIN, { input: { ...DEMO.bob, mode: 'TOKEN' } });
      expect(codes(old)).toEqual(['INVALID_CREDENTIALS']);
      await tokens(app, 'bob', 'bob has a brand new passphrase');
    });

    it('keeps the caller’s own session at changePassword, and refuses a wrong current password', async () => {
      const browser = await sessionClient(app.url, 'staff');
      const wrong = await browser.gql(CHANGE_PASSWORD, { input: { currentPassword: 'not my password at all', newPassword: 'staff has a new passphrase' } });
      expect(wrong.errors?.[0]?.extensions).toEqual({ code: 'INVALID_CREDENTIALS', argument: 'input.currentPassword' });
      const weak = await browser.gql(CHANGE_PASSWORD, { input: { currentPassword: DEMO.staff.password, newPassword: 'password1234' } });
      expect(weak.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'input.newPassword' });
      const ok = await browser.gql(CHANGE_PASSWORD, { input: { currentPassword: DEMO.staff.password, newPassword: 'staff has a new passphrase' } });
      expect(ok.data).toEqual({ changePassword: true });
      expect((await browser.gql('{ me { name } }')).data.me.name).toBe('Sam Staff');
    });

    it(`after a suspension: refresh is refused; access tokens ${strict ? 'stop at once' : 'last until they expire'}`, async () => {
      const alice = await tokens(app, 'alice');
      const admin = await sessionClient(app.url, 'admin');
      await admin.gql(`mutation($id: ID!) { setMemberStatus(memberId: $id, status: SUSPENDED) { status } }`, { id: alice.member.id });
      expect(await refreshes(app, alice.refreshToken)).toBe(false);
      expect(await meName(app, alice.accessToken)).toBe(strict ? 'refused' : 'Alice Member');
      await admin.gql(`mutation($id: ID!) { setMemberStatus(memberId: $id, status: ACTIVE) { status } }`, { id: alice.member.id });
    });

    it(`after a role change: the token's role is ${strict ? 'read from the database at once' : 'the one it was issued with, until a refresh'}`, async () => {
      const alice = await tokens(app, 'alice');
      const admin = await sessionClient(app.url, 'admin');
      const members = '{ viewer { role } members(first: 1) { edges { cursor } } }';
      expect(codes(await withToken(app, alice.accessToken, members))).toEqual(['FORBIDDEN']);
      await admin.gql(`mutation($id: ID!) { setRole(memberId: $id, role: STAFF) { role } }`, { id: alice.member.id });
      const after = await withToken(app, alice.accessToken, members);
      if (strict) {
        expect(after.data.viewer.role).toBe('STAFF');
        expect(after.errors).toBeUndefined();
      } else {
        expect(codes(after)).toEqual(['FORBIDDEN']);
        const refreshed = await new Client(app.url).gql(`mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }`, { t: alice.refreshToken });
        const next = await withToken(app, refreshed.data.refresh.accessToken, members);
        expect(next.errors).toBeUndefined();
        expect(next.data.viewer.role).toBe('STAFF');
      }
      await admin.gql(`mutation($id: ID!) { setRole(memberId: $id, role: MEMBER) { role } }`, { id: alice.member.id });
    });

    it(`reads the database ${strict ? 'once (one primary-key read)' : 'not at all'} to authenticate a token`, async () => {
      const alice = await tokens(app, 'alice');
      app.queries.length = 0;
      const res = await withToken(app, alice.accessToken, '{ viewer { authenticated method role } }');
      expect(res.data.viewer).toEqual({ authenticated: true, method: 'TOKEN', role: 'MEMBER' });
      expect(app.queries).toHaveLength(strict ? 1 : 0);
      // The loader's batch read by primary key (SQLite binds the ids as one JSON list, PostgreSQL as one array).
      if (strict) expect(app.queries[0]).toMatch(/from "members" where "members"."id" (in \(select value from json_each\(\?\)\)|= any\(\$1::integer\[\]\))/);
    });
  });
}
