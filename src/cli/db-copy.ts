import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openSqliteGymData } from '../db/sqlite-data.js';
import { copySqliteToPostgres } from '../db/copy-to-postgres.js';
import { describeError } from '../shared/logger.js';

/**
 * `npm run db:copy -- --from ./data/keycard.sqlite --to postgres://...`: carries a gym's SQLite database over to an
 * empty PostgreSQL database, every table in one transaction, ids kept. Stop the server first, so nothing is written
 * to the SQLite file meanwhile; keep KEYS_DIR and SESSION_SECRET as they are, and sessions and tokens go on working.
 */
const usage = 'usage: npm run db:copy -- --from <sqlite file> --to <postgres://...>';
try {
  const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' } } });
  if (!values.from || !values.to) throw new Error(usage);
  if (!/^postgres(ql)?:\/\//.test(values.to)) throw new Error(`--to must be a postgres:// or postgresql:// URL (${usage})`);
  if (!existsSync(values.from)) throw new Error(`--from: no SQLite file at ${values.from}`);
  const source = openSqliteGymData(values.from);
  try {
    const copied = await copySqliteToPostgres(source, values.to);
    console.log(`Copied into PostgreSQL: ${Object.entries(copied).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  } finally {
    await source.close();
  }
} catch (err) {
  // The message only: a connection error may quote the URL, but never a password (pg leaves it out).
  console.error(`db:copy failed: ${describeError(err)}`);
  process.exit(1);
}
