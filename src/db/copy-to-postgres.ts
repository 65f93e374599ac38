import { asc, count, sql, type Column } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import pg from 'pg';
import { GYM_PG_MIGRATIONS_DIR } from '../shared/paths.js';
import type { SqliteGymData } from './sqlite-data.js';
import * as pgSchema from './pg-schema.js';
import * as sqliteSchema from './schema.js';

/**
 * The tables in the order their foreign keys allow, each SQLite table with its PostgreSQL twin (the same columns, as a
 * test checks) and the column it is read in order of. `identity`: the table's id is generated, so its sequence must
 * carry on after the copied ids.
 */
const TABLES: { name: string; from: SQLiteTable; to: PgTable; orderBy: Column; identity: boolean }[] = [
  { name: 'plans', from: sqliteSchema.plans, to: pgSchema.plans, orderBy: sqliteSchema.plans.id, identity: true },
  { name: 'members', from: sqliteSchema.members, to: pgSchema.members, orderBy: sqliteSchema.members.id, identity: true },
  { name: 'memberships', from: sqliteSchema.memberships, to: pgSchema.memberships, orderBy: sqliteSchema.memberships.memberId, identity: false },
  { name: 'check_ins', from: sqliteSchema.checkIns, to: pgSchema.checkIns, orderBy: sqliteSchema.checkIns.id, identity: true },
  { name: 'sessions', from: sqliteSchema.sessions, to: pgSchema.sessions, orderBy: sqliteSchema.sessions.sid, identity: false },
  { name: 'login_failures', from: sqliteSchema.loginFailures, to: pgSchema.loginFailures, orderBy: sqliteSchema.loginFailures.id, identity: true },
  { name: 'refresh_tokens', from: sqliteSchema.refreshTokens, to: pgSchema.refreshTokens, orderBy: sqliteSchema.refreshTokens.id, identity: true },
  { name: 'rate_limits', from: sqliteSchema.rateLimits, to: pgSchema.rateLimits, orderBy: sqliteSchema.rateLimits.key, identity: false },
  { name: 'app_secrets', from: sqliteSchema.appSecrets, to: pgSchema.appSecrets, orderBy: sqliteSchema.appSecrets.name, identity: false },
  { name: 'oidc_records', from: sqliteSchema.oidcRecords, to: pgSchema.oidcRecords, orderBy: sqliteSchema.oidcRecords.key, identity: false },
];

/** Rows read and written per statement: well under PostgreSQL's 65,535 parameters for the widest table. */
const BATCH = 1_000;

/**
 * Copies a gym's SQLite database into an empty PostgreSQL database: applies the PostgreSQL migrations, then copies
 * every table in one transaction (all or nothing), ids included, and moves each id sequence past the copied ids.
 * Members keep their ids (so their global ids, their partners' pairwise subjects and the pairwise secret stay valid),
 * sessions and refresh tokens go on working. Refuses a target that already holds members. Returns the rows copied per
 * table.
 */
export async function copySqliteToPostgres(source: SqliteGymData, targetUrl: string): Promise<Record<string, number>> {
  const pool = new pg.Pool({ connectionString: targetUrl, max: 1 });
  // A connection lost while idle (the server restarting) fails the copy's next statement, never the process.
  pool.on('error', () => {});
  try {
    const target = drizzle(pool, { schema: pgSchema });
    await migrate(target, { migrationsFolder: GYM_PG_MIGRATIONS_DIR });
    const copied: Record<string, number> = {};
    await target.transaction(async (tx) => {
      const [existing] = await tx.select({ n: count() }).from(pgSchema.members);
      if (existing && existing.n > 0) throw new Error('the PostgreSQL database already holds members: copy only into an empty one');
      // A server started on it once, before any member signed up, leaves the plans, its own pairwise secret and a few
      // counters: the copy's rows replace them (the SQLite gym's secret is the one its partners' subjects rest on).
      for (const table of [pgSchema.plans, pgSchema.appSecrets, pgSchema.rateLimits, pgSchema.loginFailures, pgSchema.sessions, pgSchema.oidcRecords]) await tx.delete(table);
      for (const table of TABLES) {
        let total = 0;
        for (let offset = 0; ; offset += BATCH) {
          const rows = source.sqlite.db.select().from(table.from).orderBy(asc(table.orderBy)).limit(BATCH).offset(offset).all();
          if (rows.length === 0) break;
          await tx.insert(table.to).values(rows as never[]);
          total += rows.length;
          if (rows.length < BATCH) break;
        }
        copied[table.name] = total;
        if (table.identity) {
          // Table names come from the list above, never from input.
          await tx.execute(
            sql.raw(`select setval(pg_get_serial_sequence('${table.name}', 'id'), coalesce((select max(id) from ${table.name}), 0) + 1, false)`),
          );
        }
      }
    });
    return copied;
  } finally {
    await pool.end();
  }
}
