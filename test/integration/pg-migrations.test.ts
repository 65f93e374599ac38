import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteGymData } from '../../src/db/sqlite-data.js';
import * as gymPg from '../../src/db/pg-schema.js';
import { openPoolDatabase } from '../../src/pool/db/client.js';
import { GYM_PG_MIGRATIONS_DIR, POOL_PG_MIGRATIONS_DIR, ROOT } from '../../src/shared/paths.js';
import { createTestPgDatabase, TEST_DATABASE_URL, type TestPgDatabase } from '../helpers/pg.js';

type Shape = Record<string, Record<string, { notNull: boolean }>>;

/** Every table's columns and their nullability, as the engine itself reports them after the real migrations. */
async function pgShape(pool: pg.Pool): Promise<Shape> {
  const { rows } = await pool.query<{ table_name: string; column_name: string; is_nullable: string }>(
    `select table_name, column_name, is_nullable from information_schema.columns
      where table_schema = 'public' and table_name not like '\\_\\_%' order by table_name, column_name`,
  );
  const shape: Shape = {};
  for (const r of rows) (shape[r.table_name] ??= {})[r.column_name] = { notNull: r.is_nullable === 'NO' };
  return shape;
}

function sqliteShape(sqlite: { prepare(sql: string): { all(...args: unknown[]): unknown[] } }): Shape {
  const tables = sqlite.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '\\_\\_%' escape '\\'`).all() as { name: string }[];
  const shape: Shape = {};
  for (const { name } of tables) {
    shape[name] = {};
    for (const c of sqlite.prepare(`select name, "notnull", pk from pragma_table_info(?)`).all(name) as { name: string; notnull: number; pk: number }[]) {
      shape[name]![c.name] = { notNull: c.notnull === 1 || c.pk === 1 };
    }
  }
  return shape;
}

describe.skipIf(!TEST_DATABASE_URL)('the PostgreSQL migrations, on a real server', () => {
  let database: TestPgDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    database = await createTestPgDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('make the same gym tables as the SQLite migrations, and a row goes in and comes back to the millisecond', async () => {
    const db = drizzle(pool, { schema: gymPg });
    await migrate(db, { migrationsFolder: GYM_PG_MIGRATIONS_DIR });
    const sqlite = openSqliteGymData(':memory:');
    try {
      expect(await pgShape(pool)).toEqual(sqliteShape(sqlite.sqlite.sqlite));
    } finally {
      await sqlite.close();
    }
    const createdAt = new Date('2026-11-26T04:00:00.123Z');
    const [member] = await db.insert(gymPg.members).values({ email: 'pg@keycard.test', name: 'Pat', passwordHash: 'x', createdAt }).returning();
    expect(member!.createdAt).toEqual(createdAt);
    expect(member!.role).toBe('MEMBER');
    // The unique index on lower(email) holds in PostgreSQL too.
    await expect(db.insert(gymPg.members).values({ email: 'PG@keycard.test', name: 'Pat', passwordHash: 'x', createdAt })).rejects.toThrow();
    // Applying them again changes nothing (a second process starting on the same database).
    await migrate(db, { migrationsFolder: GYM_PG_MIGRATIONS_DIR });
  });

  it("make the same pool table as the pool's SQLite migrations", async () => {
    const other = await createTestPgDatabase();
    const poolPg = new pg.Pool({ connectionString: other.url, max: 1 });
    try {
      await migrate(drizzle(poolPg), { migrationsFolder: POOL_PG_MIGRATIONS_DIR });
      const sqlite = openPoolDatabase(':memory:');
      try {
        expect(await pgShape(poolPg)).toEqual(sqliteShape(sqlite.sqlite));
      } finally {
        sqlite.close();
      }
    } finally {
      await poolPg.end();
      await other.drop();
    }
  });

  it('npm run db:migrate applies them on the database DATABASE_URL names, and again changes nothing', async () => {
    const other = await createTestPgDatabase();
    const poolPg = new pg.Pool({ connectionString: other.url, max: 1 });
    try {
      for (let run = 0; run < 2; run++) {
        const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli/db-migrate.ts'], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', DATABASE_URL: other.url },
          encoding: 'utf8',
        });
        expect(result.stdout).toContain('Migrations applied (postgres).');
        expect(result.status).toBe(0);
      }
      expect(Object.keys(await pgShape(poolPg)).sort()).toEqual(
        ['app_secrets', 'check_ins', 'login_failures', 'members', 'memberships', 'oidc_records', 'plans', 'rate_limits', 'refresh_tokens', 'sessions'],
      );
    } finally {
      await poolPg.end();
      await other.drop();
    }
  });
});
