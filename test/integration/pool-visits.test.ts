import { describe, expect, it } from 'vitest';
import type { PoolEngine } from '../../src/pool/db/data.js';
import { gymWithPool, poolToken, swim } from '../helpers/pool.js';
import { TEST_DATABASE_URL } from '../helpers/pg.js';
import { handled, overlapped } from '../helpers/race.js';

/**
 * One visit per swimmer per few minutes, however the token is replayed: on SQLite, and on PostgreSQL (when
 * TEST_DATABASE_URL is set), where concurrent admissions run side by side and the serializable retry must settle them.
 */

const ALIASED = `mutation { ${Array.from({ length: 10 }, (_, i) => `s${i}: swim { admittedAt member { name } }`).join(' ')} }`;

describe('pool visits on SQLite', () => visits('sqlite'));
describe.skipIf(!TEST_DATABASE_URL)('pool visits on PostgreSQL', () => visits('postgres'));

function visits(engine: PoolEngine): void {
  const servers = gymWithPool({}, { engine });

  it('runs on the engine asked for', () => {
    expect(servers.pool.engine).toBe(engine);
    expect(servers.pool.data.engine).toBe(engine);
  });

  it('records one visit for a token replayed in parallel requests and aliases, and gives each the same admission', async () => {
    const token = await poolToken(servers.gym, 'alice');
    const mark = servers.pool.logs().length;
    const results = await Promise.all([...Array.from({ length: 6 }, () => swim(servers.pool, token)), ...Array.from({ length: 3 }, () => swim(servers.pool, token, ALIASED))]);
    for (const res of results) expect(res.errors).toBeUndefined();
    // On PostgreSQL, where each admission waits on the database, the pool had them in hand at the same time: one visit
    // is the rule holding against a race, which the serializable retry settled.
    if (engine === 'postgres') expect(overlapped(await handled(servers.pool, mark, { path: '/graphql' }, results.length))).toBe(true);
    const admissions = results.flatMap((res) => Object.values(res.data as Record<string, { admittedAt: string }>).map((v) => v.admittedAt));
    expect(admissions).toHaveLength(6 + 3 * 10);
    expect(new Set(admissions).size).toBe(1);
    expect(await servers.pool.visitCount()).toBe(1);
    expect((await swim(servers.pool, token, '{ visits }')).data.visits).toEqual([admissions[0]]);
  });

  it('keeps swimmers apart, and records a new visit once the last one is more than five minutes old', async () => {
    const alice = await poolToken(servers.gym, 'alice');
    const staff = await poolToken(servers.gym, 'staff');
    const aliceFirst = await swim(servers.pool, alice);
    const staffFirst = await swim(servers.pool, staff);
    expect(staffFirst.errors).toBeUndefined();
    const aliceId = aliceFirst.data.swim.member.id as string;
    expect(await servers.pool.visitCount(staffFirst.data.swim.member.id)).toBe(1);
    expect(await servers.pool.visitCount(aliceId)).toBe(1);

    // Six minutes pass for Alice's visit.
    await servers.pool.ageVisits(aliceId, 360_000);
    const mark = servers.pool.logs().length;
    const [later, alsoLater] = await Promise.all([swim(servers.pool, alice), swim(servers.pool, alice)]);
    if (engine === 'postgres') expect(overlapped(await handled(servers.pool, mark, { path: '/graphql' }, 2))).toBe(true);
    expect(later.errors).toBeUndefined();
    expect(alsoLater.errors).toBeUndefined();
    expect(later.data.swim.admittedAt).toBe(alsoLater.data.swim.admittedAt);
    expect(Date.parse(later.data.swim.admittedAt)).toBeGreaterThan(Date.parse(aliceFirst.data.swim.admittedAt));
    expect(await servers.pool.visitCount(aliceId)).toBe(2);
    expect((await swim(servers.pool, alice, '{ visits }')).data.visits).toHaveLength(2);
  });
}
