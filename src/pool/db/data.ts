import type { QueueOptions } from '../../shared/postgres.js';
import type { SessionRows } from '../../shared/session-store.js';
import type { VisitRow } from './schema.js';

export type { VisitRow };

export type PoolEngine = 'sqlite' | 'postgres';

export interface NewVisit {
  subject: string;
  name: string;
  admittedAt: Date;
  tokenId: string | null;
}

/** A website session's row (see the shared session store). */
export interface PoolSessionRecord {
  /** The SHA-256 of the session id, never the id. */
  key: string;
  /** The swimmer's pairwise subject; null while a sign-in is under way. */
  subject: string | null;
  /** express-session's data, as JSON. */
  data: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** The swimmers' visits. */
export interface VisitStatements {
  /** When the swimmer was admitted, newest first, at most `limit` times. */
  recent(subject: string, limit: number): Promise<Date[]>;
  /** The swimmer's newest visit, if any. */
  last(subject: string): Promise<VisitRow | undefined>;
  insert(values: NewVisit): Promise<VisitRow>;
}

/** The website's sessions: what the shared store reads and deletes, and a new session's insert. */
export interface PoolSessionStatements extends SessionRows {
  /** Stores a new session; a row already under that key is left alone. */
  insert(record: PoolSessionRecord): Promise<void>;
}

/**
 * What an atomic step of the pool runs (`statements.ts`, written once for both engines). The rule (one visit per
 * repeat window) lives in `visits.ts`.
 */
export interface PoolQueries {
  readonly visits: VisitStatements;
}

/** The pool's database, on one engine: its statements, its atomic steps, its health. */
export interface PoolData extends PoolQueries {
  readonly engine: PoolEngine;
  readonly sessions: PoolSessionStatements;
  /**
   * Runs an atomic step: on SQLite in an immediate transaction, the connection the step's alone until it ends (so a
   * step awaits nothing but its statements); on PostgreSQL in a serializable one, retried a bounded number of times
   * when PostgreSQL reports it would not be, after waiting its turn behind steps on the same `queueOn` keys.
   */
  atomically<T>(step: (tx: PoolQueries) => Promise<T>, options?: QueueOptions): Promise<T>;
  /** True while the database answers, within a bound. */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}
