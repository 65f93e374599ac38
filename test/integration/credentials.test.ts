import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { openTestDatabase } from '../helpers/database.js';
import { bearer, Client, codes, dataOf, DEMO, LOGIN, sessionClient, signInWithKeycard, type DemoName } from '../helpers/client.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { graphql } from '../helpers/__generated__/index.js';
import { during, handled, overlapped } from '../helpers/race.js';

/** How credentials begin and end when requests race, and who may still act after a demotion (issue: hardening). */

const REFRESH = graphql(/* GraphQL */ `mutation RefreshAfterChange($t: String!) { refresh(refreshToken: $t) { refreshToken } }`);
const CHANGE_PASSWORD = graphql(/* GraphQL */ `mutation ChangePassword($input: ChangePasswordInput!) { changePassword(input: $input) }`);
const VIEWER = graphql(/* GraphQL */ `query SignedIn { viewer { authenticated } }`);
const SET_ROLE = `mutation($id: ID!, $role: Role!) { setRole(memberId: $id, role: $role) { role } }`;
const SET_STATUS = `mutation($id: ID!, $status: MemberStatus!) { setMemberStatus(memberId: $id, status: $status) { status } }`;

/** A login whose answer the test reads (refused or not), with the client that holds its session, if any. */
const login = (app: TestApp, who: DemoName, mode: 'TOKEN' | 'SESSION' = 'TOKEN', password: string = DEMO[who].password) => {
  const client = new Client(app.url);
  return client.gql(LOGIN, { input: { email: DEMO[who].email, password, mode } }).then((res) => ({ res, client }));
};
const refreshes = async (app: TestApp, token: string) => !(await new Client(app.url).gql(REFRESH, { t: token })).errors;
const signedIn = async (client: Client) => dataOf(await client.gql(VIEWER)).viewer.authenticated;

describe('a login racing a password change', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { LOGIN_MAX_PER_MEMBER: '1000', LOGIN_MAX_FAILURES_PER_EMAIL: '1000' } });
  });
  afterAll(() => app.close());

  it('never leaves a family or session started with the old password alive after the change', async () => {
    const caller = await signInWithKeycard(app.url, 'alice');
    let password: string = DEMO.alice.password;
    /**
     * One race: logins with the current password, fired while it changes. Each reads the member, spends tens of
     * milliseconds hashing, then starts a family or a session, some of them after the change has committed: whatever
     * signed in must be dead once the change is done. Answers whether the race happened: logins were in the gym's
     * hands while it changed the password, and some of them signed in, so the change had live credentials to end.
     */
    const race = async (round: number): Promise<boolean> => {
      const newPassword = `alice changed it in a hurry, ${round} times`;
      const mark = app.logs.length;
      const racing = Array.from({ length: 12 }, (_, i) =>
        new Promise((r) => setTimeout(r, i * 4)).then(() => login(app, 'alice', i % 2 ? 'SESSION' : 'TOKEN', password)),
      );
      const change = new Promise((r) => setTimeout(r, 10)).then(() =>
        new Client(app.url).gql(CHANGE_PASSWORD, { input: { currentPassword: password, newPassword } }, bearer(caller.accessToken)),
      );
      const [changed, ...logins] = await Promise.all([change, ...racing]);
      expect(changed.errors).toBeUndefined();
      password = newPassword;
      for (const { res, client } of logins) {
        if (res.errors) {
          // Refused: either its hash saw the new password, or its credentials ended before its family or session began.
          expect(codes(res)).toEqual(['INVALID_CREDENTIALS']);
          continue;
        }
        const { login: signedInAs } = dataOf(res);
        if (signedInAs.method === 'TOKEN') expect(await refreshes(app, signedInAs.refreshToken!)).toBe(false);
        else expect(await signedIn(client)).toBe(false);
      }
      const [changing] = await handled(app, mark, { operation: 'ChangePassword' }, 1);
      const racers = await handled(app, mark, { operation: 'Login' }, logins.length);
      return racers.some((l) => during(l, changing!)) && logins.some(({ res }) => !res.errors);
    };
    // Which logins win is the machine's timing: rounds repeat (each a new change) until one shows the race, so a round
    // in which every racing login happened to be refused cannot pass for a proof, nor fail the rule it does not test.
    let happened = false;
    for (let round = 1; round <= 6 && !happened; round++) happened = await race(round);
    expect(happened).toBe(true);
    // The caller's own family goes on, and the newest password signs in.
    expect(await refreshes(app, caller.refreshToken)).toBe(true);
    expect((await login(app, 'alice', 'TOKEN', password)).res.errors).toBeUndefined();
  });

  it("regenerates the caller's own session at a password change: the old cookie is worthless, the new one signs in", async () => {
    const { client } = await login(app, 'bob', 'SESSION');
    const before = client.cookieHeader();
    const res = await client.gql(CHANGE_PASSWORD, { input: { currentPassword: DEMO.bob.password, newPassword: 'bob picked a fresh one' } });
    expect(res.errors).toBeUndefined();
    expect(client.cookieHeader()).not.toBe(before);
    expect(await signedIn(client)).toBe(true);
    const stale = new Client(app.url);
    stale.headers.cookie = before;
    expect(await signedIn(stale)).toBe(false);
  });
});

describe('wrong current passwords', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { LOGIN_MAX_FAILURES_PER_EMAIL: '3' } });
  });
  afterAll(() => app.close());

  it('are limited on their own count: a stolen session cannot lock the owner out of logging in', async () => {
    const thief = await sessionClient(app.url, 'alice');
    const guess = (currentPassword: string) => thief.gql(CHANGE_PASSWORD, { input: { currentPassword, newPassword: 'the thief wants this one' } });
    for (let i = 0; i < 3; i++) expect(codes(await guess(`guess number ${i} of many`))).toEqual(['INVALID_CREDENTIALS']);
    const limited = await guess('one more guess, please');
    expect(codes(limited)).toEqual(['RATE_LIMITED']);
    expect(limited.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
    // Even the right password is refused until the window passes: the count is not a guessing oracle.
    expect(codes(await guess(DEMO.alice.password))).toEqual(['RATE_LIMITED']);
    // The owner's login is untouched by all of it.
    expect((await login(app, 'alice')).res.errors).toBeUndefined();
  });
});

describe('privileged actions read the caller’s role from the database (stateless mode too)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { TOKEN_REVOCATION: 'stateless' } });
  });
  afterAll(() => app.close());

  it('a demoted admin’s keycard can no longer demote or suspend anyone, so the gym keeps an active ADMIN', async () => {
    const admin = await signInWithKeycard(app.url, 'admin');
    const staff = await signInWithKeycard(app.url, 'staff');
    const as = (token: string, query: string, variables: Record<string, unknown>) => new Client(app.url).gql(query, variables, bearer(token));
    // The admin makes staff an ADMIN; the new admin demotes the first one.
    expect((await as(admin.accessToken, SET_ROLE, { id: staff.member.id, role: 'ADMIN' })).errors).toBeUndefined();
    const promoted = await signInWithKeycard(app.url, 'staff');
    expect((await as(promoted.accessToken, SET_ROLE, { id: admin.member.id, role: 'MEMBER' })).data.setRole.role).toBe('MEMBER');
    // The demoted admin's keycard still says ADMIN for up to 15 minutes: it opens nothing privileged.
    const demote = await as(admin.accessToken, SET_ROLE, { id: staff.member.id, role: 'MEMBER' });
    expect(codes(demote)).toEqual(['FORBIDDEN']);
    const alice = await signInWithKeycard(app.url, 'alice');
    expect(codes(await as(admin.accessToken, SET_STATUS, { id: alice.member.id, status: 'SUSPENDED' }))).toEqual(['FORBIDDEN']);
    // Nothing changed: one active ADMIN remains, and alice is active.
    const admins = (await app.database.sql.get("select count(*) n from members where role = 'ADMIN' and status = 'ACTIVE'"));
    expect(admins).toEqual({ n: 1 });
    expect((await app.database.sql.get('select status from members where email = ?', DEMO.alice.email))).toEqual({ status: 'ACTIVE' });
  });

});

describe('a suspended staff member', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { TOKEN_REVOCATION: 'stateless' } });
  });
  afterAll(() => app.close());

  it('cannot suspend members with the keycard they still hold', async () => {
    const staff = await signInWithKeycard(app.url, 'staff');
    const admin = await signInWithKeycard(app.url, 'admin');
    const bob = await signInWithKeycard(app.url, 'bob');
    const suspend = await new Client(app.url).gql(SET_STATUS, { id: staff.member.id, status: 'SUSPENDED' }, bearer(admin.accessToken));
    expect(suspend.errors).toBeUndefined();
    const res = await new Client(app.url).gql(SET_STATUS, { id: bob.member.id, status: 'SUSPENDED' }, bearer(staff.accessToken));
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expect((await app.database.sql.get('select status from members where email = ?', DEMO.bob.email))).toEqual({ status: 'ACTIVE' });
  });
});

describe('refresh families stay bounded', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { REFRESH_MAX_FAMILIES_PER_MEMBER: '3', REFRESH_MAX_PER_MEMBER: '1000', LOGIN_MAX_PER_MEMBER: '1000' } });
  });
  afterAll(() => app.close());

  const rows = async (familyOf?: string) =>
    ((await app.database.sql.get(`select count(*) n from refresh_tokens ${familyOf ? 'where family_id = ?' : ''}`, ...(familyOf ? [familyOf] : []))) as { n: number }).n;

  it('a member holds at most the configured number of live families: a new login signs out the least recently used', async () => {
    const first = (await signInWithKeycard(app.url, 'alice')).refreshToken;
    const others = [];
    for (let i = 0; i < 3; i++) others.push((await signInWithKeycard(app.url, 'alice')).refreshToken);
    expect(await refreshes(app, first)).toBe(false);
    for (const token of others) expect(await refreshes(app, token)).toBe(true);
  });

  it('a chain keeps two rows however long it grows, and reusing any old token still revokes the family', async () => {
    const first = (await signInWithKeycard(app.url, 'bob')).refreshToken;
    const familyId = (await app.database.sql.get('select family_id f from refresh_tokens order by id desc limit 1')) as { f: string };
    let current = first;
    for (let i = 0; i < 25; i++) current = dataOf(await new Client(app.url).gql(REFRESH, { t: current })).refresh.refreshToken!;
    expect((await rows(familyId.f))).toBe(2);
    // The very first token, long gone from the table, is still known as this family's: presenting it is a reuse.
    const reuse = await new Client(app.url).gql(REFRESH, { t: first });
    expect(codes(reuse)).toEqual(['UNAUTHENTICATED']);
    expect(await refreshes(app, current)).toBe(false);
  });

  it('a family issued before tokens carried a family secret still revokes on the reuse of its old tokens', async () => {
    // A token as an earlier version issued it: kcr_ + 256 bits, its row without a family hash.
    const legacy = `kcr_${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    (await app.database.sql.run(
        `insert into refresh_tokens (token_hash, family_id, member_id, issued_at, expires_at, credential_version)
         values (?, 'legacy-family', (select id from members where email = ?), ?, ?, 0)`,
      createHash('sha256').update(legacy).digest('hex'),
      DEMO.admin.email,
      app.database.sql.instant(now),
      app.database.sql.instant(now + 86_400_000),
    ));
    const second = dataOf(await new Client(app.url).gql(REFRESH, { t: legacy })).refresh.refreshToken!;
    const third = dataOf(await new Client(app.url).gql(REFRESH, { t: second })).refresh.refreshToken!;
    expect(codes(await new Client(app.url).gql(REFRESH, { t: legacy }))).toEqual(['UNAUTHENTICATED']);
    expect(await refreshes(app, third)).toBe(false);
  });

  it('revoking a family touches a handful of rows, not one per refresh ever made', async () => {
    const before = (await rows());
    const { refreshToken } = await signInWithKeycard(app.url, 'staff');
    let current = refreshToken as string;
    for (let i = 0; i < 40; i++) current = dataOf(await new Client(app.url).gql(REFRESH, { t: current })).refresh.refreshToken!;
    expect((await rows()) - before).toBeLessThanOrEqual(2);
  });
});

describe('per-member limits on logins and refreshes', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { LOGIN_MAX_PER_MEMBER: '3', REFRESH_MAX_PER_MEMBER: '4' } });
  });
  afterAll(() => app.close());

  it('counts every login for an email, aliases too, before the hash: fifteen correct logins in one request open three families', async () => {
    // Mutations run one after another, and login returns a non-null payload: the first refusal ends the request.
    const aliases = Array.from(
      { length: 15 },
      (_, i) => `l${i}: login(input: { email: "${DEMO.staff.email}", password: "${DEMO.staff.password}" }) { refreshToken }`,
    ).join(' ');
    const started = Date.now();
    const res = await new Client(app.url).gql(`mutation { ${aliases} }`);
    const elapsed = Date.now() - started;
    expect(codes(res)).toEqual(['RATE_LIMITED']);
    expect(res.errors?.[0]?.path).toEqual(['l3']);
    // The refusal came before any hashing: the request cost three hashes, not fifteen.
    expect(elapsed).toBeLessThan(3_000);
    const families = (await app.database.sql.get('select count(distinct family_id) n from refresh_tokens r join members m on m.id = r.member_id where m.email = ?', DEMO.staff.email));
    expect(families).toEqual({ n: 3 });
  });

  it('limits refreshes per member, across families', async () => {
    const { refreshToken } = await signInWithKeycard(app.url, 'alice');
    let current = refreshToken as string;
    for (let i = 0; i < 4; i++) current = dataOf(await new Client(app.url).gql(REFRESH, { t: current })).refresh.refreshToken!;
    const limited = await new Client(app.url).gql(REFRESH, { t: current });
    expect(codes(limited)).toEqual(['RATE_LIMITED']);
    expect(limited.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
  });
});

describe('check-ins per member', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { CHECKIN_MAX_PER_MEMBER: '5' } });
  });
  afterAll(() => app.close());

  it('are rate-limited: taps beyond the limit are refused with RATE_LIMITED', async () => {
    const { accessToken } = await signInWithKeycard(app.url, 'alice');
    const rows = async () => (await app.database.sql.get('select count(*) n from check_ins c join members m on m.id = c.member_id where m.email = ?', DEMO.alice.email)) as { n: number };
    const before = (await rows()).n;
    const aliases = `mutation { ${Array.from({ length: 8 }, (_, i) => `c${i}: checkIn { id }`).join(' ')} }`;
    const res = await new Client(app.url).gql(aliases, undefined, bearer(accessToken));
    // The sixth tap is refused, and ends the request (checkIn is non-null); the next request is refused at once.
    expect(codes(res)).toEqual(['RATE_LIMITED']);
    expect(res.errors?.[0]?.path).toEqual(['c5']);
    const again = await new Client(app.url).gql('mutation { checkIn { id } }', undefined, bearer(accessToken));
    expect(codes(again)).toEqual(['RATE_LIMITED']);
    expect(again.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
    expect((await rows()).n).toBe(before + 1);
  });
});

describe('sign-up', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { SIGNUP_MAX_PER_ADDRESS: '4', TRUST_PROXY: 'loopback' } });
  });
  afterAll(() => app.close());

  const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { method } }`;
  const signUp = (email: string, from: string, password = 'a long enough passphrase') =>
    new Client(app.url).gql(SIGN_UP, { input: { email, password, name: 'Newcomer' } }, { 'x-forwarded-for': from });

  it('is throttled per client address, every attempt counted (refused ones too), and an IPv6 client is its /64', async () => {
    expect((await signUp('one@example.test', '2001:db8:1:2::1')).errors).toBeUndefined();
    expect(codes(await signUp('not an email', '2001:db8:1:2::2'))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await signUp(DEMO.alice.email, '2001:db8:1:2:aaaa::3'))).toEqual(['EMAIL_TAKEN']);
    expect((await signUp('two@example.test', '2001:db8:1:2:ffff:ffff:ffff:fffe')).errors).toBeUndefined();
    // A fifth attempt from anywhere in that /64 is refused, and creates nothing.
    const limited = await signUp('three@example.test', '2001:db8:1:2:1234::99');
    expect(codes(limited)).toEqual(['RATE_LIMITED']);
    expect((await app.database.sql.get("select count(*) n from members where email = 'three@example.test'"))).toEqual({ n: 0 });
    // The next /64, and an IPv4 client, are others.
    expect((await signUp('three@example.test', '2001:db8:1:3::1')).errors).toBeUndefined();
    expect((await signUp('four@example.test', '192.0.2.7')).errors).toBeUndefined();
  });

  it('costs a taken email a whole password hash, as a new account costs one, so its answer comes no faster', async () => {
    const time = async (run: () => Promise<unknown>) => {
      const started = performance.now();
      const res = await run();
      return { ms: performance.now() - started, res };
    };
    // Each round measures the three back to back, so that they meet the same load: on a busy machine a round can take
    // twice as long as the one before. A round's share is what the taken email cost over the refused sign-up, in
    // hashes; the middle of eleven rounds is held to at least half a hash (seven were seen at 0.48 beside a full run). Without the hash it is a tenth or less.
    const shares: number[] = [];
    for (let i = 0; i < 11; i++) {
      const taken = await time(() => signUp(DEMO.bob.email, `198.51.100.${i}`));
      expect(codes(taken.res as never)).toEqual(['EMAIL_TAKEN']);
      // The same request refused before any hash (a password too short): what a sign-up costs without one.
      const refused = await time(() => signUp(`timing-${i}@example.test`, `198.51.100.${i}`, 'short'));
      expect(codes(refused.res as never)).toEqual(['BAD_USER_INPUT']);
      // One hash with the gym's parameters, on this machine, now.
      const hash = await time(() => hashPassword(`timing-${i}`));
      shares.push((taken.ms - refused.ms) / hash.ms);
    }
    // On either engine, whatever the database adds to a new account: a taken email pays the hash on top of the rest,
    // so its answer cannot come sooner than any other sign-up's.
    const middle = [...shares].sort((x, y) => x - y)[5]!;
    expect(middle).toBeGreaterThan(0.5);
  });
});

describe('the data files', () => {
  it('are readable by their owner only: the folder 0700, the database and its WAL 0600', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'keycard-perm-'));
    try {
      const file = path.join(root, 'data', 'keycard.sqlite');
      const database = await openTestDatabase({ engine: 'sqlite', file });
      const app = await startTestApp({ database });
      await sessionClient(app.url, 'alice');
      await app.close();
      const mode = (p: string) => statSync(p).mode & 0o777;
      expect(mode(path.dirname(file))).toBe(0o700);
      expect(mode(file)).toBe(0o600);
      expect(mode(`${file}-wal`)).toBe(0o600);
      await database.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('what a stranger can do with someone else’s email or a leaked dead token', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { REFRESH_MAX_PER_MEMBER: '3', LOGIN_MAX_PER_MEMBER: '6', LOGIN_MAX_FAILURES_PER_ADDRESS: '8' } });
  });
  afterAll(() => app.close());

  it('a logged-out refresh token, replayed, never spends its owner’s refresh limit', async () => {
    const leaked = (await signInWithKeycard(app.url, 'bob')).refreshToken;
    const phone = (await signInWithKeycard(app.url, 'bob')).refreshToken;
    await new Client(app.url).gql('mutation($t: String) { logout(refreshToken: $t) }', { t: leaked });
    const replays = await Promise.all(Array.from({ length: 10 }, () => new Client(app.url).gql(REFRESH, { t: leaked })));
    expect(new Set(replays.flatMap(codes))).toEqual(new Set(['UNAUTHENTICATED']));
    expect(await refreshes(app, phone)).toBe(true);
  });

  it('wrong guesses meet the failure throttle, which says nothing of how often or when the owner signed in', async () => {
    // The owner signs in three times; a stranger then guesses.
    for (let i = 0; i < 3; i++) expect((await login(app, 'alice')).res.errors).toBeUndefined();
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push((await login(app, 'alice', 'TOKEN', `a wrong guess number ${i}`)).res);
    const limited = answers.filter((r) => codes(r)[0] === 'RATE_LIMITED');
    expect(limited.length).toBeGreaterThan(0);
    // One message and one wait for every refusal: the same as for an email nobody has ever used.
    expect(new Set(limited.map((r) => r.errors![0]!.message))).toEqual(new Set(['Too many failed sign-in attempts; try again later']));
    for (const r of limited) expect(r.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThanOrEqual(880);
  });

  it('a client the per-address throttle refuses writes nothing more, whatever emails it tries', async () => {
    const rows = async () => ((await app.database.sql.get('select count(*) n from rate_limits')) as { n: number }).n;
    const before = (await rows());
    for (let i = 0; i < 30; i++) {
      await new Client(app.url).gql(LOGIN, { input: { email: `nobody-${i}@example.test`, password: 'some password or other' } });
    }
    // At most one counter per attempt the throttle let through (8 failures from this address in the window).
    expect((await rows()) - before).toBeLessThanOrEqual(8);
  });
});

describe('two password changes at once', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('with the same current password: exactly one wins, the other is refused, and the winner’s password is the one that works', async () => {
    const { accessToken } = await signInWithKeycard(app.url, 'alice');
    const passwords = ['the owner picks this one', 'the intruder picks this one', 'a third one for good measure'];
    const mark = app.logs.length;
    const results = await Promise.all(
      passwords.map((newPassword, i) =>
        new Promise((r) => setTimeout(r, i * 5)).then(() =>
          new Client(app.url).gql(CHANGE_PASSWORD, { input: { currentPassword: DEMO.alice.password, newPassword } }, bearer(accessToken)),
        ),
      ),
    );
    // They were in the gym's hands at the same time (each spends two hashes): one winner is the rule, not the order.
    expect(overlapped(await handled(app, mark, { operation: 'ChangePassword' }, passwords.length))).toBe(true);
    const winners = results.map((r, i) => (r.errors ? null : passwords[i])).filter(Boolean);
    expect(winners).toHaveLength(1);
    for (const r of results.filter((r) => r.errors)) expect(codes(r)).toEqual(['INVALID_CREDENTIALS']);
    for (const password of passwords) {
      const res = (await login(app, 'alice', 'TOKEN', password)).res;
      expect(Boolean(res.errors)).toBe(password !== winners[0]);
    }
  });
});
