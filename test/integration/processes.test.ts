import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type KeycardApp } from '../../src/app.js';
import { addSigningKey, loadKeyRing } from '../../src/auth/keys.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type GymData } from '../../src/db/client.js';
import { prepareData } from '../../src/seed.js';
import { logOptions } from '../../src/shared/logger.js';
import { freePort, TEST_SESSION_SECRET } from '../helpers/app.js';
import { Client, codes, DEMO, LOGIN, sessionClient, signInWithKeycard } from '../helpers/client.js';
import { createTestPgDatabase, TEST_DATABASE_URL, type TestPgDatabase } from '../helpers/pg.js';
import { CuttableProxy, startKeycardProcess, type KeycardProcess } from '../helpers/processes.js';
import { openSocket, until } from '../helpers/live.js';
import { decodeJwt } from '../helpers/tokens.js';

const REFRESH = `mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }`;
const VIEWER = '{ viewer { authenticated method role } }';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function tokenLogin(url: string, who: keyof typeof DEMO, password: string = DEMO[who].password) {
  return new Client(url).gql(LOGIN, { input: { email: DEMO[who].email, password, mode: 'TOKEN' } });
}

/**
 * Two real Keycard processes (A and B) on one PostgreSQL database, as two instances behind a load balancer: the same
 * PUBLIC_URL (the issuer every instance signs and checks), the same KEYS_DIR and SESSION_SECRET, strict revocation.
 */
describe.skipIf(!TEST_DATABASE_URL)('two Keycard processes on one PostgreSQL database', () => {
  let database: TestPgDatabase;
  let keysDir: string;
  let a: KeycardProcess;
  let b: KeycardProcess;

  beforeAll(async () => {
    database = await createTestPgDatabase();
    keysDir = mkdtempSync(path.join(tmpdir(), 'keycard-shared-keys-'));
    // The shared folder holds its key before either instance starts, as a deployment's mounted secret does.
    addSigningKey(keysDir);
    const env = {
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      PUBLIC_URL: 'https://gym.keycard.test',
      KEYS_DIR: keysDir,
      KEYS_RELOAD_INTERVAL: '1s',
      SESSION_SECRET: TEST_SESSION_SECRET,
      TOKEN_REVOCATION: 'strict',
      SEED_DEMO: 'true',
    };
    // Started together on an empty database: the migrations and the demo data must still be applied once.
    [a, b] = await Promise.all([startKeycardProcess(env), startKeycardProcess(env)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
    if (keysDir) rmSync(keysDir, { recursive: true, force: true });
  });

  it('seeded the demo once although both started on the empty database at the same moment', async () => {
    const staff = await sessionClient(a.url, 'staff');
    const members = await staff.gql('{ members(first: 50) { edges { node { email } } } }');
    const emails = members.data.members.edges.map((e: { node: { email: string } }) => e.node.email);
    expect(emails.filter((e: string) => e === DEMO.alice.email)).toHaveLength(1);
  });

  it('a session and a keycard from A work on B', async () => {
    const session = await sessionClient(a.url, 'staff');
    const onB = await new Client(b.url).gql(VIEWER, undefined, { cookie: session.cookieHeader() });
    expect(onB.data.viewer).toEqual({ authenticated: true, method: 'SESSION', role: 'STAFF' });
    const token = (await signInWithKeycard(a.url, 'alice')).accessToken;
    const withToken = await new Client(b.url).gql(VIEWER, undefined, bearer(token));
    expect(withToken.data.viewer).toEqual({ authenticated: true, method: 'TOKEN', role: 'MEMBER' });
  });

  it('logoutEverywhere on A ends the sessions and (strict) the keycards on B at once', async () => {
    const session = await sessionClient(a.url, 'alice');
    const token = (await signInWithKeycard(b.url, 'alice')).accessToken;
    const out = await session.gql('mutation { logoutEverywhere }');
    expect(out.data).toEqual({ logoutEverywhere: true });
    const bySession = await new Client(b.url).gql(VIEWER, undefined, { cookie: session.cookieHeader() || 'keycard.sid=gone' });
    expect(bySession.data.viewer.authenticated).toBe(false);
    const byToken = await new Client(b.url).gql(VIEWER, undefined, bearer(token));
    expect(byToken.data.viewer.authenticated).toBe(false);
  });

  it('the same refresh token spent on A and B at once has exactly one winner, and the family lives on', async () => {
    const { refreshToken } = await signInWithKeycard(a.url, 'bob');
    // bob's membership has expired, but he may still sign in: refreshing is about credentials, not the membership.
    const racers = Array.from({ length: 8 }, (_, i) => new Client(i % 2 ? b.url : a.url).gql(REFRESH, { t: refreshToken }));
    const results = await Promise.all(racers);
    const winners = results.filter((r) => !r.errors);
    expect(winners).toHaveLength(1);
    expect(new Set(results.filter((r) => r.errors).flatMap(codes))).toEqual(new Set(['UNAUTHENTICATED']));
    // The losers were within the grace window: the winner's new token still refreshes, on either instance.
    const next = await new Client(b.url).gql(REFRESH, { t: winners[0]!.data.refresh.refreshToken });
    expect(next.errors).toBeUndefined();
    const again = await new Client(a.url).gql(REFRESH, { t: next.data.refresh.refreshToken });
    expect(again.errors).toBeUndefined();
  });

  it('a check-in on B reaches a subscriber on A, and logoutEverywhere on B closes its socket on A within a second', async () => {
    const desk = await sessionClient(a.url, 'admin');
    const s = openSocket(a, { cookie: desk.cookieHeader(), origin: a.url });
    try {
      const feed = s.watch('subscription { checkIns { member { name } } }');
      await until(() => a.output().includes('"event":"subscription_start"'), 'the subscription to start on A');
      const alice = await sessionClient(b.url, 'alice');
      expect((await alice.gql('mutation { checkIn { id } }')).errors).toBeUndefined();
      expect(await feed.next()).toEqual({ data: { checkIns: { member: { name: 'Alice Member' } } } });
      const elsewhere = await sessionClient(b.url, 'admin');
      const at = Date.now();
      expect((await elsewhere.gql('mutation { logoutEverywhere }')).data).toEqual({ logoutEverywhere: true });
      const closed = await s.closed();
      expect(closed).toMatchObject({ code: 4403, reason: 'session_ended' });
      expect(closed.at - at).toBeLessThanOrEqual(1_000);
    } finally {
      await s.dispose();
    }
  });

  it('counts failed logins across processes: five failures spread over A and B lock the email on both', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await tokenLogin(i % 2 ? b.url : a.url, 'staff', `a wrong password number ${i}`);
      expect(codes(res)).toEqual(['INVALID_CREDENTIALS']);
    }
    for (const url of [a.url, b.url]) expect(codes(await tokenLogin(url, 'staff'))).toEqual(['RATE_LIMITED']);
  });

  it('a key rotated on the shared folder signs on A and verifies on B', async () => {
    const newKid = addSigningKey(keysDir);
    // A reads the folder again within its reload interval and signs with the newest key.
    let token = '';
    for (let i = 0; i < 40 && decodeJwt(token || 'e30.e30.x').header.kid !== newKid; i++) {
      await new Promise((r) => setTimeout(r, 250));
      token = (await signInWithKeycard(a.url, 'admin')).accessToken;
    }
    expect(decodeJwt(token).header.kid).toBe(newKid);
    // B meets the new kid on its first request and reads the folder for it.
    const onB = await new Client(b.url).gql(VIEWER, undefined, bearer(token));
    expect(onB.data.viewer).toEqual({ authenticated: true, method: 'TOKEN', role: 'ADMIN' });
  });
});

describe.skipIf(!TEST_DATABASE_URL)('WEB_CONCURRENCY=2: two workers on one port', () => {
  it('serves from both workers, and drains and exits cleanly on SIGTERM', async () => {
    const database = await createTestPgDatabase();
    const keysDir = mkdtempSync(path.join(tmpdir(), 'keycard-cluster-keys-'));
    try {
      const cluster = await startKeycardProcess({
        NODE_ENV: 'test',
        DATABASE_URL: database.url,
        KEYS_DIR: keysDir,
        SESSION_SECRET: TEST_SESSION_SECRET,
        WEB_CONCURRENCY: '2',
      });
      const session = await sessionClient(cluster.url, 'alice');
      // Connections are handed round to the workers: forty requests (each its own connection) reach both.
      for (let i = 0; i < 40; i++) {
        const res = await fetch(`${cluster.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie: session.cookieHeader(), connection: 'close' },
          body: JSON.stringify({ query: VIEWER }),
        });
        expect(((await res.json()) as { data: { viewer: { authenticated: boolean } } }).data.viewer.authenticated).toBe(true);
      }
      expect(await cluster.stop()).toBe(0);
      const workers = new Set(
        cluster
          .output()
          .split('\n')
          .filter((line) => line.includes('"operation"') || line.includes('"/graphql"'))
          .map((line) => /"worker":(\d+)/.exec(line)?.[1])
          .filter(Boolean),
      );
      expect(workers.size).toBe(2);
    } finally {
      await database.drop();
      rmSync(keysDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a single process on PostgreSQL stops within moments of SIGTERM, its sockets told and its database closed', async () => {
    const database = await createTestPgDatabase();
    const keysDir = mkdtempSync(path.join(tmpdir(), 'keycard-stop-keys-'));
    try {
      // Development, as on a laptop: Apollo's own signal handling would be on there, and must not stall the stop.
      const gym = await startKeycardProcess({ NODE_ENV: 'development', DATABASE_URL: database.url, KEYS_DIR: keysDir, SESSION_SECRET: TEST_SESSION_SECRET });
      const desk = await sessionClient(gym.url, 'staff');
      // A subscriber is told the gym is going away (1001: graphql-ws's client reconnects, to another instance).
      const s = openSocket(gym, { cookie: desk.cookieHeader(), origin: gym.url });
      s.watch('subscription { checkIns { at } }');
      await until(() => gym.output().includes('"event":"subscription_start"'), 'the subscription to start');
      const started = Date.now();
      expect(await gym.stop()).toBe(0);
      expect(await s.closed()).toMatchObject({ code: 1001 });
      await s.dispose();
      // The pool's idle connections would keep a process whose close never finished alive for ten seconds.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await database.drop();
      rmSync(keysDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses more than one worker on SQLite, saying why', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keycard-cluster-sqlite-'));
    try {
      await expect(startKeycardProcess({ DATABASE_URL: path.join(dir, 'keycard.sqlite'), WEB_CONCURRENCY: '2' })).rejects.toThrow(
        /WEB_CONCURRENCY: 2 workers need PostgreSQL/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * PostgreSQL goes away mid-run (a proxy between the gym and the server is cut: open connections drop, new ones are
 * refused) and comes back.
 */
describe.skipIf(!TEST_DATABASE_URL)('when PostgreSQL becomes unreachable and comes back', () => {
  let database: TestPgDatabase;
  let proxy: CuttableProxy;
  let data: GymData;
  let keycard: KeycardApp;
  let url: string;
  let keysDir: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    database = await createTestPgDatabase();
    const target = new URL(database.url);
    proxy = await CuttableProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(database.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    keysDir = mkdtempSync(path.join(tmpdir(), 'keycard-fault-keys-'));
    const port = await freePort();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: viaProxy.toString(),
      KEYS_DIR: keysDir,
      PORT: String(port),
      SESSION_SECRET: TEST_SESSION_SECRET,
      LOG_LEVEL: 'warn',
    });
    data = await openDatabase(config.databaseUrl, { poolSize: 4 });
    await prepareData(data, config);
    const logger = pino(logOptions(config.logLevel), new Writable({ write: (chunk, _encoding, done) => done(void logLines.push(String(chunk))) }));
    keycard = await createApp({ config, database: data, keyRing: loadKeyRing(keysDir, { createIfEmpty: true }), logger });
    await new Promise<void>((resolve) => keycard.httpServer.listen(port, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await keycard?.close();
    await data?.close();
    await proxy?.close();
    await database?.drop();
    rmSync(keysDir, { recursive: true, force: true });
  });

  it('answers 503 on /healthz and SERVICE_UNAVAILABLE to requests within a bound, then recovers by itself, losing nothing acknowledged', async () => {
    const alice = await sessionClient(url, 'alice');
    const acknowledged = await alice.gql('mutation { checkIn(door: "main") { id } }');
    expect(acknowledged.errors).toBeUndefined();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    proxy.cut();
    const started = Date.now();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    const during = await Promise.all([
      new Client(url).gql('{ plans { code } }'),
      alice.gql('{ me { name } }'),
      new Client(url).gql(LOGIN, { input: { ...DEMO.staff, mode: 'TOKEN' } }),
    ]);
    // Clean answers, each within the pool's connection timeout: no hang, no crash, no internals.
    expect(Date.now() - started).toBeLessThan(12_000);
    for (const res of during) {
      expect(codes(res)).toContain('SERVICE_UNAVAILABLE');
      expect(res.errors!.find((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE')!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
      expect(JSON.stringify(res)).not.toMatch(/ECONNREFUSED|postgres|stack|127\.0\.0\.1/i);
    }

    proxy.restore();
    let healthy = false;
    for (let i = 0; i < 40 && !healthy; i++) {
      healthy = (await fetch(`${url}/healthz`)).status === 200;
      if (!healthy) await new Promise((r) => setTimeout(r, 250));
    }
    expect(healthy).toBe(true);
    // The session and the check-in acknowledged before the outage are there.
    const after = await alice.gql('{ me { name checkIns(first: 5) { edges { node { id } } } } }');
    expect(after.errors).toBeUndefined();
    expect(after.data.me.checkIns.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(acknowledged.data.checkIn.id);

    // The failed queries were logged without the values bound to them (session hashes, emails, password hashes).
    const logs = logLines.join('');
    expect(logs).toMatch(/Failed query/);
    expect(logs).not.toMatch(/"params"|params: (?!\[redacted\])/);
    expect(logs).not.toContain(DEMO.staff.email);
  }, 60_000);
});
