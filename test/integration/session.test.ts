import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../helpers/database.js';
import { startTestApp, type TestApp, useTestApp } from '../helpers/app.js';
import { TestClock } from '../helpers/clock.js';
import { graphql } from '../helpers/__generated__/index.js';
import { Client, codes, dataOf, DEMO, LOGIN, sessionClient } from '../helpers/client.js';

const ME = graphql(/* GraphQL */ `
  query SessionViewer {
    viewer { authenticated method role expiresAt }
    me { name email }
  }
`);
const LOGOUT = graphql(/* GraphQL */ `mutation SessionLogout { logout }`);
const SIGN_UP = graphql(/* GraphQL */ `
  mutation SessionSignUp($input: SignUpInput!) {
    signUp(input: $input) { method member { name email role membership { status } } }
  }
`);

describe('sign-in with a session (the access sheet)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('sets an HttpOnly, SameSite=Lax, Path=/ cookie named keycard.sid and returns no tokens', async () => {
    const client = new Client(app.url);
    const res = await client.gql(LOGIN, { input: { ...DEMO.alice, mode: 'SESSION' } });
    expect(res.errors).toBeUndefined();
    const { login } = dataOf(res);
    expect(login).toMatchObject({ method: 'SESSION', accessToken: null, refreshToken: null });
    expect(login.member).toMatchObject({ name: 'Alice Member', email: 'alice@keycard.test' });
    expect(res.setCookies).toHaveLength(1);
    const cookie = res.setCookies[0]!;
    expect(cookie).toMatch(/^keycard\.sid=/);
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\//i);
    // Not Secure outside production: it would never be sent back over plain HTTP.
    expect(cookie).not.toMatch(/; Secure/i);
  });

  it('recognises the member on the next request by the cookie alone', async () => {
    const client = await sessionClient(app.url, 'alice');
    const res = await client.gql(ME);
    expect(res.errors).toBeUndefined();
    const { viewer, me } = dataOf(res);
    expect(viewer).toMatchObject({ authenticated: true, method: 'SESSION', role: 'MEMBER' });
    expect(new Date(viewer.expiresAt!).getTime()).toBeGreaterThan(Date.now());
    expect(me).toEqual({ name: 'Alice Member', email: 'alice@keycard.test' });
  });

  it('ends the session on the server at logout, so a replayed cookie is anonymous', async () => {
    const client = await sessionClient(app.url, 'alice');
    const stolen = client.cookieHeader();
    const out = await client.gql(LOGOUT);
    expect(out.data).toEqual({ logout: true });
    // The browser is told to forget the cookie...
    expect(out.setCookies.join()).toMatch(/keycard\.sid=;.*Expires=Thu, 01 Jan 1970/);
    // ...and a copy kept by anyone else no longer opens anything.
    const replay = await new Client(app.url).gql(ME, undefined, { cookie: stolen });
    expect(dataOf(replay).viewer.authenticated).toBe(false);
    expect(dataOf(replay).me).toBeNull();
    expect(codes(replay)).toEqual(['UNAUTHENTICATED']);
  });

  it('treats a tampered cookie as anonymous, never as an error', async () => {
    const client = await sessionClient(app.url, 'alice');
    const value = client.cookies.get('keycard.sid')!;
    // Flip one character of the signature.
    const last = value.at(-1) === 'A' ? 'B' : 'A';
    const tampered = `keycard.sid=${value.slice(0, -1)}${last}`;
    const res = await new Client(app.url).gql(ME, undefined, { cookie: tampered });
    expect(res.status).toBe(200);
    expect(dataOf(res).viewer.authenticated).toBe(false);
  });

  it('treats an unknown or garbage cookie as anonymous', async () => {
    for (const cookie of ['keycard.sid=s%3Anope.nope', 'keycard.sid=', 'keycard.sid=%%%', 'other=1']) {
      const res = await new Client(app.url).gql(ME, undefined, { cookie });
      expect(res.status).toBe(200);
      expect(dataOf(res).viewer.authenticated).toBe(false);
    }
  });

  it('never accepts a session id from the URL', async () => {
    const client = await sessionClient(app.url, 'alice');
    const value = client.cookies.get('keycard.sid')!;
    const res = await fetch(`${app.url}/graphql?keycard.sid=${value}&sid=${value}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ viewer { authenticated } }' }),
    });
    expect(await res.json()).toEqual({ data: { viewer: { authenticated: false } } });
  });

  it('issues a new session id at login, so a cookie held before login is worthless after it', async () => {
    const client = await sessionClient(app.url, 'bob');
    const before = client.cookieHeader();
    const res = await client.gql(LOGIN, { input: { ...DEMO.alice, mode: 'SESSION' } });
    expect(res.errors).toBeUndefined();
    expect(client.cookieHeader()).not.toBe(before);
    // The old id neither stays bob's nor became alice's.
    const old = await new Client(app.url).gql(ME, undefined, { cookie: before });
    expect(dataOf(old).viewer.authenticated).toBe(false);
    const now = await client.gql(ME);
    expect(dataOf(now).me?.name).toBe('Alice Member');
  });

  it('ends every session of a member the moment staff suspend them', async () => {
    const bobOnPhone = await sessionClient(app.url, 'bob');
    const bobOnLaptop = await sessionClient(app.url, 'bob');
    const staff = await sessionClient(app.url, 'staff');
    const bobId = (await bobOnPhone.gql('{ me { id } }')).data.me.id;
    const res = await staff.gql(`mutation($id: ID!) { setMemberStatus(memberId: $id, status: SUSPENDED) { status } }`, { id: bobId });
    expect(res.data.setMemberStatus.status).toBe('SUSPENDED');
    for (const device of [bobOnPhone, bobOnLaptop]) expect(dataOf(await device.gql(ME)).viewer.authenticated).toBe(false);
    const rows = (await app.database.sql.get('select count(*) n from sessions where member_id = (select id from members where email = ?)', 'bob@keycard.test')) as { n: number };
    expect(rows.n).toBe(0);
    await staff.gql(`mutation($id: ID!) { setMemberStatus(memberId: $id, status: ACTIVE) { status } }`, { id: bobId });
  });

  it('signs in a new member by session at signUp when asked to', async () => {
    const client = new Client(app.url);
    const res = await client.gql(SIGN_UP, { input: { email: 'Carol@Example.com', password: 'a long and unusual passphrase', name: 'Carol', mode: 'SESSION' } });
    expect(res.errors).toBeUndefined();
    expect(dataOf(res).signUp).toEqual({ method: 'SESSION', member: { name: 'Carol', email: 'carol@example.com', role: 'MEMBER', membership: null } });
    expect(dataOf(await client.gql(ME)).me?.email).toBe('carol@example.com');
  });
});

describe('session timeouts, enforced on the server', () => {
  // The default timeouts (30 minutes idle, 12 hours absolute), reached by moving the gym's clock, not by waiting.
  const clock = new TestClock();
  const app = useTestApp({ clock });

  const signedIn = async (cookie: string) => dataOf(await new Client(app.url).gql(ME, undefined, { cookie })).viewer.authenticated;

  it('ends a session left idle longer than the idle timeout, even if the client kept the cookie', async () => {
    const client = await sessionClient(app.url, 'alice');
    const cookie = client.cookieHeader();
    await clock.advance(app.config.sessionIdleTimeoutMs + 1_000);
    expect(await signedIn(cookie)).toBe(false);
  });

  it('slides the idle timeout on use but ends the session at the absolute timeout', async () => {
    const { sessionIdleTimeoutMs: idle, sessionAbsoluteTimeoutMs: absolute } = app.config;
    const client = await sessionClient(app.url, 'alice');
    const cookie = client.cookieHeader();
    // Used every two thirds of its idle timeout, the session outlives that timeout many times over...
    const everyUse = (idle * 2) / 3;
    let elapsed = 0;
    while (elapsed + everyUse < absolute) {
      await clock.advance(everyUse);
      elapsed += everyUse;
      expect(await signedIn(cookie)).toBe(true);
    }
    expect(elapsed).toBeGreaterThan(10 * idle);
    // ...but never its absolute one, however busy it is.
    await clock.advance(absolute - elapsed);
    expect(await signedIn(cookie)).toBe(false);
  });
});

describe('sessions in the database', () => {
  it('survive a server restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keycard-'));
    // On SQLite a file, on PostgreSQL a database of its own: either way, what the restarted server opens again.
    const database = await openTestDatabase({ file: path.join(dir, 'keycard.sqlite') });
    try {
      const first = await startTestApp({ database });
      const client = await sessionClient(first.url, 'staff');
      await first.close();

      const reopened = await openTestDatabase({ reopen: database });
      const second = await startTestApp({ database: reopened, seed: false });
      try {
        const res = await new Client(second.url).gql(ME, undefined, { cookie: client.cookieHeader() });
        expect(dataOf(res).viewer).toMatchObject({ authenticated: true, method: 'SESSION', role: 'STAFF' });
      } finally {
        await second.close();
        await reopened.close();
      }
    } finally {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
