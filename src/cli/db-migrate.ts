import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { ConfigError } from '../shared/errors.js';
import { describeError } from '../shared/logger.js';

/**
 * `npm run db:migrate`: applies the migrations of the engine DATABASE_URL names (a SQLite file, or PostgreSQL) and
 * exits. The server applies them at start too; this is for a deployment that migrates as a step of its own, before
 * the new version's instances start. On PostgreSQL, processes migrating at once take turns under an advisory lock.
 */
try {
  const config = loadConfig(process.env);
  const database = await openDatabase(config.databaseUrl, { poolSize: 1 });
  await database.close();
  console.log(`Migrations applied (${database.engine}).`);
} catch (err) {
  // The message only: a connection error may quote the host, never a password (pg leaves it out).
  console.error(err instanceof ConfigError ? err.message : `db:migrate failed: ${describeError(err)}`);
  process.exit(1);
}
