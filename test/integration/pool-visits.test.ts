import { describe, expect, it } from 'vitest';
import { gymWithPool, poolToken, swim } from '../helpers/pool.js';

/** One visit per swimmer per few minutes, however the token is replayed. */

const ALIASED = `mutation { ${Array.from({ length: 10 }, (_, i) => `s${i}: swim { admittedAt member { name } }`).join(' ')} }`;

describe('pool visits', () => {
  const servers = gymWithPool();

  const visitRows = (subject?: string) =>
    subject === undefined
      ? (servers.pool.database.sqlite.prepare('select count(*) n from visits').get() as { n: number }).n
      : (servers.pool.database.sqlite.prepare('select count(*) n from visits where subject = ?').get(subject) as { n: number }).n;

  it('records one visit for a token replayed in parallel requests and aliases, and gives each the same admission', async () => {
    const token = await poolToken(servers.gym, 'alice');
    const results = await Promise.all([...Array.from({ length: 6 }, () => swim(servers.pool, token)), ...Array.from({ length: 3 }, () => swim(servers.pool, token, ALIASED))]);
    for (const res of results) expect(res.errors).toBeUndefined();
    const admissions = results.flatMap((res) => Object.values(res.data as Record<string, { admittedAt: string }>).map((v) => v.admittedAt));
    expect(admissions).toHaveLength(6 + 3 * 10);
    expect(new Set(admissions).size).toBe(1);
    expect(visitRows()).toBe(1);
    expect((await swim(servers.pool, token, '{ visits }')).data.visits).toEqual([admissions[0]]);
  });

  it('keeps swimmers apart, and records a new visit once the last one is more than five minutes old', async () => {
    const alice = await poolToken(servers.gym, 'alice');
    const staff = await poolToken(servers.gym, 'staff');
    const aliceFirst = await swim(servers.pool, alice);
    const staffFirst = await swim(servers.pool, staff);
    expect(staffFirst.errors).toBeUndefined();
    const aliceId = aliceFirst.data.swim.member.id as string;
    expect(visitRows(staffFirst.data.swim.member.id)).toBe(1);
    expect(visitRows(aliceId)).toBe(1);

    // Six minutes pass for Alice's visit.
    servers.pool.database.sqlite.prepare('update visits set admitted_at = admitted_at - 360000 where subject = ?').run(aliceId);
    const [later, alsoLater] = await Promise.all([swim(servers.pool, alice), swim(servers.pool, alice)]);
    expect(later.errors).toBeUndefined();
    expect(later.data.swim.admittedAt).toBe(alsoLater.data.swim.admittedAt);
    expect(Date.parse(later.data.swim.admittedAt)).toBeGreaterThan(Date.parse(aliceFirst.data.swim.admittedAt));
    expect(visitRows(aliceId)).toBe(2);
    expect((await swim(servers.pool, alice, '{ visits }')).data.visits).toHaveLength(2);
  });
});
