import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { prepareData } from '../../src/db/seed.js';

const count = (db: ReturnType<typeof openDatabase>, table: string) => (db.sqlite.prepare(`select count(*) n from ${table}`).get() as { n: number }).n;

describe('preparing the data at start', () => {
  it.each([
    ['development, SEED_DEMO unset', undefined, false, 'seeded', 4],
    ['development, SEED_DEMO=false', false, false, 'off', 0],
    ['production, SEED_DEMO unset', undefined, true, 'off', 0],
    ['production, SEED_DEMO=true', true, true, 'seeded', 4],
  ] as const)('%s', async (_name, seedDemo, production, outcome, members) => {
    const database = openDatabase(':memory:');
    try {
      expect(await prepareData(database.db, { seedDemo, production })).toBe(outcome);
      expect(count(database, 'members')).toBe(members);
      // The plans are reference data, loaded whatever the mode.
      expect(count(database, 'plans')).toBe(2);
      if (members) expect(count(database, 'check_ins')).toBeGreaterThan(30);
    } finally {
      database.close();
    }
  });

  it('never seeds demo data into a database that already has members', async () => {
    const database = openDatabase(':memory:');
    try {
      await prepareData(database.db, { seedDemo: true, production: false });
      database.sqlite.prepare("delete from members where email = 'bob@keycard.test'").run();
      expect(await prepareData(database.db, { seedDemo: true, production: false })).toBe('not-empty');
      expect(count(database, 'members')).toBe(3);
      expect(count(database, 'plans')).toBe(2);
    } finally {
      database.close();
    }
  });
});
