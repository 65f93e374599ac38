import type { QueueOptions } from '../../shared/postgres.js';
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

/** The pool's database, on one engine: its statements, its atomic steps, its health. */
export interface PoolData extends PoolQueries {
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
