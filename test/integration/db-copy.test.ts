import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { getOrCreateSecret } from '../../src/db/secrets.js';
import { prepareData } from '../../src/seed.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import { ROOT } from '../../src/shared/paths.js';
import { Client, DEMO, LOGIN, sessionClient, signInWithKeycard } from '../helpers/client.js';
import { startTestApp } from '../helpers/app.js';
import { createTestPgDatabase, TEST_DATABASE_URL, type TestPgDatabase } from '../helpers/pg.js';

const run = promisify(execFile);
const TABLES = ['plans', 'members', 'memberships', 'check_ins', 'sessions', 'login_failures', 'refresh_tokens', 'rate_limits', 'app_secrets', 'oidc_records'];

/** `npm run db:copy`, as an operator runs it, from a gym's real SQLite file into a real, empty PostgreSQL database. */
describe.skipIf(!TEST_DATABASE_URL)('db:copy, SQLite to PostgreSQL', () => {
  let dir: string;
  let file: string;
  let source: TestDatabase;
  let target: TestPgDatabase;
  let pool: pg.Pool;
  const copy = () => run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/db-copy.ts'), '--from', file, '--to', target.url], { cwd: ROOT });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'keycard-copy-'));
    file = path.join(dir, 'keycard.sqlite');
    source = await openTestDatabase({ engine: 'sqlite', file });
    // A gym that has been used: sessions, refresh families, check-ins, throttle rows, its pairwise secret.
    const app = await startTestApp({ database: source });
    await sessionClient(app.url, 'alice');
    await signInWithKeycard(app.url, 'bob');
    await new Client(app.url).gql(LOGIN, { input: { ...DEMO.staff, password: 'not the password at all' } });
    await app.close();
    target = await createTestPgDatabase();
    pool = new pg.Pool({ connectionString: target.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await target?.drop();
    await source?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies every table, ids and instants as they were, and new rows carry on after the copied ids', async () => {
    const { stdout } = await copy();
    expect(stdout).toMatch(/^Copied into PostgreSQL: plans \d+, members \d+/);
    for (const table of TABLES) {
      const sqliteCount = (source.sqlite().prepare(`select count(*) n from ${table}`).get() as { n: number }).n;
      const { rows } = await pool.query<{ n: string }>(`select count(*) n from ${table}`);
      expect([table, Number(rows[0]!.n)]).toEqual([table, sqliteCount]);
    }
    expect((source.sqlite().prepare('select count(*) n from sessions').get() as { n: number }).n).toBeGreaterThan(0);
    const alice = source.sqlite().prepare('select id, created_at, password_hash, token_version from members where email = ?').get(DEMO.alice.email) as Record<string, number | string>;
    const { rows } = await pool.query('select id, created_at, password_hash, token_version from members where email = $1', [DEMO.alice.email]);
    expect(rows[0]).toEqual({ ...alice, created_at: new Date(alice.created_at as number) });
    const lastCheckIn = source.sqlite().prepare('select id, at from check_ins order by id desc limit 1').get() as { id: number; at: number };
    const copiedCheckIn = await pool.query('select at from check_ins where id = $1', [lastCheckIn.id]);
    expect(copiedCheckIn.rows[0].at).toEqual(new Date(lastCheckIn.at));
    const maxId = (source.sqlite().prepare('select max(id) m from members').get() as { m: number }).m;
    const inserted = await pool.query(`insert into members (email, name, password_hash, created_at) values ('new@keycard.test', 'New', 'x', now()) returning id`);
    expect(inserted.rows[0].id).toBe(maxId + 1);
  });

  it('refuses a database that already holds members, and changes nothing there', async () => {
    const before = await pool.query('select count(*) n from members');
    await expect(copy()).rejects.toMatchObject({ stderr: expect.stringContaining('already holds members') });
    expect((await pool.query('select count(*) n from members')).rows).toEqual(before.rows);
  });

  it('copies over what a server started on the empty database left (its plans, its own pairwise secret)', async () => {
    const started = await createTestPgDatabase();
    try {
      const leftover = await openDatabase(started.url, { poolSize: 1 });
      await prepareData(leftover, { seedDemo: false, production: true });
      const itsOwn = await getOrCreateSecret(leftover, 'pairwise-subject');
      await leftover.close();
      await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/db-copy.ts'), '--from', file, '--to', started.url], { cwd: ROOT });
      const check = new pg.Pool({ connectionString: started.url, max: 1 });
      try {
        const copied = (await check.query(`select value from app_secrets where name = 'pairwise-subject'`)).rows[0].value;
        const sqliteSecret = (source.sqlite().prepare(`select value from app_secrets where name = 'pairwise-subject'`).get() as { value: string }).value;
        // The SQLite gym's secret, on which its partners' pairwise subjects rest, not the one the empty server made.
        expect(copied).toBe(sqliteSecret);
        expect(copied).not.toBe(itsOwn);
      } finally {
        await check.end();
      }
    } finally {
      await started.drop();
    }
  });
});
