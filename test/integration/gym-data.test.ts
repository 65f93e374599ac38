import { RateLimiterDrizzle } from 'rate-limiter-flexible';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine, GymData, GymQueries, NewCheckIn, NewRefreshToken, OidcRecordRow } from '../../src/db/data.js';
import { openPgGymData } from '../../src/db/pg-data.js';
import { openSqliteGymData } from '../../src/db/sqlite-data.js';
import { createTestPgDatabase, TEST_DATABASE_URL } from '../helpers/pg.js';

/**
 * One suite, both engines: every statement of the gym's data layer gives the same answer on SQLite and on PostgreSQL
 * (the same rows, in the same order, the same undefined, true or count), and an atomic step is atomic on both. Each test
 * gets a fresh database through the real migrations. Every call is awaited, which serves either engine.
 */

interface Opened {
  data: GymData;
  close(): Promise<void>;
}

const T0 = Date.parse('2026-11-26T06:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

const openSqlite = async (): Promise<Opened> => {
  const data = openSqliteGymData(':memory:');
  return { data, close: () => data.close() };
};

const openPostgres = async (): Promise<Opened> => {
  const database = await createTestPgDatabase();
  try {
    const data = await openPgGymData(database.url, { poolSize: 4 });
    return {
      data,
      async close() {
        await data.close();
        await database.drop();
      },
    };
  } catch (err) {
    await database.drop();
    throw err;
  }
};

describe('the gym data on SQLite', () => {
  suite('sqlite', openSqlite);

  it('stops, rather than waits for ever, a step that awaits the store outside its transaction, or a step within it', async () => {
    const { data, close } = await openSqlite();
    try {
      // The connection is the step's until it ends: the store's own statements, or another step, wait for the step
      // that awaits them. The deadline rolls it back and lets go of the connection.
      await expect(data.atomically(async (tx) => (await tx.members.insert({ email: 'stuck@keycard.test', name: 'Stuck', passwordHash: 'x', createdAt: at(0) }), await data.members.any()))).rejects.toThrow(
        /held the database/,
      );
      await expect(data.atomically(async () => data.atomically(async (tx) => tx.members.any()))).rejects.toThrow(/held the database/);
      // Nothing the stuck step wrote stayed, and the connection is free again.
      expect(await data.members.byEmail('stuck@keycard.test')).toBeUndefined();
      expect(await data.atomically(async (tx) => tx.members.any())).toBe(false);
    } finally {
      await close();
    }
  });
});
describe.skipIf(!TEST_DATABASE_URL)('the gym data on PostgreSQL', () => {
  suite('postgres', openPostgres);

  it('opens on an empty database from several processes starting at once, the migrations applied once', async () => {
    const database = await createTestPgDatabase();
    try {
      const gyms = await Promise.all(Array.from({ length: 4 }, () => openPgGymData(database.url, { poolSize: 1 })));
      try {
        await gyms[0]!.members.insert({ email: 'first@keycard.test', name: 'First', passwordHash: 'x', createdAt: at(0) });
        for (const gym of gyms) expect(await gym.members.byEmail('first@keycard.test')).toMatchObject({ name: 'First' });
      } finally {
        await Promise.all(gyms.map((gym) => gym.close()));
      }
    } finally {
      await database.drop();
    }
  });
});

function suite(engine: Engine, open: () => Promise<Opened>): void {
  let opened: Opened;
  let data: GymData;
  beforeEach(async () => {
    opened = await open();
    data = opened.data;
  });
  afterEach(async () => {
    await opened?.close();
  });

  const member = async (email: string, name = email.split('@')[0]!, extra: { role?: 'MEMBER' | 'STAFF' | 'ADMIN' } = {}) => {
    const row = await data.members.insert({ email, name, passwordHash: `hash:${email}`, createdAt: at(0), ...extra });
    if (!row) throw new Error(`${email} is taken`);
    return row;
  };
  const byId = <T extends { id: number }>(rows: T[]) => [...rows].sort((a, b) => a.id - b.id);

  it('is the engine it says, and healthy', async () => {
    expect(data.engine).toBe(engine);
    expect(await data.healthy()).toBe(true);
  });

  describe('members', () => {
    it('inserts a member with the defaults, and refuses a taken email whatever its case', async () => {
      expect(await data.members.any()).toBe(false);
      const alice = await member('alice@keycard.test', 'Alice');
      expect(alice).toEqual({
        id: alice.id,
        email: 'alice@keycard.test',
        name: 'Alice',
        passwordHash: 'hash:alice@keycard.test',
        role: 'MEMBER',
        status: 'ACTIVE',
        createdAt: at(0),
        tokenVersion: 0,
      });
      expect(await data.members.any()).toBe(true);
      expect(await data.members.insert({ email: 'ALICE@Keycard.test', name: 'Other', passwordHash: 'x', createdAt: at(1) })).toBeUndefined();
      expect(await data.members.byEmail('alice@keycard.test')).toEqual(alice);
      // Matched on lower(email), as the unique index is: a row stored before normalization is still found.
      const mixed = await member('Mixed@Keycard.Test');
      expect(await data.members.byEmail('mixed@keycard.test')).toEqual(mixed);
      expect(await data.members.byEmail('nobody@keycard.test')).toBeUndefined();
    });

    it('reads members by id, one or many, and their standing', async () => {
      const a = await member('a@keycard.test');
      const b = await member('b@keycard.test', 'B', { role: 'STAFF' });
      expect(await data.members.byId(b.id)).toEqual(b);
      expect(await data.members.byId(b.id + 100)).toBeUndefined();
      expect(byId(await data.members.byIds([b.id, a.id, b.id + 100]))).toEqual([a, b]);
      expect(await data.members.byIds([])).toEqual([]);
      expect(await data.members.standing(b.id)).toEqual({ role: 'STAFF', status: 'ACTIVE', tokenVersion: 0 });
      expect(await data.members.standing(b.id + 100)).toBeUndefined();
    });

    it('lists members by id after a cursor, matching a LIKE pattern with its escape against lower(name) and email', async () => {
      const ann = await member('ann@gym.test', 'Ann Under_score');
      const bob = await member('bob@keycard.test', 'Bob Underxscore');
      const cat = await member('cat@gym.test', 'Cat 100%');
      const dan = await member('dan@keycard.test', 'DAN');
      const eve = await member('eve@keycard.test', 'Eve \\ Bang!');
      const ids = (rows: { id: number }[]) => rows.map((r) => r.id);
      expect(ids(await data.members.list({ afterId: null, pattern: null, limit: 10 }))).toEqual([ann.id, bob.id, cat.id, dan.id, eve.id]);
      // The escape character itself, escaped; a backslash is an ordinary character, whatever the server's settings.
      expect(ids(await data.members.list({ afterId: null, pattern: '%bang!!%', limit: 10 }))).toEqual([eve.id]);
      expect(ids(await data.members.list({ afterId: null, pattern: '%\\ bang%', limit: 10 }))).toEqual([eve.id]);
      expect(ids(await data.members.list({ afterId: ann.id, pattern: null, limit: 2 }))).toEqual([bob.id, cat.id]);
      expect(ids(await data.members.list({ afterId: null, pattern: '%under!_score%', limit: 10 }))).toEqual([ann.id]);
      expect(ids(await data.members.list({ afterId: null, pattern: '%under_score%', limit: 10 }))).toEqual([ann.id, bob.id]);
      expect(ids(await data.members.list({ afterId: null, pattern: '%100!%%', limit: 10 }))).toEqual([cat.id]);
      expect(ids(await data.members.list({ afterId: null, pattern: '%@gym.test', limit: 10 }))).toEqual([ann.id, cat.id]);
      expect(ids(await data.members.list({ afterId: ann.id, pattern: '%@gym.test', limit: 10 }))).toEqual([cat.id]);
      // The name is lowered; so is an upper-case pattern, on either engine (SQLite's LIKE ignores ASCII case).
      expect(ids(await data.members.list({ afterId: null, pattern: 'dan', limit: 10 }))).toEqual([dan.id]);
      expect(ids(await data.members.list({ afterId: null, pattern: 'DAN%', limit: 10 }))).toEqual([dan.id]);
      expect(await data.members.list({ afterId: null, pattern: 'nobody%', limit: 10 })).toEqual([]);
    });

    it('updates a member, and counts the other active admins', async () => {
      const admin = await member('admin@keycard.test', 'Admin', { role: 'ADMIN' });
      const other = await member('other@keycard.test');
      expect(await data.members.countActiveAdminsBesides(admin.id)).toBe(0);
      expect(await data.members.update(other.id, { role: 'ADMIN' })).toEqual({ ...other, role: 'ADMIN' });
      expect(await data.members.countActiveAdminsBesides(admin.id)).toBe(1);
      expect(await data.members.countActiveAdminsBesides(other.id)).toBe(1);
      expect(await data.members.update(other.id, { status: 'SUSPENDED' })).toEqual({ ...other, role: 'ADMIN', status: 'SUSPENDED' });
      expect(await data.members.countActiveAdminsBesides(admin.id)).toBe(0);
      expect(await data.members.update(other.id + 100, { role: 'STAFF' })).toBeUndefined();
    });

    it('sets a password only at the current credential version of an active member, and bumps the version', async () => {
      const m = await member('pw@keycard.test');
      expect(await data.members.setPasswordIfCurrent(m.id, 0, 'new-hash')).toBe(true);
      expect((await data.members.byId(m.id))!.passwordHash).toBe('new-hash');
      expect(await data.members.bumpCredentialVersion(m.id)).toBe(1);
      expect(await data.members.bumpCredentialVersion(m.id)).toBe(2);
      // The version moved on: a change decided at version 0 no longer holds.
      expect(await data.members.setPasswordIfCurrent(m.id, 0, 'stale-hash')).toBe(false);
      expect(await data.members.setPasswordIfCurrent(m.id, 2, 'newer-hash')).toBe(true);
      await data.members.update(m.id, { status: 'SUSPENDED' });
      expect(await data.members.setPasswordIfCurrent(m.id, 2, 'suspended-hash')).toBe(false);
      expect(await data.members.byId(m.id)).toMatchObject({ passwordHash: 'newer-hash', tokenVersion: 2 });
      expect(await data.members.bumpCredentialVersion(m.id + 100)).toBeUndefined();
      expect(await data.members.setPasswordIfCurrent(m.id + 100, 0, 'x')).toBe(false);
    });
  });

  describe('plans and memberships', () => {
    const PLANS = [
      { code: 'ALL_HOURS' as const, name: 'All hours', allHours: true, monthlyPriceCents: 4900 },
      { code: 'BASIC' as const, name: 'Basic', allHours: false, monthlyPriceCents: 2900 },
    ];

    it('adds the missing plans only, lists them by price, and finds them by code and id', async () => {
      await data.plans.ensure([PLANS[0]!]);
      await data.plans.ensure([{ ...PLANS[0]!, name: 'Renamed' }, PLANS[1]!]);
      const all = await data.plans.all();
      expect(all.map(({ id: _, ...plan }) => plan)).toEqual([PLANS[1], PLANS[0]]);
      const basic = all[0]!;
      expect(await data.plans.byCode('BASIC')).toEqual(basic);
      expect(byId(await data.plans.byIds([all[1]!.id, basic.id, 999]))).toEqual(byId(all));
      expect(await data.plans.byIds([])).toEqual([]);
    });

    it('gives a member a plan, then replaces it', async () => {
      await data.plans.ensure(PLANS);
      const basic = (await data.plans.byCode('BASIC'))!;
      const allHours = (await data.plans.byCode('ALL_HOURS'))!;
      const a = await member('a@keycard.test');
      const b = await member('b@keycard.test');
      const first = { memberId: a.id, planId: basic.id, validUntil: at(60 * 24 * 30), updatedAt: at(0) };
      expect(await data.memberships.upsert(first)).toEqual(first);
      const second = { memberId: a.id, planId: allHours.id, validUntil: at(60 * 24 * 60), updatedAt: at(5) };
      expect(await data.memberships.upsert(second)).toEqual(second);
      const other = { memberId: b.id, planId: basic.id, validUntil: at(10), updatedAt: at(1) };
      await data.memberships.upsert(other);
      const rows = await data.memberships.byMemberIds([b.id, a.id, 999]);
      expect([...rows].sort((x, y) => x.memberId - y.memberId)).toEqual([second, other]);
      expect(await data.memberships.byMemberIds([])).toEqual([]);
    });
  });

  describe('the access sheet', () => {
    /** Alternating check-ins of two members, a minute apart: ids ascending with time. */
    async function sheet() {
      const a = await member('a@keycard.test');
      const b = await member('b@keycard.test');
      const rows: NewCheckIn[] = Array.from({ length: 7 }, (_, i) => ({ memberId: i % 2 === 0 ? a.id : b.id, at: at(i), door: i === 3 ? null : `door ${i}`, method: i % 3 === 0 ? 'TOKEN' : 'SESSION' }));
      await data.checkIns.insertMany(rows);
      await data.checkIns.insertMany([]);
      const all = await data.checkIns.sheet({ memberId: null, beforeId: null, limit: 100 });
      return { a, b, all };
    }

    it('pages the sheet newest first, everyone or one member, from the top or before a check-in', async () => {
      const { a, all } = await sheet();
      expect(all).toHaveLength(7);
      expect(all.map((c) => c.at)).toEqual(Array.from({ length: 7 }, (_, i) => at(6 - i)));
      expect(all[3]).toEqual({ id: all[3]!.id, memberId: all[3]!.memberId, at: at(3), door: null, method: 'TOKEN' });
      expect(await data.checkIns.sheet({ memberId: null, beforeId: null, limit: 3 })).toEqual(all.slice(0, 3));
      expect(await data.checkIns.sheet({ memberId: null, beforeId: all[2]!.id, limit: 3 })).toEqual(all.slice(3, 6));
      const ofA = all.filter((c) => c.memberId === a.id);
      expect(ofA).toHaveLength(4);
      expect(await data.checkIns.sheet({ memberId: a.id, beforeId: null, limit: 2 })).toEqual(ofA.slice(0, 2));
      expect(await data.checkIns.sheet({ memberId: a.id, beforeId: ofA[1]!.id, limit: 10 })).toEqual(ofA.slice(2));
      expect(await data.checkIns.sheet({ memberId: a.id + 100, beforeId: null, limit: 10 })).toEqual([]);
      expect(byId(await data.checkIns.byIds([all[0]!.id, all[6]!.id, 9999]))).toEqual(byId([all[0]!, all[6]!]));
      expect(await data.checkIns.byIds([])).toEqual([]);
    });

    it("gives up to a limit of each member's check-ins, by member, newest first", async () => {
      const { a, b, all } = await sheet();
      const ofA = all.filter((c) => c.memberId === a.id);
      const ofB = all.filter((c) => c.memberId === b.id);
      expect(await data.checkIns.pages([b.id, a.id], { limit: 2, beforeId: null })).toEqual([...ofA.slice(0, 2), ...ofB.slice(0, 2)]);
      expect(await data.checkIns.pages([a.id], { limit: 10, beforeId: ofA[0]!.id })).toEqual(ofA.slice(1));
      expect(await data.checkIns.pages([a.id, b.id], { limit: 1, beforeId: all[1]!.id })).toEqual([ofA[1]!, ofB[1]!].sort((x, y) => x.memberId - y.memberId));
      expect(await data.checkIns.pages([], { limit: 5, beforeId: null })).toEqual([]);
    });

    it("finds a member's newest check-in after an instant, and inserts one, returned whole", async () => {
      const { a, all } = await sheet();
      const newestOfA = all.find((c) => c.memberId === a.id)!;
      expect(await data.checkIns.lastSince(a.id, at(5))).toEqual(newestOfA);
      expect(await data.checkIns.lastSince(a.id, at(6))).toBeUndefined();
      const row = await data.checkIns.insert({ memberId: a.id, at: at(20), door: 'Front', method: 'SESSION' });
      expect(row).toEqual({ id: row.id, memberId: a.id, at: at(20), door: 'Front', method: 'SESSION' });
      expect(row.id).toBeGreaterThan(all[0]!.id);
      expect(await data.checkIns.lastSince(a.id, at(6))).toEqual(row);
    });
  });

  describe('sessions', () => {
    it('stores a session once, records activity only over a row still there and still the member’s, and deletes them', async () => {
      const m = await member('s@keycard.test');
      const other = await member('o@keycard.test');
      const record = { key: 'k1', memberId: m.id, data: '{"n":1}', expiresAt: T0 + 1_000 };
      await data.sessions.insert(record);
      expect(await data.sessions.byKey('k1')).toEqual({ data: '{"n":1}', expiresAt: T0 + 1_000 });
      // A row already under the key is left alone.
      await data.sessions.insert({ ...record, data: '{"n":"other"}' });
      expect(await data.sessions.byKey('k1')).toEqual({ data: '{"n":1}', expiresAt: T0 + 1_000 });
      expect(await data.sessions.recordActivity({ ...record, data: '{"n":2}', expiresAt: T0 + 2_000 })).toBe(true);
      expect(await data.sessions.byKey('k1')).toEqual({ data: '{"n":2}', expiresAt: T0 + 2_000 });
      expect(await data.sessions.recordActivity({ ...record, memberId: other.id, data: '{"n":3}' })).toBe(false);
      await data.sessions.delete('k1');
      expect(await data.sessions.recordActivity({ ...record, data: '{"n":4}' })).toBe(false);
      expect(await data.sessions.byKey('k1')).toBeUndefined();

      await data.sessions.insert({ key: 'm1', memberId: m.id, data: '{}', expiresAt: T0 });
      await data.sessions.insert({ key: 'm2', memberId: m.id, data: '{}', expiresAt: T0 + 5_000 });
      await data.sessions.insert({ key: 'o1', memberId: other.id, data: '{}', expiresAt: T0 });
      await data.sessions.insert({ key: 'o2', memberId: other.id, data: '{}', expiresAt: T0 + 5_000 });
      expect(await data.sessions.deleteOf(m.id)).toBe(2);
      expect(await data.sessions.deleteOf(m.id)).toBe(0);
      await data.sessions.deleteExpired(T0);
      expect(await data.sessions.byKey('o1')).toBeUndefined();
      expect(await data.sessions.byKey('o2')).toEqual({ data: '{}', expiresAt: T0 + 5_000 });
    });
  });

  describe('refresh tokens', () => {
    const token = (memberId: number, values: Partial<NewRefreshToken> & Pick<NewRefreshToken, 'tokenHash' | 'familyId'>): NewRefreshToken => ({
      familyHash: `fh:${values.familyId}`,
      credentialVersion: 0,
      memberId,
      parentId: null,
      issuedAt: at(0),
      expiresAt: at(60),
      ...values,
    });

    it('reads, spends, chains and prunes a family', async () => {
      const m = await member('r@keycard.test');
      await data.refresh.insert(token(m.id, { tokenHash: 't1', familyId: 'F' }));
      const t1 = (await data.refresh.byHash('t1'))!;
      expect(t1).toEqual({ id: t1.id, tokenHash: 't1', familyId: 'F', familyHash: 'fh:F', memberId: m.id, parentId: null, issuedAt: at(0), expiresAt: at(60), spentAt: null, revokedAt: null, credentialVersion: 0 });
      expect(await data.refresh.byHash('nope')).toBeUndefined();
      expect(await data.refresh.liveMember('t1', at(1))).toBe(m.id);
      expect(await data.refresh.liveMember('t1', at(60))).toBeUndefined();
      expect(await data.refresh.familyByHash('fh:F')).toBe('F');
      expect(await data.refresh.familyByHash('fh:none')).toBeUndefined();
      expect(await data.refresh.familyHashOf('F')).toBe('fh:F');
      expect(await data.refresh.familyHashOf('nope')).toBeUndefined();
      expect(await data.refresh.familyOfToken('t1', null)).toBe('F');
      expect(await data.refresh.familyOfToken('unknown', 'fh:F')).toBe('F');
      expect(await data.refresh.familyOfToken('unknown', null)).toBeUndefined();
      expect(await data.refresh.child(t1.id)).toBeUndefined();

      await data.refresh.spend(t1.id, at(2));
      expect(await data.refresh.liveMember('t1', at(3))).toBeUndefined();
      await data.refresh.insert(token(m.id, { tokenHash: 't2', familyId: 'F', parentId: t1.id, issuedAt: at(2) }));
      const t2 = (await data.refresh.child(t1.id))!;
      expect(t2).toMatchObject({ tokenHash: 't2', parentId: t1.id, spentAt: null });
      await data.refresh.spend(t2.id, at(3));
      await data.refresh.insert(token(m.id, { tokenHash: 't3', familyId: 'F', parentId: t2.id, issuedAt: at(3) }));
      const t3 = (await data.refresh.byHash('t3'))!;
      // The chain keeps the newest and its parent; a row without the family hash (written before there was one) stays.
      await data.refresh.insert(token(m.id, { tokenHash: 'old', familyId: 'F', familyHash: null as unknown as string }));
      await data.refresh.pruneChain('F', t2.id);
      expect(await data.refresh.byHash('t1')).toBeUndefined();
      expect(await data.refresh.byHash('t2')).toMatchObject({ tokenHash: 't2', familyId: 'F', spentAt: at(3) });
      expect(await data.refresh.byHash('t3')).toEqual(t3);
      expect(await data.refresh.byHash('old')).toMatchObject({ tokenHash: 'old', familyId: 'F', familyHash: null });

      await data.refresh.rebindFamily(m.id, 'F', 7);
      expect((await data.refresh.byHash('t3'))!.credentialVersion).toBe(7);
      await data.refresh.rebindFamily(m.id + 100, 'F', 9);
      expect((await data.refresh.byHash('t3'))!.credentialVersion).toBe(7);
    });

    it("lists a member's live families, most recently used first, and deletes families by member, by id or all but some", async () => {
      const m = await member('f@keycard.test');
      const other = await member('g@keycard.test');
      await data.refresh.insert(token(m.id, { tokenHash: 'a', familyId: 'A', issuedAt: at(1) }));
      await data.refresh.insert(token(m.id, { tokenHash: 'b', familyId: 'B', issuedAt: at(3) }));
      await data.refresh.insert(token(m.id, { tokenHash: 'c', familyId: 'C', issuedAt: at(2) }));
      await data.refresh.insert(token(m.id, { tokenHash: 'd', familyId: 'D', issuedAt: at(3) }));
      await data.refresh.insert(token(m.id, { tokenHash: 'e', familyId: 'E', issuedAt: at(4), expiresAt: at(5) }));
      await data.refresh.insert(token(other.id, { tokenHash: 'x', familyId: 'X', issuedAt: at(9) }));
      // Same instant: the later row first.
      expect(await data.refresh.liveFamilies(m.id, at(10), 10)).toEqual(['D', 'B', 'C', 'A']);
      expect(await data.refresh.liveFamilies(m.id, at(4), 10)).toEqual(['E', 'D', 'B', 'C', 'A']);
      expect(await data.refresh.liveFamilies(m.id, at(10), 2)).toEqual(['D', 'B']);

      await data.refresh.deleteFamily('A', other.id);
      expect(await data.refresh.byHash('a')).toMatchObject({ tokenHash: 'a', familyId: 'A', memberId: m.id });
      await data.refresh.deleteFamily('A', m.id);
      expect(await data.refresh.byHash('a')).toBeUndefined();
      await data.refresh.deleteFamily('B');
      expect(await data.refresh.byHash('b')).toBeUndefined();

      await data.refresh.deleteFamiliesBut(m.id, ['C']);
      expect(await data.refresh.liveFamilies(m.id, at(0), 10)).toEqual(['C']);
      expect(await data.refresh.byHash('x')).toMatchObject({ tokenHash: 'x', familyId: 'X', memberId: other.id });
      await data.refresh.insert(token(m.id, { tokenHash: 'c2', familyId: 'C2' }));
      expect(await data.refresh.deleteFamiliesOf(m.id, 'C')).toBe(1);
      expect(await data.refresh.deleteFamiliesOf(m.id)).toBe(1);
      await data.refresh.deleteFamiliesBut(other.id, []);
      expect(await data.refresh.byHash('x')).toBeUndefined();
    });

    it('sweeps the expired and the revoked', async () => {
      const m = await member('d@keycard.test');
      await data.refresh.insert(token(m.id, { tokenHash: 'expired', familyId: 'A', expiresAt: at(5) }));
      await data.refresh.insert(token(m.id, { tokenHash: 'live', familyId: 'B', expiresAt: at(50) }));
      await data.refresh.deleteDead(at(5));
      expect(await data.refresh.byHash('expired')).toBeUndefined();
      expect(await data.refresh.byHash('live')).toMatchObject({ tokenHash: 'live', familyId: 'B', expiresAt: at(50) });
    });
  });

  describe('the login throttle', () => {
    it('counts failures by email or address after an instant, finds the n-th newest, and deletes them', async () => {
      const ids: number[] = [];
      for (const [email, address, t] of [
        ['a@keycard.test', '10.0.0.1', 100],
        ['a@keycard.test', '10.0.0.2', 300],
        ['a@keycard.test', '10.0.0.1', 200],
        ['b@keycard.test', '10.0.0.1', 300],
      ] as const) {
        ids.push(await data.throttle.insertFailure({ email, address, at: T0 + t }));
      }
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(new Set(ids).size).toBe(4);
      expect(await data.throttle.countFailures('email', 'a@keycard.test', T0)).toBe(3);
      expect(await data.throttle.countFailures('email', 'a@keycard.test', T0 + 100)).toBe(2);
      expect(await data.throttle.countFailures('address', '10.0.0.1', T0)).toBe(3);
      expect(await data.throttle.countFailures('email', 'nobody@keycard.test', 0)).toBe(0);
      expect(await data.throttle.nthNewestFailureAt('email', 'a@keycard.test', T0, 1)).toBe(T0 + 300);
      expect(await data.throttle.nthNewestFailureAt('email', 'a@keycard.test', T0, 2)).toBe(T0 + 200);
      expect(await data.throttle.nthNewestFailureAt('address', '10.0.0.1', T0, 1)).toBe(T0 + 300);
      expect(await data.throttle.nthNewestFailureAt('email', 'a@keycard.test', T0, 4)).toBeUndefined();

      await data.throttle.deleteFailure(ids[1]!);
      expect(await data.throttle.nthNewestFailureAt('email', 'a@keycard.test', T0, 1)).toBe(T0 + 200);
      await data.throttle.deleteFailuresBefore(T0 + 100);
      expect(await data.throttle.countFailures('address', '10.0.0.1', 0)).toBe(2);
      await data.throttle.deleteFailuresOf('a@keycard.test');
      expect(await data.throttle.countFailures('email', 'a@keycard.test', 0)).toBe(0);
      expect(await data.throttle.countFailures('email', 'b@keycard.test', 0)).toBe(1);
    });
  });

  describe('rate limits', () => {
    /** The store's Drizzle client and table, as rate-limiter-flexible uses them: awaited, on either engine. */
    const store = () => data.rateLimitStore as { storeClient: { insert(table: unknown): { values(rows: unknown[]): PromiseLike<unknown> } }; schema: unknown };

    it('sweeps expired counters a batch at a time, leaving the live and the unbounded', async () => {
      const now = new Date(T0);
      const rows = [
        ...Array.from({ length: 5 }, (_, i) => ({ key: `old:${i}`, points: 1, expire: new Date(T0 - 1_000 * i) })),
        { key: 'live', points: 1, expire: new Date(T0 + 1_000) },
        { key: 'forever', points: 1, expire: null },
      ];
      await store().storeClient.insert(store().schema).values(rows);
      expect(await data.throttle.deleteExpiredRateLimits(now, 2)).toBe(2);
      expect(await data.throttle.deleteExpiredRateLimits(now, 2)).toBe(2);
      expect(await data.throttle.deleteExpiredRateLimits(now, 2)).toBe(1);
      expect(await data.throttle.deleteExpiredRateLimits(now, 2)).toBe(0);
      expect(await data.throttle.deleteExpiredRateLimits(new Date(T0 + 1_000), 10)).toBe(1);
    });

    it("is a store rate-limiter-flexible counts in", async () => {
      const limiter = new RateLimiterDrizzle({ ...data.rateLimitStore, keyPrefix: 'test', points: 2, duration: 60, clearExpiredByTimeout: false } as never);
      await limiter.consume('someone');
      const second = await limiter.consume('someone');
      expect(second.remainingPoints).toBe(0);
      await expect(limiter.consume('someone')).rejects.toMatchObject({ remainingPoints: 0 });
      expect((await limiter.consume('someone else')).remainingPoints).toBe(1);
    });
  });

  describe("the OpenID Provider's records", () => {
    const record = (key: string, extra: Partial<OidcRecordRow> = {}): OidcRecordRow => ({
      key,
      model: 'AccessToken',
      payload: JSON.stringify({ kind: 'AccessToken', key }),
      memberId: null,
      grantId: null,
      uid: null,
      userCode: null,
      expiresAt: T0 + 60_000,
      consumedAt: null,
      ...extra,
    });

    it('stores, replaces, finds by key, uid and user code, and consumes a record', async () => {
      await data.oidc.upsert(record('a', { model: 'Session', uid: 'u1' }));
      await data.oidc.upsert(record('a', { model: 'Session', uid: 'u1', payload: '{"again":true}' }));
      expect(await data.oidc.byKey('a')).toEqual(record('a', { model: 'Session', uid: 'u1', payload: '{"again":true}' }));
      expect((await data.oidc.byUid('Session', 'u1'))?.key).toBe('a');
      expect(await data.oidc.byUid('Interaction', 'u1')).toBeUndefined();
      await data.oidc.upsert(record('b', { model: 'DeviceCode', userCode: 'ABCD' }));
      expect((await data.oidc.byUserCode('DeviceCode', 'ABCD'))?.key).toBe('b');
      expect(await data.oidc.consume('b', T0)).toBe(true);
      expect((await data.oidc.byKey('b'))?.consumedAt).toBe(T0);
      // Consumed once: a second consume (a code or refresh token presented again) is told so, and changes nothing.
      expect(await data.oidc.consume('b', T0 + 1000)).toBe(false);
      expect((await data.oidc.byKey('b'))?.consumedAt).toBe(T0);
      expect(await data.oidc.consume('missing', T0)).toBe(false);
      await data.oidc.delete('a');
      expect(await data.oidc.byKey('a')).toBeUndefined();
    });

    it("finds a grant's records of one model consumed at an instant or later, and no others", async () => {
      await data.oidc.upsert(record('r0', { model: 'RefreshToken', grantId: 'g1', consumedAt: T0 - 1 }));
      await data.oidc.upsert(record('r1', { model: 'RefreshToken', grantId: 'g1', consumedAt: T0 }));
      await data.oidc.upsert(record('r2', { model: 'RefreshToken', grantId: 'g1', consumedAt: T0 + 1 }));
      await data.oidc.upsert(record('r3', { model: 'RefreshToken', grantId: 'g1' }));
      await data.oidc.upsert(record('code', { model: 'AuthorizationCode', grantId: 'g1', consumedAt: T0 }));
      await data.oidc.upsert(record('other', { model: 'RefreshToken', grantId: 'g2', consumedAt: T0 }));
      const keys = (await data.oidc.consumedSince('RefreshToken', 'g1', T0)).map((row) => row.key).sort();
      expect(keys).toEqual(['r1', 'r2']);
      expect(await data.oidc.consumedSince('RefreshToken', 'g1', T0 + 2)).toEqual([]);
    });

    it("deletes a grant's records, a member's records, and the expired ones", async () => {
      const alice = await member('alice@keycard.test');
      const bob = await member('bob@keycard.test');
      await data.oidc.upsert(record('g1-code', { grantId: 'g1', memberId: alice.id }));
      await data.oidc.upsert(record('g1-token', { grantId: 'g1', memberId: alice.id }));
      await data.oidc.upsert(record('g2-token', { grantId: 'g2', memberId: alice.id }));
      await data.oidc.upsert(record('bob-token', { grantId: 'g3', memberId: bob.id }));
      await data.oidc.upsert(record('old', { expiresAt: T0 - 1 }));
      await data.oidc.upsert(record('forever', { expiresAt: null }));
      await data.oidc.deleteGrant('g1');
      expect(await data.oidc.byKey('g1-code')).toBeUndefined();
      expect(await data.oidc.byKey('g1-token')).toBeUndefined();
      expect(await data.oidc.deleteOf(alice.id)).toBe(1);
      expect(await data.oidc.byKey('g2-token')).toBeUndefined();
      expect(await data.oidc.byKey('bob-token')).toEqual(record('bob-token', { grantId: 'g3', memberId: bob.id }));
      // The Grant record itself (no grant_id of its own) goes with its records when its key is named.
      await data.oidc.upsert(record('g3-grant', { model: 'Grant', memberId: bob.id }));
      await data.oidc.deleteGrant('g3', 'g3-grant');
      expect(await data.oidc.byKey('g3-grant')).toBeUndefined();
      expect(await data.oidc.byKey('bob-token')).toBeUndefined();
      await data.oidc.upsert(record('bob-token', { grantId: 'g3', memberId: bob.id }));
      await data.oidc.deleteExpired(T0);
      expect(await data.oidc.byKey('old')).toBeUndefined();
      expect(await data.oidc.byKey('forever')).toEqual(record('forever', { expiresAt: null }));
      expect(await data.oidc.byKey('bob-token')).toEqual(record('bob-token', { grantId: 'g3', memberId: bob.id }));
    });
  });

  describe("Keycard's secrets", () => {
    it('keeps the first value stored under a name', async () => {
      expect(await data.secrets.get('pairwise')).toBeUndefined();
      await data.secrets.insertIfAbsent('pairwise', 'first', at(0));
      await data.secrets.insertIfAbsent('pairwise', 'second', at(1));
      expect(await data.secrets.get('pairwise')).toBe('first');
    });
  });

  describe('atomic steps', () => {
    /** A step that waits, with its transaction open, until `release` is called, then fails: nothing it wrote stays. */
    const heldOpen = (write: (tx: GymQueries) => Promise<unknown>) => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let opened!: () => void;
      const open = new Promise<void>((resolve) => (opened = resolve));
      const step = data.atomically(async (tx) => {
        await write(tx);
        opened();
        await released;
        throw new Error('changed its mind');
      });
      return { open, release, step: step.catch((err: Error) => err.message) };
    };

    it('commit together, seeing their own writes, and answer with the step’s result', async () => {
      const result = await data.atomically(async (tx) => {
        const m = (await tx.members.insert({ email: 'tx@keycard.test', name: 'Tx', passwordHash: 'x', createdAt: at(0) }))!;
        await tx.sessions.insert({ key: 'tx', memberId: m.id, data: '{}', expiresAt: T0 });
        // The statements the pool runs prepared run inside the transaction too, on its connection.
        const seen = await tx.members.byId(m.id);
        const many = await tx.members.byIds([m.id]);
        const session = await tx.sessions.byKey('tx');
        const active = await tx.sessions.recordActivity({ key: 'tx', memberId: m.id, data: '{"a":1}', expiresAt: T0 + 1 });
        const sheet = await tx.checkIns.sheet({ memberId: m.id, beforeId: null, limit: 5 });
        return { id: m.id, seen: seen?.email, many: many.length, session, active, sheet };
      });
      expect(result).toEqual({ id: result.id, seen: 'tx@keycard.test', many: 1, session: { data: '{}', expiresAt: T0 }, active: true, sheet: [] });
      expect(await data.sessions.byKey('tx')).toEqual({ data: '{"a":1}', expiresAt: T0 + 1 });
      expect(await data.members.byId(result.id)).toMatchObject({ email: 'tx@keycard.test', name: 'Tx' });
    });

    it('leave nothing behind when they throw after a write', async () => {
      const failing = () =>
        data.atomically(async (tx) => {
          const m = await tx.members.insert({ email: 'gone@keycard.test', name: 'Gone', passwordHash: 'x', createdAt: at(0) });
          await tx.throttle.insertFailure({ email: 'gone@keycard.test', address: '10.0.0.9', at: T0 });
          await tx.members.bumpCredentialVersion(m!.id);
          throw new Error('changed its mind');
        });
      await expect(failing()).rejects.toThrow('changed its mind');
      expect(await data.members.byEmail('gone@keycard.test')).toBeUndefined();
      expect(await data.members.any()).toBe(false);
      expect(await data.throttle.countFailures('email', 'gone@keycard.test', 0)).toBe(0);
      // The connection is free again: the next step commits.
      expect(await data.atomically(async (tx) => (await tx.members.insert({ email: 'next@keycard.test', name: 'Next', passwordHash: 'x', createdAt: at(0) }))?.email)).toBe(
        'next@keycard.test',
      );
    });

    it('fail, and leave nothing behind, when they catch a failed statement and go on: PostgreSQL could not commit them', async () => {
      const swallowing = () =>
        data.atomically(async (tx) => {
          await tx.members.insert({ email: 'swallow@keycard.test', name: 'Swallow', passwordHash: 'x', createdAt: at(0) });
          try {
            // No member 999999: the foreign key refuses the row, on both engines.
            await tx.checkIns.insert({ memberId: 999_999, at: at(0), door: null, method: 'SESSION' });
          } catch {
            // A step must not do this; if one does, it still fails rather than report a commit that never was.
          }
          return 'done';
        });
      // SQLite says FOREIGN KEY; Drizzle names the failed statement on PostgreSQL.
      await expect(swallowing()).rejects.toThrow(/foreign key|check_ins/i);
      expect(await data.members.byEmail('swallow@keycard.test')).toBeUndefined();
      // The next step starts clean and commits.
      expect(await data.atomically(async (tx) => (await tx.members.insert({ email: 'after@keycard.test', name: 'After', passwordHash: 'x', createdAt: at(0) }))?.email)).toBe(
        'after@keycard.test',
      );
    });

    it('are never seen half done: a statement outside a step reads what was committed, not what the step wrote', async () => {
      const held = heldOpen((tx) => tx.members.insert({ email: 'half@keycard.test', name: 'Half', passwordHash: 'x', createdAt: at(0) }));
      await held.open;
      const outside = data.members.byEmail('half@keycard.test');
      const another = data.atomically(async (tx) => tx.members.any());
      held.release();
      expect(await held.step).toBe('changed its mind');
      expect(await outside).toBeUndefined();
      expect(await another).toBe(false);
    });

    it('keep out the rate limiter too: a counter written while a step is open outlives the step’s rollback', async () => {
      const held = heldOpen((tx) => tx.throttle.insertFailure({ email: 'held@keycard.test', address: '10.0.0.8', at: T0 }));
      await held.open;
      const limiter = new RateLimiterDrizzle({ ...data.rateLimitStore, keyPrefix: 'held', points: 1, duration: 60, clearExpiredByTimeout: false } as never);
      const counted = limiter.consume('someone');
      held.release();
      expect(await held.step).toBe('changed its mind');
      expect((await counted).consumedPoints).toBe(1);
      await expect(limiter.consume('someone')).rejects.toMatchObject({ consumedPoints: 2, remainingPoints: 0 });
      expect(await data.throttle.countFailures('email', 'held@keycard.test', 0)).toBe(0);
    });

    it('decide on what they read as if they ran alone: concurrent read-then-write steps stop exactly at the limit', async () => {
      const LIMIT = 3;
      let runs = 0;
      const attempt = (n: number) =>
        data.atomically(async (tx) => {
          runs++;
          const failures = await tx.throttle.countFailures('email', 'race@keycard.test', 0);
          if (failures >= LIMIT) return false;
          await tx.throttle.insertFailure({ email: 'race@keycard.test', address: `10.0.1.${n}`, at: T0 + n });
          return true;
        });
      const results = await Promise.all(Array.from({ length: 10 }, (_, n) => attempt(n)));
      expect(results.filter(Boolean)).toHaveLength(LIMIT);
      expect(await data.throttle.countFailures('email', 'race@keycard.test', 0)).toBe(LIMIT);
      // Each step ran at least once; on PostgreSQL some may have run again after losing a race.
      expect(runs).toBeGreaterThanOrEqual(10);
    });

    it('queue on the key they race for, each running once, and still stop exactly at the limit', async () => {
      const LIMIT = 3;
      let runs = 0;
      const attempt = (n: number) =>
        data.atomically(
          async (tx) => {
            runs++;
            const failures = await tx.throttle.countFailures('email', 'queue@keycard.test', 0);
            if (failures >= LIMIT) return false;
            await tx.throttle.insertFailure({ email: 'queue@keycard.test', address: `10.0.2.${n}`, at: T0 + n });
            return true;
          },
          { queueOn: ['login-email:queue@keycard.test'] },
        );
      const results = await Promise.all(Array.from({ length: 10 }, (_, n) => attempt(n)));
      expect(results.filter(Boolean)).toHaveLength(LIMIT);
      expect(await data.throttle.countFailures('email', 'queue@keycard.test', 0)).toBe(LIMIT);
      // Each began after the one before it committed: none lost a race, none ran twice.
      expect(runs).toBe(10);
      // The connections went back to the pool unlocked: a step on the same key still gets its turn at once.
      expect(await attempt(99)).toBe(false);
    });
  });
}
