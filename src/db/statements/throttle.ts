import { and, asc, count, desc, eq, gt, inArray, lte } from 'drizzle-orm';
import type { ThrottleStatements } from '../data.js';
import { first, type On } from './on.js';

/** The login throttle's failures and the rate limits' counters, written once for both engines. */
export function throttleStatements({ db, t, d, run }: On): ThrottleStatements {
  const { loginFailures: failures, rateLimits } = t;
  const by = (column: 'email' | 'address', value: string, since: number) =>
    and(eq(column === 'email' ? failures.email : failures.address, value), gt(failures.at, since));
  return {
    countFailures: async (column, value, since) => first(await run(db.select({ n: count() }).from(failures).where(by(column, value, since))))?.n ?? 0,
    nthNewestFailureAt: async (column, value, since, n) => {
      const nth = db
        .select({ at: failures.at })
        .from(failures)
        .where(by(column, value, since))
        .orderBy(desc(failures.at), asc(failures.id))
        .limit(1)
        .offset(n - 1);
      return first(await run(nth))?.at;
    },
    insertFailure: async (values) => (await run(db.insert(failures).values(values).returning({ id: failures.id })))[0]!.id,
    deleteFailure: async (id) => {
      await run(db.delete(failures).where(eq(failures.id, id)));
    },
    deleteFailuresOf: async (email) => {
      await run(db.delete(failures).where(eq(failures.email, email)));
    },
    deleteFailuresBefore: async (at) => {
      await run(db.delete(failures).where(lte(failures.at, at)));
    },
    deleteExpiredRateLimits: async (now, batch) => {
      // On PostgreSQL, sweepers running at once take disjoint batches, never waiting on each other.
      const expired = d.skipLocked(db.select({ key: rateLimits.key }).from(rateLimits).where(lte(rateLimits.expire, now)).limit(batch));
      return (await run(db.delete(rateLimits).where(inArray(rateLimits.key, expired)).returning({ key: rateLimits.key }))).length;
    },
  };
}
