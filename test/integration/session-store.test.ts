import { createHash } from 'node:crypto';
import type { SessionData } from 'express-session';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionStore } from '../../src/auth/session-store.js';
import { prepareData } from '../../src/seed.js';
import { openTestDatabase, TEST_ENGINE, type TestDatabase } from '../helpers/database.js';

const data = (memberId: number, expires: Date, ver = 0) =>
  ({ memberId, loginAt: Date.now(), ver, cookie: { expires, originalMaxAge: 60_000 } }) as unknown as SessionData;
/** What the table holds for a session id: its SHA-256, never the id. */
const key = (sid: string) => createHash('sha256').update(sid).digest('base64url');
const get = (store: SessionStore, sid: string) =>
  new Promise<SessionData | null | undefined>((resolve, reject) => store.get(sid, (err, value) => (err ? reject(err) : resolve(value))));
const call = (fn: (cb: (err?: unknown) => void) => void) => new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

describe(`the session store (${TEST_ENGINE})`, () => {
  let database: TestDatabase;
  let store: SessionStore;
  beforeEach(async () => {
    database = await openTestDatabase();
    await prepareData(database.data, { seedDemo: true, production: false });
    store = new SessionStore(database.data, { expiryOf: (d) => new Date(d.cookie.expires!).getTime() });
  });
  afterEach(() => database.close());

  it('stores, reads back and destroys a session', async () => {
    await call((cb) => store.set('s1', data(1, new Date(Date.now() + 60_000)), cb));
    expect((await get(store, 's1'))?.memberId).toBe(1);
    await call((cb) => store.destroy('s1', cb));
    expect(await get(store, 's1')).toBeNull();
  });

  it('treats an expired session as gone on read, and deletes it', async () => {
    await call((cb) => store.set('old', data(1, new Date(Date.now() - 1)), cb));
    expect(await get(store, 'old')).toBeNull();
    expect((await database.sql.get('select count(*) n from sessions'))).toEqual({ n: 0 });
  });

  it('stores a new session with the expiry its owner computes, and never overwrites a stored one', async () => {
    const soon = new Date(Date.now() + 1_000);
    await call((cb) => store.set('s2', data(1, soon), cb));
    await call((cb) => store.set('s2', data(2, new Date(Date.now() + 600_000)), cb));
    const row = (await database.sql.get('select member_id, expires_at from sessions where sid = ?', key('s2')));
    expect(row).toEqual({ member_id: 1, expires_at: soon.getTime() });
  });

  it("records activity on a live session, but never brings back one that was ended meanwhile", async () => {
    const later = Date.now() + 600_000;
    await call((cb) => store.set('live', data(1, new Date(Date.now() + 1_000)), cb));
    expect(await store.recordActivity('live', 1, data(1, new Date(later)), later)).toBe(true);
    expect((await database.sql.get('select expires_at from sessions where sid = ?', key('live')))).toEqual({ expires_at: later });
    // Another member's id never matches the row.
    expect(await store.recordActivity('live', 2, data(2, new Date(later)), later)).toBe(false);
    await call((cb) => store.set('ended', data(1, new Date(Date.now() + 1_000)), cb));
    expect(await database.data.sessions.deleteOf(1)).toBe(2);
    expect(await store.recordActivity('ended', 1, data(1, new Date(later)), later)).toBe(false);
    expect((await database.sql.get('select count(*) n from sessions'))).toEqual({ n: 0 });
  });

  it('has no touch, so express-session never writes a session that did not change', () => {
    expect('touch' in store).toBe(false);
  });

  it('sweeps expired rows and ends every session of a member', async () => {
    await call((cb) => store.set('dead', data(2, new Date(Date.now() - 1)), cb));
    await call((cb) => store.set('a', data(1, new Date(Date.now() + 60_000)), cb));
    await call((cb) => store.set('b', data(1, new Date(Date.now() + 60_000)), cb));
    await call((cb) => store.set('c', data(3, new Date(Date.now() + 60_000)), cb));
    await store.sweep();
    const sids = async () => ((await database.sql.all('select sid from sessions')) as { sid: string }[]).map((r) => r.sid).sort();
    expect(await sids()).toEqual(['a', 'b', 'c'].map(key).sort());
    expect(await database.data.sessions.deleteOf(1)).toBe(2);
    expect(await sids()).toEqual([key('c')]);
  });

  it('stores session ids hashed: the table never holds an id a browser could present', async () => {
    await call((cb) => store.set('the-real-session-id', data(1, new Date(Date.now() + 60_000)), cb));
    const dump = JSON.stringify((await database.sql.all('select * from sessions')));
    expect(dump).not.toContain('the-real-session-id');
    expect((await get(store, 'the-real-session-id'))?.memberId).toBe(1);
  });

  it('refuses to store a session whose credential version is no longer the member\'s (a password change came between)', async () => {
    (await database.sql.run('update members set token_version = token_version + 1 where id = 1'));
    await expect(call((cb) => store.set('stale', data(1, new Date(Date.now() + 60_000), 0), cb))).rejects.toThrow(/credentials changed/);
    expect(await get(store, 'stale')).toBeNull();
    await call((cb) => store.set('fresh', data(1, new Date(Date.now() + 60_000), 1), cb));
    expect((await get(store, 'fresh'))?.memberId).toBe(1);
  });
});
