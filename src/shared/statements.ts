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

/**
 * How an atomic step runs its statements: as they are, with the first that failed remembered. A step that caught a
 * failed statement and went on must not commit: PostgreSQL has aborted its transaction (its COMMIT would quietly roll
 * back, and the step report a success that never happened), and SQLite would keep what ran before the failure. So
 * {@link StepStatements.settle} fails the step with that error on both engines, as if it had not been caught, and the
 * transaction is undone. (Steps never catch database errors; this keeps one that did from lying.)
 */
export class StepStatements {
  private failed: { error: unknown } | undefined;
  private closed = false;

  /** Runs one statement of the step (called at once, so statements run in the order the step gives them). */
  readonly run: RunStatement = <T>(query: PromiseLike<T>): PromiseLike<T> => {
    if (this.closed) return Promise.reject(new Error('this atomic step is over: its statements can no longer run'));
    return new Promise<T>((resolve, reject) =>
      query.then(resolve, (error: unknown) => {
        this.failed ??= { error };
        reject(error);
      }),
    );
  };

  /** Runs `step` and settles it: its result, or the first of its statements that failed even if it was caught. */
  async settle<T>(step: () => Promise<T>): Promise<T> {
    const result = await step();
    // Read anew: the step's statements set it meanwhile.
    const failed = this.failed as { error: unknown } | undefined;
    if (failed) throw failed.error;
    return result;
  }

  /** Ends the step: a statement it still runs (one stopped at a deadline, running on) is refused. */
  close(): void {
    this.closed = true;
  }
}

/** How a statement is run: a Drizzle query, which runs when its `then` is called. */
export type RunStatement = <T>(query: PromiseLike<T>) => PromiseLike<T>;
