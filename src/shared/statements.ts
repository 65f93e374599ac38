/**
 * What the gym's and the pool's statements, each written once for SQLite and PostgreSQL, share about running: a
 * Drizzle query runs when awaited, on either engine, and a prepared one is prepared differently on each.
 */

/** A statement prepared once: awaited, its rows (a statement with `returning`, the rows it changed). */
export interface Prepared<R> {
  execute(params?: Record<string, unknown>): PromiseLike<R>;
}

/** Anything Drizzle can prepare. */
export interface Preparable<R> {
  prepare(): Prepared<R>;
}

/**
 * Prepares a statement: on PostgreSQL under `name` (on a pool, each connection parses and plans it once; undefined
 * in a transaction, where it runs unnamed on the transaction's connection), on SQLite once, on its one connection.
 */
export function prepare<R>(engine: 'sqlite' | 'postgres', query: Preparable<R>, name: string | undefined): Prepared<R> {
  if (engine === 'sqlite') return query.prepare();
  return (query as unknown as { prepare(name: string | undefined): Prepared<R> }).prepare(name);
}

/** How a statement is run where nothing stands between it and the database: it is awaited as it is. */
export const direct = <T>(query: PromiseLike<T>): PromiseLike<T> => query;
