import type { GymData, GymQueries } from '../db/data.js';
import { RateLimitedError } from '../shared/errors.js';

export interface ThrottleLimits {
  maxFailuresPerEmail: number;
  maxFailuresPerAddress: number;
  windowMs: number;
}

/**
 * Counts failed logins per email and per client address in the database, so limits hold across restarts, processes
 * and requests running at the same time.
 *
 * An attempt is recorded as a failure *before* the password is checked, in the same atomic step as the count,
 * and withdrawn only if it succeeds: two concurrent guesses (or ten aliased `login` fields, or two instances of the
 * gym) can never both slip under the limit while the slow hash runs.
 */
export class LoginThrottle {
  constructor(
    private readonly data: GymData,
    private readonly limits: ThrottleLimits,
  ) {}

  /** Refuses with RATE_LIMITED when either limit is reached, else records a pending failure and returns its id. */
  begin(email: string, address: string, now = Date.now()): Promise<number> {
    // A burst of guesses at one email, or of logins from one address (an office behind one NAT), queues on its key.
    return this.data.atomically((tx) => this.record(tx, email, address, now), { queueOn: [`login-email:${email}`, `login-address:${address}`] });
  }

  /** Withdraws one pending attempt that never reached the password check (another limit refused it first). */
  withdraw(attempt: number): Promise<void> {
    return this.data.throttle.deleteFailure(attempt);
  }

  /** A successful login withdraws its own pending failure and forgives the earlier failures for that email. */
  succeeded(email: string): Promise<void> {
    return this.data.throttle.deleteFailuresOf(email);
  }

  /** Drops rows older than the window; they can never count again. */
  sweep(now = Date.now()): Promise<void> {
    return this.data.throttle.deleteFailuresBefore(now - this.limits.windowMs);
  }

  private async record(tx: GymQueries, email: string, address: string, now: number): Promise<number> {
    const byEmail = await this.retryAfter(tx, 'email', email, this.limits.maxFailuresPerEmail, now);
    const byAddress = await this.retryAfter(tx, 'address', address, this.limits.maxFailuresPerAddress, now);
    const wait = Math.max(byEmail, byAddress);
    if (wait > 0) throw new RateLimitedError(wait);
    return tx.throttle.insertFailure({ email, address, at: now });
  }

  /**
   * Seconds until fewer than `max` failures remain in the window, or 0 when under the limit. With failures
   * sorted newest first, the limit lifts when the max-th newest one leaves the window.
   */
  private async retryAfter(tx: GymQueries, by: 'email' | 'address', value: string, max: number, now: number): Promise<number> {
    const since = now - this.limits.windowMs;
    const total = await tx.throttle.countFailures(by, value, since);
    if (total < max) return 0;
    const pivot = await tx.throttle.nthNewestFailureAt(by, value, since, max);
    const liftsAt = (pivot ?? now) + this.limits.windowMs;
    return Math.max(1, Math.ceil((liftsAt - now) / 1000));
  }
}
