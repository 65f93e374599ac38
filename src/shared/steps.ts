/**
 * Keycard's data runs on two engines that disagree about time. better-sqlite3 answers every statement at once (it is
 * synchronous, in-process) and refuses a transaction whose function returns a promise; PostgreSQL answers over a
 * socket, so every statement is a promise. An atomic step (rotate a refresh token, record a login attempt, change a
 * password) must still be written once, with one set of rules, for both.
 *
 * So an atomic step is a generator, a *script*: it yields each statement it runs and is resumed with the answer. The
 * same script is driven synchronously inside a better-sqlite3 transaction ({@link runSync}) and asynchronously inside
 * a PostgreSQL one ({@link runAsync}). Written as:
 *
 * ```ts
 * function* rotate(q: GymQueries, hash: string) {
 *   const row = yield* step(q.refreshByHash(hash)); // a row on either engine
 *   ...
 * }
 * ```
 */

/** What a statement answers: the value itself on SQLite, a promise of it on PostgreSQL. */
export type Step<T> = T | Promise<T>;

/** An atomic step, written once, run by either engine. Its statements are yielded; its result is returned. */
export type Script<T> = Generator<unknown, T, any>;

/** Waits for one statement's answer inside a script (`yield*` it): typed, whichever engine runs the script. */
export function* step<T>(answer: Step<T>): Generator<Step<T>, T, T> {
  return yield answer;
}

/** Whether a statement's answer is still to come (PostgreSQL) rather than already here (SQLite). */
export function isPromise<T>(value: Step<T>): value is Promise<T>;
export function isPromise(value: unknown): value is PromiseLike<unknown>;
export function isPromise(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Runs a script whose statements answer at once (SQLite, inside its synchronous transaction). */
export function runSync<T>(script: Script<T>): T {
  let next = script.next();
  while (!next.done) {
    if (isPromise(next.value)) throw new Error('a statement answered with a promise inside a synchronous transaction');
    next = script.next(next.value);
  }
  return next.value;
}

/** Runs a script whose statements answer with promises (PostgreSQL, inside its transaction). */
export async function runAsync<T>(script: Script<T>): Promise<T> {
  let failed: { error: unknown } | undefined;
  let next = script.next();
  while (!next.done) {
    let answer: unknown;
    try {
      answer = await next.value;
    } catch (err) {
      // Thrown into the script where the statement was, so that its finally blocks run.
      failed ??= { error: err };
      next = script.throw(err);
      continue;
    }
    next = script.next(answer);
  }
  // A script that caught a failed statement and went on cannot commit on PostgreSQL (the transaction is aborted; its
  // COMMIT would quietly roll back). Say so rather than report a success that did not happen. (On SQLite the failed
  // statement alone would be undone and the rest committed: so scripts never catch database errors, and a statement
  // that fails fails the step on both engines alike.)
  if (failed) throw failed.error;
  return next.value;
}

/** Applies `then` to a step's answer without a promise on the engine that answers at once. */
export function thenStep<T, U>(answer: Step<T>, then: (value: T) => U): Step<U> {
  return isPromise(answer) ? (answer as Promise<T>).then(then) : then(answer as T);
}
