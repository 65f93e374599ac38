import type { QueueOptions } from '../../shared/postgres.js';
import type { SessionRows } from '../../shared/session-store.js';
import type { Script, Step } from '../../shared/steps.js';
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

/**
 * Every statement the pool runs on its own database, one method each, as the gym's `GymQueries` are: answered at once
 * on SQLite, as a promise on PostgreSQL. The rule (one visit per repeat window) lives in `visits.ts`, written once as a
 * script both engines run.
 */
export interface PoolQueries {
  /** When the swimmer was admitted, newest first, at most `limit` times. */
  recentVisits(subject: string, limit: number): Step<Date[]>;
  /** The swimmer's newest visit, if any. */
  lastVisit(subject: string): Step<VisitRow | undefined>;
  insertVisit(values: NewVisit): Step<VisitRow>;
}

/** The website's sessions: what the shared store reads and deletes, and a new session's insert. */
export interface PoolSessionQueries extends SessionRows {
  /** Stores a new session; a row already under that key is left alone. */
  insertSession(record: PoolSessionRecord): Step<void>;
}

/** The pool's database, on one engine: its statements, its atomic steps, its health. */
export interface PoolData extends PoolQueries, PoolSessionQueries {
  readonly engine: PoolEngine;
  /**
   * Runs an atomic step: on SQLite in an immediate transaction (the write lock before the first read), on PostgreSQL
   * in a serializable one, retried a bounded number of times when PostgreSQL reports it would not be.
   */
  atomically<T>(script: (q: PoolQueries) => Script<T>, options?: QueueOptions): Step<T>;
  /** True while the database answers, within a bound. */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}
