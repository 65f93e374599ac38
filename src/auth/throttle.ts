import { and, asc, count, eq, gt, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { loginFailures } from '../db/schema.js';
import { RateLimitedError } from '../errors.js';

export interface ThrottleLimits {
  maxFailuresPerEmail: number;
  maxFailuresPerAddress: number;
  windowMs: number;
}

/**
 * Counts failed logins per email and per client address in the database, so limits hold across restarts and
 * across requests running at the same time.
 *
 * An attempt is recorded as a failure *before* the password is checked, in the same transaction as the count,
 * and withdrawn only if it succeeds: two concurrent guesses (or ten aliased `login` fields) can never both slip
 * under the limit while the slow hash runs.
 */
export class LoginThrottle {
  constructor(
    private readonly db: Db,
    private readonly limits: ThrottleLimits,
  ) {}

  /** Refuses with RATE_LIMITED when either limit is reached, else records a pending failure and returns its id. */
  begin(email: string, address: string, now = Date.now()): number {
    const since = now - this.limits.windowMs;
    return this.db.transaction((tx) => {
      const byEmail = this.retryAfter(tx, eq(loginFailures.email, email), this.limits.maxFailuresPerEmail, since, now);
      const byAddress = this.retryAfter(tx, eq(loginFailures.address, address), this.limits.maxFailuresPerAddress, since, now);
      const wait = Math.max(byEmail, byAddress);
      if (wait > 0) throw new RateLimitedError(wait);
      const row = tx.insert(loginFailures).values({ email, address, at: now }).returning({ id: loginFailures.id }).get();
      return row.id;
    }, { behavior: 'immediate' });
  }

  /** Withdraws one pending attempt that never reached the password check (another limit refused it first). */
  withdraw(attempt: number): void {
    this.db.delete(loginFailures).where(eq(loginFailures.id, attempt)).run();
  }

  /** A successful login withdraws its own pending failure and forgives the earlier failures for that email. */
  succeeded(email: string): void {
    this.db.delete(loginFailures).where(eq(loginFailures.email, email)).run();
  }

  /** Drops rows older than the window; they can never count again. */
  sweep(now = Date.now()): void {
    this.db.delete(loginFailures).where(lte(loginFailures.at, now - this.limits.windowMs)).run();
  }

  /**
   * Seconds until fewer than `max` failures remain in the window, or 0 when under the limit. With failures
   * sorted newest first, the limit lifts when the max-th newest one leaves the window.
   */
  private retryAfter(tx: Pick<Db, 'select'>, match: ReturnType<typeof eq>, max: number, since: number, now: number): number {
    const where = and(match, gt(loginFailures.at, since));
    const total = tx.select({ n: count() }).from(loginFailures).where(where).get()?.n ?? 0;
    if (total < max) return 0;
    const pivot = tx
      .select({ at: loginFailures.at })
      .from(loginFailures)
      .where(where)
      .orderBy(sql`${loginFailures.at} desc`, asc(loginFailures.id))
      .limit(1)
      .offset(max - 1)
      .get();
    const liftsAt = (pivot?.at ?? now) + this.limits.windowMs;
    return Math.max(1, Math.ceil((liftsAt - now) / 1000));
  }
}
