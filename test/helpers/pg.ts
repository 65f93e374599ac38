import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL for the tests, when `TEST_DATABASE_URL` names a server (e.g. postgres://postgres@127.0.0.1:5432/test).
 * Each caller gets a database of its own, made fresh and dropped after, so test files stay independent of each other
 * and of whatever the named database holds. (A database rather than a schema: drizzle-kit's PostgreSQL migrations
 * name `"public"` in their foreign keys.)
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined;

/** How the PostgreSQL run is asked for, in the line printed when it is skipped. */
export const HOW_TO_RUN_PG = 'TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm test';

export interface TestPgDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestPgDatabase(): Promise<TestPgDatabase> {
  if (!TEST_DATABASE_URL) throw new Error(`PostgreSQL tests need TEST_DATABASE_URL (${HOW_TO_RUN_PG})`);
  const name = `keycard_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
