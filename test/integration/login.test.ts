import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, codes, dataOf, DEMO, LOGIN } from '../helpers/client.js';
import { handled, overlapped } from '../helpers/race.js';

const session = (email: string, password: string) => ({ input: { email, password, mode: 'SESSION' as const } });

describe('login failures', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { LOGIN_MAX_FAILURES_PER_EMAIL: '5', LOGIN_MAX_FAILURES_PER_ADDRESS: '100' } });
  });
  afterAll(() => app.close());

  it('says only "invalid email or password" for a wrong password, an unknown email and a suspended member', async () => {
    const client = new Client(app.url);
    const staff = new Client(app.url);
    await staff.gql(LOGIN, session(DEMO.staff.email, DEMO.staff.password));
    const dave = await client.gql(`mutation { signUp(input: { email: "dave@example.com", password: "dave's own long passphrase", name: "Dave", mode: SESSION }) { member { id } } }`);
    const suspended = await staff.gql(`mutation($id: ID!) { setMemberStatus(memberId: $id, status: SUSPENDED) { status } }`, { id: dave.data.signUp.member.id });
    expect(suspended.data).toEqual({ setMemberStatus: { status: 'SUSPENDED' } });

    const attempts = [
      session(DEMO.alice.email, 'not-alices-password'),
      session('nobody-here@example.com', 'whatever-password'),
      session('dave@example.com', "dave's own long passphrase"),
    ];
    const errors = [];
    for (const variables of attempts) {
      const res = await new Client(app.url).gql(LOGIN, variables);
      expect(res.data).toBeNull();
      expect(res.setCookies).toEqual([]);
      errors.push(res.errors);
    }
    for (const e of errors) expect(e).toEqual([expect.objectContaining({ message: 'invalid email or password', extensions: { code: 'INVALID_CREDENTIALS' } })]);
  });

  it('costs about the same time for an unknown email as for a wrong password', async () => {
    const time = async (email: string) => {
      const started = performance.now();
      await new Client(app.url).gql(LOGIN, session(email, 'a wrong password here'));
      return performance.now() - started;
    };
    // Warm both paths, then compare medians: an unknown email must still spend a hash verification.
    await time('timing-unknown@example.com');
    await time('timing@example.com');
    await new Client(app.url).gql(`mutation { signUp(input: { email: "timing@example.com", password: "timing's long passphrase", name: "T", mode: SESSION }) { method } }`);
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      known.push(await time('timing@example.com'));
      unknown.push(await time(`timing-unknown-${i}@example.com`));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  });
});

describe('login throttling', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { LOGIN_MAX_FAILURES_PER_EMAIL: '5', LOGIN_MAX_FAILURES_PER_ADDRESS: '12', LOGIN_WINDOW: '15m' } });
  });
  afterAll(() => app.close());

  it('refuses an email after 5 failures with RATE_LIMITED, even with the right password', async () => {
    const client = new Client(app.url);
    for (let i = 0; i < 5; i++) {
      expect(codes(await client.gql(LOGIN, session(DEMO.bob.email, `wrong password ${i}`)))).toEqual(['INVALID_CREDENTIALS']);
    }
    const res = await client.gql(LOGIN, session(DEMO.bob.email, DEMO.bob.password));
    expect(codes(res)).toEqual(['RATE_LIMITED']);
    const retry = res.errors![0]!.extensions!.retryAfterSeconds as number;
    expect(retry).toBeGreaterThan(14 * 60);
    expect(retry).toBeLessThanOrEqual(15 * 60);
    expect(res.setCookies).toEqual([]);
  });

  it('counts aliased logins: a batch of guesses in one request buys no extra tries', async () => {
    const guesses = (round: number) =>
      Array.from({ length: 3 }, (_, i) => `g${i}: login(input: { email: "staff@keycard.test", password: "guess ${round}-${i}", mode: SESSION }) { method }`);
    for (let round = 0; round < 5; round++) {
      const res = await new Client(app.url).gql(`mutation { ${guesses(round).join('\n')} }`);
      // login is non-null, so the first refusal ends the mutation: each batch spends a try and gets one answer.
      expect(codes(res)).toEqual(['INVALID_CREDENTIALS']);
    }
    const right = await new Client(app.url).gql(LOGIN, session(DEMO.staff.email, DEMO.staff.password));
    expect(codes(right)).toEqual(['RATE_LIMITED']);
  });

  it('counts failures per client address across emails, and a forged X-Forwarded-For changes nothing', async () => {
    // 5 + 5 failures so far from 127.0.0.1; two more for a third email reach the address limit of 12.
    for (let i = 0; i < 2; i++) {
      expect(codes(await new Client(app.url).gql(LOGIN, session(DEMO.alice.email, `wrong ${i}`)))).toEqual(['INVALID_CREDENTIALS']);
    }
    const forged = await new Client(app.url).gql(LOGIN, session(DEMO.admin.email, DEMO.admin.password), { 'x-forwarded-for': '203.0.113.9' });
    expect(codes(forged)).toEqual(['RATE_LIMITED']);
  });

  it('keeps counts in the database', async () => {
    const rows = (await app.database.sql.get('select count(*) as n from login_failures')) as { n: number };
    expect(rows.n).toBe(12);
  });
});

describe('a successful login', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { LOGIN_MAX_FAILURES_PER_EMAIL: '3' } });
  });
  afterAll(() => app.close());

  it('forgives earlier failures for that email', async () => {
    const client = new Client(app.url);
    for (let i = 0; i < 2; i++) await client.gql(LOGIN, session(DEMO.alice.email, 'a wrong password'));
    expect(codes(await client.gql(LOGIN, session(DEMO.alice.email, DEMO.alice.password)))).toEqual([]);
    for (let i = 0; i < 2; i++) await client.gql(LOGIN, session(DEMO.alice.email, 'a wrong password'));
    expect(codes(await client.gql(LOGIN, session(DEMO.alice.email, DEMO.alice.password)))).toEqual([]);
  });

  it('finds the member whatever the case of the email', async () => {
    const res = await new Client(app.url).gql(LOGIN, session('  ALICE@Keycard.Test ', DEMO.alice.password));
    expect(dataOf(res).login.member.name).toBe('Alice Member');
  });
});

describe('concurrent guesses', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { LOGIN_MAX_FAILURES_PER_EMAIL: '5' } });
  });
  afterAll(() => app.close());

  it('never let more than the limit through while the hashes run', async () => {
    const mark = app.logs.length;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => new Client(app.url).gql(LOGIN, session(DEMO.alice.email, `parallel guess ${i}`))),
    );
    const all = results.flatMap(codes).sort();
    expect(all).toEqual([...Array(5).fill('INVALID_CREDENTIALS'), ...Array(7).fill('RATE_LIMITED')]);
    // The guesses were in the gym's hands at the same time: the limit held against a race, not a queue of requests.
    expect(overlapped(await handled(app, mark, { operation: 'Login' }, 12))).toBe(true);
  });
});
