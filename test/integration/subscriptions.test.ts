import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { idOf } from '../../src/ids.js';
import { startTestApp, type StartOptions, type TestApp } from '../helpers/app.js';
import { Client, DEMO, sessionClient, signInWithKeycard, type DemoName } from '../helpers/client.js';
import { TestClock } from '../helpers/clock.js';
import { openSocket, rawSocket, started, until, type GymSocket, type RawSocket } from '../helpers/live.js';

const CHECK_INS = 'subscription { checkIns { at method door member { name } } }';
const MY_CHECK_INS = 'subscription { myCheckIns { at method } }';

/** Sockets opened by a test, disposed after it. */
const open: GymSocket[] = [];
function socket(app: TestApp, options: Parameters<typeof openSocket>[1] = {}): GymSocket {
  const s = openSocket(app, options);
  open.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.dispose()));
});

async function signIn(app: TestApp, who: DemoName): Promise<{ token: string; expiresAt: number; refreshToken: string; memberId: number }> {
  const login = await signInWithKeycard(app.url, who);
  return { token: login.accessToken, expiresAt: Date.parse(login.accessTokenExpiresAt), refreshToken: login.refreshToken, memberId: idOf('Member', login.member.id)! };
}

/**
 * A member's check-in through the real mutation, on a session of their own, made new even if they checked in minutes
 * ago (older rows are aged).
 */
async function checkIn(app: TestApp, who: DemoName = 'alice', door = 'main'): Promise<string> {
  const client = await sessionClient(app.url, who);
  await app.database.sql.run('update check_ins set at = ?', app.database.sql.instant(Date.now() - 10 * 60_000));
  const res = await client.gql('mutation($door: String) { checkIn(door: $door) { id at } }', { door });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.checkIn.at as string;
}

async function subscriptionsStarted(app: TestApp): Promise<number> {
  return app.logs.filter((line) => line.event === 'subscription_start').length;
}

describe('events on the live access sheet', () => {
  let app: TestApp;
  let alice: Client;
  beforeAll(async () => {
    app = await startTestApp();
    alice = await sessionClient(app.url, 'alice');
  });
  afterAll(async () => app?.close());

  test('STAFF hears every check-in as it happens, with the member and how they were signed in', async () => {
    const staff = await signIn(app, 'staff');
    const before = await subscriptionsStarted(app);
    const desk = socket(app, { authorization: `Bearer ${staff.token}` }).watch(CHECK_INS);
    await started(app, before + 1);
    const at = await checkIn(app, 'alice', 'side');
    expect(await desk.next()).toEqual({ data: { checkIns: { at, method: 'SESSION', door: 'side', member: { name: 'Alice Member' } } } });
  });

  test("a member hears their own check-ins on myCheckIns, and nobody else's", async () => {
    const mine = await signIn(app, 'alice');
    const before = await subscriptionsStarted(app);
    const phone = socket(app, { authorization: `Bearer ${mine.token}` }).watch(MY_CHECK_INS);
    await started(app, before + 1);
    await checkIn(app, 'staff');
    const at = await checkIn(app);
    expect(await phone.next()).toEqual({ data: { myCheckIns: { at, method: 'SESSION' } } });
    expect(phone.values).toHaveLength(1);
  });

  test('a member asking for checkIns gets FORBIDDEN for that operation, and the socket goes on with the others', async () => {
    const mine = await signIn(app, 'alice');
    const s = socket(app, { authorization: `Bearer ${mine.token}` });
    const before = await subscriptionsStarted(app);
    const phone = s.watch(MY_CHECK_INS);
    await started(app, before + 1);
    const refused = s.watch(CHECK_INS);
    const error = (await refused.failed()) as { extensions?: { code?: string } }[];
    expect(error.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    await checkIn(app);
    await phone.next();
    expect(s.closes).toEqual([]);
    expect(s.connections()).toBe(1);
  });

  test('only subscriptions run on the socket, and a subscription sent over HTTP is refused with a code', async () => {
    const staff = await signIn(app, 'staff');
    // Eager: graphql-ws's lazy client would close its idle socket between refused operations.
    const s = socket(app, { authorization: `Bearer ${staff.token}`, eager: true });
    const query = s.watch('query { viewer { authenticated } }');
    expect(((await query.failed()) as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('BAD_REQUEST');
    const mutation = s.watch('mutation { logoutEverywhere }');
    expect(((await mutation.failed()) as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('BAD_REQUEST');
    const overHttp = await alice.gql(MY_CHECK_INS);
    expect(overHttp.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(overHttp.status).toBe(400);
    expect(s.closes).toEqual([]);
  });

  test('a subscription document is held to the limits of HTTP: depth, aliases, tokens, cost, and variables that do not coerce', async () => {
    const staff = await signIn(app, 'staff');
    const s = socket(app, { authorization: `Bearer ${staff.token}`, eager: true });
    const codeOf = async (query: string, variables?: Record<string, unknown>) =>
      ((await s.watch(query, variables).failed()) as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code);
    const deep = `subscription { checkIns { member { checkIns { edges { node { member { checkIns { edges { node { member { name } } } } } } } } } } }`;
    expect(await codeOf(deep)).toContain('GRAPHQL_VALIDATION_FAILED');
    const aliases = `subscription { checkIns { ${Array.from({ length: 16 }, (_, i) => `a${i}: at`).join(' ')} } }`;
    expect(await codeOf(aliases)).toContain('GRAPHQL_VALIDATION_FAILED');
    const huge = `subscription { checkIns { ${'at '.repeat(1200)} } }`;
    expect(await codeOf(huge)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(await codeOf('subscription { nope }')).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    // Within the depth limit, but a page of a hundred members' pages of sixty: over the cost budget, as over HTTP.
    const costly = 'subscription { checkIns { member { checkIns(first: 100) { edges { node { member { checkIns(first: 60) { edges { cursor } } } } } } } } }';
    const refused = (await s.watch(costly).failed()) as { message: string; extensions?: { code?: string } }[];
    expect(refused.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(refused[0]!.message).toMatch(/^Cost limit of 5000 exceeded/);
    expect(await codeOf('subscription ($n: Int!) { checkIns { member { checkIns(first: $n) { edges { cursor } } } } }', { n: 'many' })).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(s.closes).toEqual([]);
  });
});

describe('signing in when the socket opens', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { CORS_ORIGINS: 'https://front.gym.example' } });
  });
  afterAll(async () => app?.close());

  test('no credential, a malformed one or a forged token closes the socket with 4403 forbidden', async () => {
    for (const options of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer not.a.token' }, { connectionParams: { authorization: 42 } }]) {
      const s = socket(app, { ...options, eager: true });
      expect(await s.closed()).toMatchObject({ code: 4403, reason: 'forbidden' });
    }
  });

  test('an expired token closes the socket with 4403 token_expired', async () => {
    const staff = await signIn(app, 'staff');
    const expired = app.keycard.services.accessTokens.issue({ id: staff.memberId, role: 'STAFF', tokenVersion: 0 }, 'family', Date.now() - 60 * 60_000);
    const s = socket(app, { authorization: `Bearer ${expired.token}`, eager: true });
    expect(await s.closed()).toMatchObject({ code: 4403, reason: 'token_expired' });
  });

  test("the session cookie opens a socket from the gym's own pages and from CORS_ORIGINS, never from another site", async () => {
    const staff = await sessionClient(app.url, 'staff');
    const cookie = staff.cookieHeader();
    for (const origin of [app.url, 'https://front.gym.example']) {
      const before = await subscriptionsStarted(app);
      const s = socket(app, { cookie, origin });
      const desk = s.watch(CHECK_INS);
      await started(app, before + 1);
      await checkIn(app);
      await desk.next();
    }
    // A page on another site (cross-site WebSocket hijacking), or no Origin at all: the cookie is not honoured.
    for (const origin of ['https://evil.example', 'null', undefined]) {
      const s = socket(app, { cookie, ...(origin ? { origin } : {}), eager: true });
      expect(await s.closed()).toMatchObject({ code: 4403, reason: 'forbidden' });
    }
  });

  test('a cookie whose session is over closes the socket with 4403 session_ended', async () => {
    const staff = await sessionClient(app.url, 'staff');
    const cookie = staff.cookieHeader();
    await staff.gql('mutation { logout }');
    const s = socket(app, { cookie, origin: app.url, eager: true });
    expect(await s.closed()).toMatchObject({ code: 4403, reason: 'session_ended' });
  });
});

/** Opens a STAFF subscription on a session socket and waits until it listens. */
async function deskOnSession(app: TestApp, who: DemoName = 'staff') {
  const client = await sessionClient(app.url, who);
  const cookie = client.cookieHeader();
  const before = await subscriptionsStarted(app);
  const s = socket(app, { cookie, origin: app.url });
  const feed = s.watch(who === 'alice' ? MY_CHECK_INS : CHECK_INS);
  await started(app, before + 1);
  return { client, cookie, socket: s, feed };
}

/** Asserts a close with 4403 and `reason`, within a second of `since`. */
async function closesWithin(s: GymSocket, reason: string, since: number, boundMs = 1_000) {
  const closed = await s.closed(boundMs + 2_000);
  expect(closed).toMatchObject({ code: 4403, reason });
  expect(closed.at - since).toBeLessThanOrEqual(boundMs);
}

/**
 * Moves `clock` to `deadline` in steps of `stepMs`, each step's due checks run before the next (a watching socket
 * records its activity as often as it would in real time); returns the machine's time when the deadline was reached.
 */
async function stepTo(clock: TestClock, deadline: number, stepMs = 100): Promise<number> {
  while (clock.now() < deadline) await clock.advance(Math.min(stepMs, deadline - clock.now()));
  return Date.now();
}

describe('the viewer is checked again, not only when the socket opens', () => {
  let app: TestApp;
  const clock = new TestClock();
  beforeAll(async () => {
    app = await startTestApp({ env: { ACCESS_TOKEN_TTL: '2s' }, clock });
  });
  afterAll(async () => app?.close());

  test("a quiet socket closes with token_expired within a second of the token's exp", async () => {
    const staff = await signIn(app, 'staff');
    const s = socket(app, { authorization: `Bearer ${staff.token}`, eager: true });
    await until(() => s.connections() === 1, 'the socket to open');
    await clock.advance(staff.expiresAt - clock.now() - 500);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(s.closes).toEqual([]);
    const expiredAt = await stepTo(clock, staff.expiresAt);
    const closed = await s.closed(2_000);
    expect(closed).toMatchObject({ code: 4403, reason: 'token_expired' });
    expect(closed.at - expiredAt).toBeLessThanOrEqual(1_000);
  });

  test('signing out the session (logout on HTTP with the same cookie) closes its socket with session_ended', async () => {
    const { client, socket: s } = await deskOnSession(app);
    const at = Date.now();
    await client.gql('mutation { logout }');
    await closesWithin(s, 'session_ended', at);
  });

  test('logoutEverywhere, a password change or a suspension made from elsewhere closes the session socket', async () => {
    // logoutEverywhere from another session of the same member
    {
      const { socket: s } = await deskOnSession(app, 'alice');
      const other = await sessionClient(app.url, 'alice');
      const at = Date.now();
      await other.gql('mutation { logoutEverywhere }');
      await closesWithin(s, 'session_ended', at);
    }
    // a password change from another session (and back, for the other tests)
    {
      const { socket: s } = await deskOnSession(app, 'alice');
      const other = await sessionClient(app.url, 'alice');
      const change = 'mutation($input: ChangePasswordInput!) { changePassword(input: $input) }';
      const at = Date.now();
      const res = await other.gql(change, { input: { currentPassword: DEMO.alice.password, newPassword: 'a new and unusual passphrase' } });
      expect(res.errors).toBeUndefined();
      await closesWithin(s, 'session_ended', at);
      await other.gql(change, { input: { currentPassword: 'a new and unusual passphrase', newPassword: DEMO.alice.password } });
    }
    // a suspension by STAFF
    {
      const { socket: s } = await deskOnSession(app, 'alice');
      const staff = await sessionClient(app.url, 'staff');
      const aliceId = (await (await sessionClient(app.url, 'alice')).gql('{ me { id } }')).data.me.id;
      const at = Date.now();
      const res = await staff.gql('mutation($id: ID!) { setMemberStatus(memberId: $id, status: SUSPENDED) { status } }', { id: aliceId });
      expect(res.errors).toBeUndefined();
      await closesWithin(s, 'session_ended', at);
      await staff.gql('mutation($id: ID!) { setMemberStatus(memberId: $id, status: ACTIVE) { status } }', { id: aliceId });
    }
  });

  test('an event published in the same instant as a revocation no process was told of never reaches the revoked viewer', async () => {
    const { feed, socket: s } = await deskOnSession(app);
    const staffId = (await signIn(app, 'staff')).memberId;
    // Suspended straight in the database (an operator's SQL, another tool): no process publishes anything about it,
    // so only the check made before the event can stop it.
    await app.database.sql.run("update members set status = 'SUSPENDED', token_version = token_version + 1 where id = ?", staffId);
    try {
      await checkIn(app);
      await closesWithin(s, 'session_ended', Date.now(), 2_000);
      expect(feed.values).toEqual([]);
    } finally {
      await app.database.sql.run("update members set status = 'ACTIVE' where id = ?", staffId);
    }
  });

  test('in stateless mode a keycard socket outlives logoutEverywhere until its exp, as the keycard does on HTTP', async () => {
    const staff = await signIn(app, 'staff');
    const before = await subscriptionsStarted(app);
    const s = socket(app, { authorization: `Bearer ${staff.token}` });
    const desk = s.watch(CHECK_INS);
    await started(app, before + 1);
    const res = await new Client(app.url).gql('mutation { logoutEverywhere }', {}, { authorization: `Bearer ${staff.token}` });
    expect(res.data.logoutEverywhere).toBe(true);
    await checkIn(app);
    await desk.next();
    expect(s.closes).toEqual([]);
    await stepTo(clock, staff.expiresAt);
    const closed = await s.closed(2_000);
    expect(closed).toMatchObject({ code: 4403, reason: 'token_expired' });
  });
});

describe('sessions on a socket: idle and absolute timeouts', () => {
  let app: TestApp;
  const clock = new TestClock();
  beforeAll(async () => {
    app = await startTestApp({ env: { SESSION_IDLE_TIMEOUT: '2s', SESSION_ABSOLUTE_TIMEOUT: '5s' }, clock });
  });
  afterAll(async () => app?.close());

  test('a live subscription keeps the session from going idle; the absolute timeout still ends it', async () => {
    const loginAt = clock.now();
    const { cookie, socket: s } = await deskOnSession(app);
    // Past the idle timeout twice over: the watching socket counted as activity, so the session is alive on HTTP too.
    await stepTo(clock, loginAt + 3_500);
    expect(s.closes).toEqual([]);
    const viewer = await new Client(app.url).gql('{ viewer { authenticated method } }', {}, { cookie });
    expect(viewer.data.viewer).toEqual({ authenticated: true, method: 'SESSION' });
    const endedAt = await stepTo(clock, loginAt + 5_000);
    await closesWithin(s, 'session_ended', endedAt, 1_000);
  });

  test('a socket with no live subscription is no activity: the session goes idle from its last request and the socket closes', async () => {
    const client = await sessionClient(app.url, 'staff');
    const lastRequestAt = clock.now();
    // Opened well into the idle timeout: neither opening it nor its own checks move the session's idle deadline.
    await clock.advance(1_200);
    const s = socket(app, { cookie: client.cookieHeader(), origin: app.url, eager: true });
    await until(() => s.connections() === 1, 'the socket to open');
    const idleAt = await stepTo(clock, lastRequestAt + 2_000);
    await closesWithin(s, 'session_ended', idleAt, 500);
  });
});

describe('strict revocation on a socket', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { TOKEN_REVOCATION: 'strict' } });
  });
  afterAll(async () => app?.close());

  test('a token revoked by logoutEverywhere closes its socket with 4403 revoked within a second', async () => {
    const staff = await signIn(app, 'staff');
    const before = await subscriptionsStarted(app);
    const s = socket(app, { authorization: `Bearer ${staff.token}` });
    s.watch(CHECK_INS);
    await started(app, before + 1);
    const at = Date.now();
    await new Client(app.url).gql('mutation { logoutEverywhere }', {}, { authorization: `Bearer ${staff.token}` });
    await closesWithin(s, 'revoked', at);
  });

  test('a STAFF member demoted while watching checkIns is closed with 4403 forbidden, and may not subscribe again', async () => {
    const staff = await signIn(app, 'staff');
    const before = await subscriptionsStarted(app);
    const s = socket(app, { authorization: `Bearer ${staff.token}` });
    s.watch(CHECK_INS);
    await started(app, before + 1);
    const admin = await sessionClient(app.url, 'admin');
    const staffId = (await new Client(app.url).gql('{ me { id } }', {}, { authorization: `Bearer ${staff.token}` })).data.me.id;
    const at = Date.now();
    const res = await admin.gql('mutation($id: ID!) { setRole(memberId: $id, role: MEMBER) { role } }', { id: staffId });
    expect(res.data.setRole.role).toBe('MEMBER');
    try {
      await closesWithin(s, 'forbidden', at);
      const again = socket(app, { authorization: `Bearer ${staff.token}` }).watch(CHECK_INS);
      expect(((await again.failed()) as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('FORBIDDEN');
    } finally {
      await admin.gql('mutation($id: ID!) { setRole(memberId: $id, role: STAFF) { role } }', { id: staffId });
    }
  });
});

describe('limits', () => {
  let app: TestApp;
  const env: StartOptions['env'] = {
    WS_MAX_CONNECTIONS_PER_MEMBER: '2',
    WS_MAX_CONNECTIONS_PER_ADDRESS: '3',
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
    WS_MAX_QUEUED_EVENTS: '3',
  };
  beforeAll(async () => {
    app = await startTestApp({ env });
  });
  afterAll(async () => app?.close());

  test('one subscription too many on a socket closes it with 1008', async () => {
    const staff = await signIn(app, 'staff');
    const s = socket(app, { authorization: `Bearer ${staff.token}` });
    s.watch(CHECK_INS);
    s.watch(MY_CHECK_INS);
    s.watch(CHECK_INS);
    expect(await s.closed()).toMatchObject({ code: 1008, reason: 'too many subscriptions on this connection' });
  });

  test('one connection too many for a member, or from an address, is closed with 1008', async () => {
    const staff = await signIn(app, 'staff');
    const first = socket(app, { authorization: `Bearer ${staff.token}`, eager: true });
    const second = socket(app, { authorization: `Bearer ${staff.token}`, eager: true });
    await until(() => first.connections() === 1 && second.connections() === 1, 'two sockets to open');
    const third = socket(app, { authorization: `Bearer ${staff.token}`, eager: true });
    expect(await third.closed()).toMatchObject({ code: 1008, reason: 'too many connections for this member' });
    const alice = await signIn(app, 'alice');
    const fromAlice = socket(app, { authorization: `Bearer ${alice.token}`, eager: true });
    await until(() => fromAlice.connections() === 1, "alice's socket to open");
    const admin = await signIn(app, 'admin');
    const fourth = socket(app, { authorization: `Bearer ${admin.token}`, eager: true });
    expect(await fourth.closed()).toMatchObject({ code: 1008, reason: 'too many connections from this address' });
  });

  test('a consumer that cannot keep up is dropped with 1008 rather than queued for without bound', async () => {
    const staff = await signIn(app, 'staff');
    const before = await subscriptionsStarted(app);
    const s = socket(app, { authorization: `Bearer ${staff.token}` });
    const desk = s.watch(CHECK_INS);
    await started(app, before + 1);
    // A burst of events in one instant (a busy door): the first waits for its check while the rest queue.
    const row = { id: 1, memberId: staff.memberId, at: new Date(), door: 'main', method: 'TOKEN' as const };
    await Promise.all(Array.from({ length: 10 }, (_, i) => app.keycard.services.live.checkedIn({ ...row, id: i + 1 })));
    expect(await s.closed()).toMatchObject({ code: 1008, reason: 'too many events waiting: the connection reads too slowly' });
    expect(desk.values.length).toBeLessThan(10);
  });
});

describe('what a hostile client sends', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3' } });
  });
  afterAll(async () => app?.close());

  test('reusing an id that is still live closes the socket (4409), so completing and resubscribing cannot pile up subscriptions', async () => {
    const staff = await signIn(app, 'staff');
    const raw = await rawSocket(app, { authorization: `Bearer ${staff.token}` });
    const subscribe = { id: 'a', type: 'subscribe', payload: { query: CHECK_INS } };
    // In one read: each complete frees the id as graphql-ws sees it while the subscription before it is still starting.
    raw.burst([subscribe, ...Array.from({ length: 10 }, () => [{ id: 'a', type: 'complete' }, subscribe]).flat()]);
    expect(await raw.closed).toMatchObject({ code: 4409 });
    await checkIn(app);
    expect(raw.messages.filter((m) => m.type === 'next')).toEqual([]);
  });

  // Two ways to reuse an id: while graphql-ws still holds it, and in the instant after a complete, when only Keycard does.
  test.each([
    ['while it is live', (raw: RawSocket, subscribe: object) => raw.burst([subscribe])],
    ['right after completing it', (raw: RawSocket, subscribe: object, id: string) => raw.burst(Array.from({ length: 10 }, () => [{ id, type: 'complete' }, subscribe]).flat())],
  ])('reusing an id of 64 multibyte characters %s closes with 4409 and a short reason that does not repeat it, logging no error', async (_when, reuse) => {
    const staff = await signIn(app, 'staff');
    const raw = await rawSocket(app, { authorization: `Bearer ${staff.token}` });
    const id = '€'.repeat(64);
    const subscribe = { id, type: 'subscribe', payload: { query: CHECK_INS } };
    const before = await subscriptionsStarted(app);
    const logged = app.logs.length;
    raw.burst([subscribe]);
    await started(app, before + 1);
    reuse(raw, subscribe, id);
    const closed = await raw.closed;
    expect(closed.code).toBe(4409);
    // WebSocket's limit on a close reason; past it the socket used to end as 1011 "internal error".
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
    expect(closed.reason).not.toContain('€');
    expect(app.logs.slice(logged).filter((line) => (line.level as number) >= 50)).toEqual([]);
  });

  test('a client that sends without reading is cut off once a megabyte waits for it, before it is even signed in', async () => {
    const ws = new (await import('ws')).default(`${app.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    const tcp = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    // Each ping is answered with a pong echoing its 90 kB payload, which this client never reads.
    const ping = JSON.stringify({ type: 'ping', payload: { pad: 'x'.repeat(90_000) } });
    const cutOff = () => app.logs.some((line) => line.msg === 'a socket was cut off: it sends but does not read');
    // Far more than the kernel's socket buffers hold (a few megabytes), stopping as soon as the server has had enough.
    for (let i = 0; i < 600 && !cutOff(); i++) {
      ws.send(ping);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await until(cutOff, 'the server to cut the socket off', 10_000);
    tcp.resume();
    expect(await closed).toBe(1006);
  });

  test('a document graphql-js cannot validate without throwing fails that operation alone', async () => {
    const staff = await signIn(app, 'staff');
    const s = socket(app, { authorization: `Bearer ${staff.token}`, eager: true });
    const before = await subscriptionsStarted(app);
    const desk = s.watch(CHECK_INS);
    await started(app, before + 1);
    const odd = s.watch('subscription ($skip: Boolean!) { myCheckIns @skip(if: $skip) { at } }', { skip: false });
    expect(((await odd.failed()) as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    await checkIn(app);
    await desk.next();
    expect(s.closes).toEqual([]);
  });
});

describe('a production gym', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { NODE_ENV: 'production' } });
  });
  afterAll(async () => app?.close());

  test('names no field a subscription document got wrong (no "Did you mean"), as over HTTP', async () => {
    const staff = await signIn(app, 'staff');
    const s = socket(app, { authorization: `Bearer ${staff.token}`, eager: true });
    const errors = (await s.watch('subscription { myCheckIns { at } } fragment F on Query { membr } fragment G on Mutation { setRol }').failed()) as {
      message: string;
    }[];
    expect(errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(errors)).not.toMatch(/Did you mean|member|setRole/);
  });
});

describe('stopping with a client that ignores the close', () => {
  test('cuts it off after a short grace instead of holding the stop for the whole HTTP drain', async () => {
    const app = await startTestApp();
    try {
      const staff = await signIn(app, 'staff');
      const raw = await rawSocket(app, { authorization: `Bearer ${staff.token}` });
      (raw.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const stopping = Date.now();
      await app.keycard.close();
      expect(Date.now() - stopping).toBeLessThan(5_000);
    } finally {
      await app.close().catch(() => undefined);
    }
  });
});
