import { inArray, like, ilike, sql, type Column, type SQL } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { prepare, type Preparable, type Prepared } from '../shared/statements.js';
import * as pgSchema from './pg-schema.js';
import * as sqliteSchema from './schema.js';

/** The gym's tables, as every statement names them. */
export const SQLITE_TABLES = {
  plans: sqliteSchema.plans,
  members: sqliteSchema.members,
  memberships: sqliteSchema.memberships,
  checkIns: sqliteSchema.checkIns,
  sessions: sqliteSchema.sessions,
  loginFailures: sqliteSchema.loginFailures,
  refreshTokens: sqliteSchema.refreshTokens,
  rateLimits: sqliteSchema.rateLimits,
  appSecrets: sqliteSchema.appSecrets,
  oidcRecords: sqliteSchema.oidcRecords,
};
export type Tables = typeof SQLITE_TABLES;

/**
 * The same tables on PostgreSQL, under the SQLite tables' types: the one cast that lets each statement be written once.
 * Drizzle builds a statement from the tables it is handed, in the dialect of the database it runs on, so at run time
 * PostgreSQL always gets its own tables; the types are the SQLite ones because test/unit/pg-schema.test.ts holds the
 * two definitions equal (every column's name, nullability, key and index), and both give the same row types.
 */
export const PG_TABLES = {
  plans: pgSchema.plans,
  members: pgSchema.members,
  memberships: pgSchema.memberships,
  checkIns: pgSchema.checkIns,
  sessions: pgSchema.sessions,
  loginFailures: pgSchema.loginFailures,
  refreshTokens: pgSchema.refreshTokens,
  rateLimits: pgSchema.rateLimits,
  appSecrets: pgSchema.appSecrets,
  oidcRecords: pgSchema.oidcRecords,
} as unknown as Tables;

/**
 * The database a statement is built on, typed as SQLite's. Only what reads the same on both engines is used through it
 * (select, insert, update, delete, returning, on conflict, awaited for their rows); what does not is in {@link Dialect}.
 */
export type Db = BetterSQLite3Database<typeof sqliteSchema>;

export type { Prepared };

/** What the two engines write differently. Everything else in the gym's statements is written once. */
export interface Dialect {
  readonly engine: 'sqlite' | 'postgres';
  /**
   * `column in` a list of ids bound as one parameter of a prepared statement, so that a single statement serves a batch
   * of any size (DataLoader batches vary from one key to a page of fifty): `json_each` on SQLite, `= any` on PostgreSQL.
   */
  inList(column: Column, placeholder: string): SQL;
  /** The value of {@link inList}'s parameter. */
  list(ids: readonly number[]): unknown;
  /** `column in` a list of ids, in a statement built per call. */
  inIds(column: Column, ids: readonly number[]): SQL;
  /**
   * A LIKE match with `!` as the escape character (not a backslash, whose meaning in a PostgreSQL string depends on a
   * server setting). SQLite's LIKE ignores (ASCII) case; PostgreSQL's ILIKE answers the same.
   */
  like(value: Column | SQL, pattern: string): SQL;
  /** On PostgreSQL, skips rows another transaction holds (`for update skip locked`); SQLite's writers never overlap. */
  skipLocked<Q>(select: Q): Q;
  /** Prepares a statement: under `name` on PostgreSQL's pool (per connection), unnamed in a transaction and on SQLite. */
  prepare<R>(query: Preparable<R>, name: string | undefined): Prepared<R>;
}

export const SQLITE: Dialect = {
  engine: 'sqlite',
  inList: (column, placeholder) => inArray(column, sql`(select value from json_each(${sql.placeholder(placeholder)}))`),
  list: (ids) => JSON.stringify(ids),
  inIds: (column, ids) => inArray(column, [...ids]),
  like: (value, pattern) => like(value, sql`${pattern} escape '!'`),
  skipLocked: (select) => select,
  prepare: (query, name) => prepare('sqlite', query, name),
};

export const POSTGRES: Dialect = {
  engine: 'postgres',
  inList: (column, placeholder) => sql`${column} = any(${sql.placeholder(placeholder)}::integer[])`,
  list: (ids) => [...ids],
  inIds: (column, ids) => sql`${column} = any(${sql.param([...ids])}::integer[])`,
  like: (value, pattern) => ilike(value, sql`${pattern} escape '!'`),
  skipLocked: (select) => (select as { for(strength: 'update', config: { skipLocked: boolean }): unknown }).for('update', { skipLocked: true }) as typeof select,
  prepare: (query, name) => prepare('postgres', query, name),
};
