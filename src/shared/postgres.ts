import { setTimeout as sleep } from 'node:timers/promises';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

/** An open PostgreSQL database: Drizzle for queries, the pool for health checks and closing. */
export interface PostgresDatabase<S extends Record<string, unknown>> {
  db: NodePgDatabase<S>;
  pool: pg.Pool;
  /** Where it is: a connection of another kind (the event listener's) opens with it. */
  url: string;
  /** Drizzle on one connection checked out of the pool (the same schema and logging as `db`). */
  on(client: pg.PoolClient): NodePgDatabase<S>;
  close(): Promise<void>;
}

/**
 * Atomic steps that often race with each other name what they race for (one email's failed logins, one refresh
 * family): a step takes a lock on each of its keys before its transaction begins, so steps on the same key queue up
 * and each one's transaction starts after the previous one committed, instead of all starting together and all but
 * one failing and running again. The serializable transaction stays the guarantee; the keys only spare it the retries.
 */
export interface QueueOptions {
  queueOn?: readonly string[];
}

/** A Drizzle transaction on node-postgres, as {@link serializable} hands it to its function. */
export type PgTransaction<S extends Record<string, unknown>> = Parameters<Parameters<NodePgDatabase<S>['transaction']>[0]>[0];

/** How long a request waits for a connection: during an outage it fails within this bound instead of hanging. */
const CONNECT_TIMEOUT_MS = 5_000;
/** PostgreSQL cancels a statement running longer than this (a lock held by a stuck transaction, a runaway plan). */
const STATEMENT_TIMEOUT_MS = 10_000;
/** The client gives up a little after the server would have, in case the server never answers at all. */
const QUERY_TIMEOUT_MS = 15_000;
/** PostgreSQL ends a transaction that has waited this long for its client's next statement. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;
/** ...and a session idle this long: far beyond the pool's own 10 s for an idle connection. */
const IDLE_SESSION_TIMEOUT_MS = 60_000;
/** Quiet time on a connection before TCP starts probing whether the other end is still there. */
const KEEPALIVE_DELAY_MS = 10_000;

/**
 * The advisory lock every Keycard process takes around its migrations. drizzle's migrator creates its schema and table
 * with `if not exists`, which two sessions can still race on; under the lock, processes starting together on an empty
 * database apply the migrations once, one after another, and the later ones find nothing left to do.
 */
const MIGRATION_LOCK = 0x4b65_7963_6172; // "Keycar"

/** SQLSTATEs that mean "the transaction lost a race; run it again": serialization_failure and deadlock_detected. */
const RETRYABLE = new Set(['40001', '40P01']);

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/**
 * Opens a pool on a PostgreSQL database and applies the migrations in `migrationsFolder`. An idle connection's error
 * (PostgreSQL restarting, a proxy closing it) is reported to `onError` and the connection dropped: it must never reach
 * the process as an unhandled `error` event.
 */
export async function openPostgres<S extends Record<string, unknown>>(
  url: string,
  options: { schema: S; migrationsFolder: string; poolSize: number; onQuery?: (sql: string) => void; onError?: (err: Error) => void },
): Promise<PostgresDatabase<S>> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    // A connection cut off without a word (a network partition, a failover) is noticed by TCP keepalive within a
    // minute instead of after the operating system's two hours; and PostgreSQL ends a transaction left open by a
    // client it no longer hears from, so its row locks do not outlive it.
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    // Run on each new connection before the pool hands it out (so never beside the caller's first query): the queue
    // locks of atomic steps are held by the session, outside its transaction, and a connection cut between taking one
    // and giving it back would leave the server an idle session holding it, for as long as TCP takes to notice.
    // PostgreSQL ends a session idle this long (the pool closes its own idle connections well before), and its locks
    // with it. (PostgreSQL 14 and later; an older server refuses the setting, and keepalive has to do.)
    onConnect: async (client) => {
      await client.query(`set idle_session_timeout = ${IDLE_SESSION_TIMEOUT_MS}`).catch(() => undefined);
    },
  });
  const onError = options.onError ?? (() => {});
  pool.on('error', onError);
  // pg-pool listens for errors only on idle connections; a checked-out connection that loses its server would emit
  // one with no listener at all. Its queries fail on their own (the caller sees that), and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => {}));
  const onQuery = options.onQuery;
  const db = drizzle(pool, { schema: options.schema, ...(onQuery ? { logger: { logQuery: (query: string) => onQuery(query) } } : {}) });

  try {
    await migrateLocked(url, options.migrationsFolder);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const logger = onQuery ? { logger: { logQuery: (query: string) => onQuery(query) } } : {};
  return {
    db,
    pool,
    url,
    on: (client) => drizzle(client, { schema: options.schema, ...logger }),
    // Idempotent: a server shutting down and a test cleaning up may both close it.
    close: async () => {
      if (!pool.ended) await pool.end();
    },
  };
}

/**
 * Applies the migrations on a connection of their own, holding the migration lock for as long as they take. Not one of
 * the pool's: a migration (an index built on a large table) and the wait for another instance's may take far longer
 * than a request's statement may, so neither the statement timeout nor the client's query timeout applies here.
 */
async function migrateLocked(url: string, migrationsFolder: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    // The lock goes with the session when the connection ends, below, whatever happened.
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** node-postgres's words when it has given up on a connection (it gives these errors no code). */
function isConnectionLost(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (/Query read timeout|Connection terminated|not queryable/.test(e.message)) return true;
  }
  return false;
}

/** The SQLSTATE of a failed query, through drizzle's wrapping of the driver's error. */
function sqlState(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

/**
 * Runs `fn` in a SERIALIZABLE transaction: PostgreSQL either commits it as if it had run alone, or aborts it
 * (serialization failure, or a deadlock) so that it can run again on the state the other transaction left. Runs it at
 * most `attempts` times, with a short random wait between attempts so that the contenders do not collide again in
 * step; the last failure is thrown. `fn` must be safe to run again: everything it did in an aborted attempt is gone.
 * With `queueOn`, it first waits its turn for those keys (see {@link QueueOptions}).
 */
export async function serializable<S extends Record<string, unknown>, T>(
  postgres: PostgresDatabase<S>,
  fn: (tx: PgTransaction<S>) => Promise<T>,
  options: { attempts?: number } & QueueOptions = {},
): Promise<T> {
  const keys = [...new Set(options.queueOn ?? [])].sort();
  // The connection is checked out here rather than by Drizzle, which keeps one whose BEGIN failed (a connection lost
  // mid-failover) checked out for good: after a few, the pool has nothing left to give.
  const client = await postgres.pool.connect();
  let failed = false;
  let broken: Error | undefined;
  try {
    // Session locks, taken one key at a time in one order (so two steps never wait for each other's keys), before
    // BEGIN: a serializable transaction's snapshot is taken at its first statement, so a lock taken inside it would
    // come too late to let it see the previous holder's commit. Each wait is bounded by the statement timeout.
    for (const key of keys) await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [key]);
    return await retried(postgres.on(client), fn, options.attempts);
  } catch (err) {
    failed = true;
    // A connection the client itself gave up on (no answer in time, cut off) cannot answer a probe either.
    if (isConnectionLost(err)) broken = err as Error;
    throw err;
  } finally {
    // After a failure (or with locks to give back), one statement tells whether the connection is still good: Drizzle
    // has rolled back a transaction that failed, so a connection that answers is clean, whatever the step threw.
    if (!broken && (failed || keys.length > 0)) {
      try {
        await client.query('select pg_advisory_unlock_all()');
      } catch (err) {
        broken = err as Error;
      }
    }
    // A connection that does not answer goes, and its session's locks with it.
    client.release(broken);
  }
}

async function retried<S extends Record<string, unknown>, T>(db: NodePgDatabase<S>, fn: (tx: PgTransaction<S>) => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn, { isolationLevel: 'serializable' });
    } catch (err) {
      const code = sqlState(err);
      if (attempt >= attempts || code === undefined || !RETRYABLE.has(code)) throw err;
      // Full jitter over a window that doubles from 4 ms up to 64 ms.
      await sleep(Math.random() * Math.min(4 * 2 ** (attempt - 1), 64));
    }
  }
}

/**
 * True when PostgreSQL answers `select 1` within `timeoutMs`. A pool with no connection to give (PostgreSQL down,
 * every connection busy) is unhealthy for the probe after the bound, whatever the connection timeout is.
 */
export async function postgresHealth(pool: pg.Pool, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const probe = pool.query('select 1').then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([probe, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
