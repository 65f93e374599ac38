import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { StepStatements, type RunStatement } from './statements.js';

/** An open SQLite database: Drizzle for queries, the raw handle for pragmas, health checks and closing. */
export interface SqliteDatabase<S extends Record<string, unknown>> {
  db: BetterSQLite3Database<S>;
  sqlite: Database.Database;
  close(): void;
}

/**
 * Makes the database file readable by its owner only before SQLite opens it: it holds password hashes and the
 * pairwise secret. A folder Keycard creates for it is 0700; the file is created (or narrowed) to 0600, and SQLite gives
 * its WAL and shared-memory files the permissions of the database file.
 */
function ownerOnly(file: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
}

/**
 * Opens (creating its folder if needed) a SQLite file, or an in-memory database for `:memory:`, with the pragmas
 * every Keycard service wants, and applies the migrations in `migrationsFolder`. WAL lets readers go on while a
 * writer commits; foreign keys are off by default in SQLite and must be asked for on every connection.
 */
export function openSqlite<S extends Record<string, unknown>>(
  url: string,
  options: { schema: S; migrationsFolder: string; onQuery?: (sql: string) => void },
): SqliteDatabase<S> {
  if (url !== ':memory:') ownerOnly(url);
  const sqlite = new Database(url);
  if (url !== ':memory:') sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  const onQuery = options.onQuery;
  const db = drizzle(sqlite, { schema: options.schema, ...(onQuery ? { logger: { logQuery: (query: string) => onQuery(query) } } : {}) });
  migrate(db, { migrationsFolder: options.migrationsFolder });
  return {
    db,
    sqlite,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}

/** The health probe of a SQLite database, its statement prepared once: true while the database answers. */
export function sqliteHealth(sqlite: Database.Database): () => Promise<boolean> {
  const probe = sqlite.prepare('select 1');
  return async () => {
    try {
      return probe.get() !== undefined;
    } catch {
      return false;
    }
  };
}

/**
 * One SQLite connection, shared by every statement of a service and its atomic steps. better-sqlite3 answers each
 * statement at once, but an atomic step is an async function (written once for SQLite and PostgreSQL, whose statements
 * are promises), so between two of its statements other code may run: the gate keeps everything else off the
 * connection while a step's transaction is open (else their statements would run inside it), and lets one step at a
 * time open one. A statement that finds the gate open runs at once, as it always has.
 *
 * A step holds the connection from its `BEGIN IMMEDIATE` to its `COMMIT`: it must do no slow work (no password
 * hashing) and await nothing but its own statements, so it ends within the same turn of the event loop, as a
 * synchronous transaction would (its statements answer at once; only their promises' callbacks come in between). One
 * that breaks the rule (awaits the store's own statements, or another step, which wait for it: for ever) is stopped
 * by a deadline instead: rolled back, the connection let go, its later statements refused, and its caller told why.
 * (No AsyncLocalStorage to tell a step's calls from others': on Node 20 it costs every promise of every request.)
 */
export class SqliteGate {
  /** Settles when the step that holds the connection ends; null while none does. */
  private held: Promise<void> | null = null;
  private readonly begin;
  private readonly commit;
  private readonly rollback;

  constructor(
    private readonly sqlite: Database.Database,
    /** How long a step may hold the connection: far beyond what its statements take, since only a stuck one reaches it. */
    private readonly stepDeadlineMs = 1_000,
  ) {
    this.begin = sqlite.prepare('BEGIN IMMEDIATE');
    this.commit = sqlite.prepare('COMMIT');
    this.rollback = sqlite.prepare('ROLLBACK');
  }

  /**
   * Runs one statement, a Drizzle query (which runs when its `then` is called): now when no step holds the connection,
   * else once it is released. Called at once, not on a later tick, so that no step can begin in between.
   */
  run<T>(query: PromiseLike<T>): Promise<T> {
    if (this.held === null) return new Promise<T>((resolve, reject) => query.then(resolve, reject));
    return this.held.then(() => this.run(query));
  }

  /**
   * The Drizzle client `db` as seen by a library that runs its own statements on it (rate-limiter-flexible): each of
   * its queries, when awaited, waits for the gate as the service's own statements do, so none lands inside a step.
   */
  client<D extends object>(db: D): D {
    const gate = this;
    const BUILDS = new Set<PropertyKey>(['select', 'insert', 'update', 'delete']);
    const gated = (builder: object): object =>
      new Proxy(builder, {
        get(target, prop) {
          if (prop === 'then') return (ok?: (v: unknown) => unknown, fail?: (e: unknown) => unknown) => gate.run(target as PromiseLike<unknown>).then(ok, fail);
          const value: unknown = Reflect.get(target, prop, target);
          // Drizzle tells what a builder is by its constructor: that stays the builder's own.
          if (typeof value !== 'function' || prop === 'constructor') return value;
          return (...args: unknown[]) => {
            const result: unknown = value.apply(target, args);
            return typeof result === 'object' && result !== null && 'then' in result ? gated(result) : result;
          };
        },
      });
    return new Proxy(db, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (!BUILDS.has(prop) || typeof value !== 'function') return value;
        return (...args: unknown[]) => gated(value.apply(target, args) as object);
      },
    });
  }

  /**
   * Runs an atomic step in an immediate transaction: SQLite's write lock is taken before the first read, so steps run
   * one after another (between processes on the file too), and a step's reads are never stale by the time it writes.
   * `step` runs its statements with the `run` it is given (see StepStatements); it commits when the step resolves and
   * rolls back when it throws, or when it is still running at the deadline.
   */
  async atomically<T>(step: (run: RunStatement) => Promise<T>): Promise<T> {
    while (this.held !== null) await this.held;
    let release!: () => void;
    this.held = new Promise((resolve) => (release = resolve));
    const statements = new StepStatements();
    let timer: NodeJS.Timeout | undefined;
    try {
      this.begin.run();
      try {
        const overdue = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`an atomic step held the database for ${this.stepDeadlineMs} ms: it awaited something other than its own statements (the store's, or another step)`)), this.stepDeadlineMs);
        });
        const result = await Promise.race([statements.settle(() => step(statements.run)), overdue]);
        this.commit.run();
        return result;
      } catch (err) {
        // SQLite may have rolled back already (a full disk, a busy COMMIT): only what is still open is undone.
        if (this.sqlite.inTransaction) this.rollback.run();
        throw err;
      }
    } finally {
      clearTimeout(timer);
      // A step stopped at the deadline may still be running: whatever it tries next is refused, not run unguarded.
      statements.close();
      this.held = null;
      release();
    }
  }
}
