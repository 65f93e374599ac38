import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareData } from '../../src/seed.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

const count = async (database: TestDatabase, table: string) => (await database.sql.get<{ n: number }>(`select count(*) n from ${table}`))!.n;

describe('preparing the data at start', () => {
  it.each([
    ['development, SEED_DEMO unset', undefined, false, 'seeded', 4],
    ['development, SEED_DEMO=false', false, false, 'off', 0],
    ['production, SEED_DEMO unset', undefined, true, 'off', 0],
    ['production, SEED_DEMO=true', true, true, 'seeded', 4],
  ] as const)('%s', async (_name, seedDemo, production, outcome, members) => {
    const database = await openTestDatabase();
    try {
      expect(await prepareData(database.data, { seedDemo, production })).toBe(outcome);
      expect(await count(database, 'members')).toBe(members);
      // The plans are reference data, loaded whatever the mode.
      expect(await count(database, 'plans')).toBe(2);
      if (members) expect(await count(database, 'check_ins')).toBeGreaterThan(30);
    } finally {
      await database.close();
    }
  });

  it('never seeds demo data into a database that already has members', async () => {
    const database = await openTestDatabase();
    try {
      await prepareData(database.data, { seedDemo: true, production: false });
      await database.sql.run("delete from members where email = 'bob@keycard.test'");
      expect(await prepareData(database.data, { seedDemo: true, production: false })).toBe('not-empty');
      expect(await count(database, 'members')).toBe(3);
      expect(await count(database, 'plans')).toBe(2);
    } finally {
      await database.close();
    }
  });

  it('seeds once when two instances start on one empty database at the same moment', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keycard-seed-'));
    // One database both instances open: a file on SQLite (":memory:" would give each its own), on PostgreSQL a
    // database of its own.
    const database = await openTestDatabase({ file: path.join(dir, 'keycard.sqlite') });
    const second = await openTestDatabase({ reopen: database });
    try {
      const outcomes = await Promise.all([
        prepareData(database.data, { seedDemo: true, production: false }),
        prepareData(second.data, { seedDemo: true, production: false }),
      ]);
      // Both found the database empty and went on to seed it (one after the other, the second would have found
      // members): the race happened, and the check inside the seeding step kept the demo from going in twice.
      expect(outcomes).toEqual(['seeded', 'seeded']);
      expect(await count(database, 'members')).toBe(4);
      expect(await count(second, 'members')).toBe(4);
      expect(await count(database, 'plans')).toBe(2);
    } finally {
      await second.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
