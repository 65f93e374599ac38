import type { SessionData } from 'express-session';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteSessionStore } from '../../src/auth/session-store.js';
import { openDatabase, type GymDatabase } from '../../src/db/client.js';
import { prepareData } from '../../src/db/seed.js';

const data = (memberId: number, expires: Date) => ({ memberId, loginAt: Date.now(), cookie: { expires, originalMaxAge: 60_000 } }) as unknown as SessionData;
const get = (store: SqliteSessionStore, sid: string) =>
  new Promise<SessionData | null | undefined>((resolve, reject) => store.get(sid, (err, value) => (err ? reject(err) : resolve(value))));
const call = (fn: (cb: (err?: unknown) => void) => void) => new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

describe('the SQLite session store', () => {
  let database: GymDatabase;
  let store: SqliteSessionStore;
  beforeEach(async () => {
    database = openDatabase(':memory:');
    await prepareData(database.db, { seedDemo: true, production: false });
    store = new SqliteSessionStore(database.db, { expiryOf: (d) => new Date(d.cookie.expires!).getTime() });
  });
  afterEach(() => {
    store.close();
    database.close();
  });

  it('stores, reads back and destroys a session', async () => {
    await call((cb) => store.set('s1', data(1, new Date(Date.now() + 60_000)), cb));
    expect((await get(store, 's1'))?.memberId).toBe(1);
    await call((cb) => store.destroy('s1', cb));
    expect(await get(store, 's1')).toBeNull();
  });

  it('treats an expired session as gone on read, and deletes it', async () => {
    await call((cb) => store.set('old', data(1, new Date(Date.now() - 1)), cb));
    expect(await get(store, 'old')).toBeNull();
    expect(database.sqlite.prepare("select count(*) n from sessions where sid = 'old'").get()).toEqual({ n: 0 });
  });

  it('stores a new session with the expiry its owner computes, and never overwrites a stored one', async () => {
    const soon = new Date(Date.now() + 1_000);
    await call((cb) => store.set('s2', data(1, soon), cb));
    await call((cb) => store.set('s2', data(2, new Date(Date.now() + 600_000)), cb));
    const row = database.sqlite.prepare("select member_id, expires_at from sessions where sid = 's2'").get();
    expect(row).toEqual({ member_id: 1, expires_at: soon.getTime() });
  });

  it("records activity on a live session, but never brings back one that was ended meanwhile", async () => {
    const later = Date.now() + 600_000;
    await call((cb) => store.set('live', data(1, new Date(Date.now() + 1_000)), cb));
    expect(store.recordActivity('live', 1, data(1, new Date(later)), later)).toBe(true);
    expect(database.sqlite.prepare("select expires_at from sessions where sid = 'live'").get()).toEqual({ expires_at: later });
    // Another member's id never matches the row.
    expect(store.recordActivity('live', 2, data(2, new Date(later)), later)).toBe(false);
    await call((cb) => store.set('ended', data(1, new Date(Date.now() + 1_000)), cb));
    expect(store.destroyAllFor(1, 'live')).toBe(1);
    expect(store.recordActivity('ended', 1, data(1, new Date(later)), later)).toBe(false);
    expect(database.sqlite.prepare("select count(*) n from sessions where sid = 'ended'").get()).toEqual({ n: 0 });
  });

  it('has no touch, so express-session never writes a session that did not change', () => {
    expect('touch' in store).toBe(false);
  });

  it('sweeps expired rows and ends every session of a member but the one to keep', async () => {
    await call((cb) => store.set('dead', data(2, new Date(Date.now() - 1)), cb));
    await call((cb) => store.set('a', data(1, new Date(Date.now() + 60_000)), cb));
    await call((cb) => store.set('b', data(1, new Date(Date.now() + 60_000)), cb));
    await call((cb) => store.set('c', data(1, new Date(Date.now() + 60_000)), cb));
    store.sweep();
    expect(database.sqlite.prepare('select sid from sessions order by sid').all()).toEqual([{ sid: 'a' }, { sid: 'b' }, { sid: 'c' }]);
    expect(store.destroyAllFor(1, 'b')).toBe(2);
    expect(database.sqlite.prepare('select sid from sessions').all()).toEqual([{ sid: 'b' }]);
  });
});
