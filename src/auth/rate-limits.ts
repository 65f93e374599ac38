import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { RateLimiterDrizzle, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitRules } from '../config/options.js';
import type { GymData } from '../db/data.js';
import { RateLimitedError } from '../shared/errors.js';

export type RateLimitName = keyof RateLimitRules;

/** Rows deleted per step of the sweep: a few milliseconds of work at most. */
const SWEEP_BATCH = 500;

/**
 * What a refused caller is told: which count is full, never whose. The login limit speaks as the failure throttle
 * does, and answers with its whole window: a stranger must not read from it how often, or when, an account signed in.
 */
const MESSAGES: Record<RateLimitName, string> = {
  signUp: 'Too many sign-ups from this address; try again later',
  login: 'Too many failed sign-in attempts; try again later',
  refresh: 'Too many refreshes for this account; try again later',
  checkIn: 'Too many check-ins; try again later',
  passwordCheck: 'Too many wrong current passwords; try again later',
  authorize: 'Too many sign-ins with the gym from this address; try again later',
  authorizeResume: 'Too many sign-ins with the gym from this address; try again later',
};

/**
 * Fixed-window rate limits, counted in the database (rate-limiter-flexible's Drizzle store, one atomic upsert per
 * action, on either engine), so they hold across restarts, processes and requests running at once. Over a limit: RATE_LIMITED with
 * `retryAfterSeconds`.
 */
export class RateLimits {
  private readonly limiters: Record<RateLimitName, RateLimiterDrizzle>;

  constructor(
    private readonly data: GymData,
    private readonly rules: RateLimitRules,
  ) {
    const limiter = (name: RateLimitName) =>
      new RateLimiterDrizzle({
        ...data.rateLimitStore,
        keyPrefix: name,
        points: rules[name].points,
        duration: rules[name].windowMs / 1000,
        // Expired rows are swept by the server's housekeeping, not by a timer per limiter.
        clearExpiredByTimeout: false,
      });
    this.limiters = {
      signUp: limiter('signUp'),
      login: limiter('login'),
      refresh: limiter('refresh'),
      checkIn: limiter('checkIn'),
      passwordCheck: limiter('passwordCheck'),
      authorize: limiter('authorize'),
      authorizeResume: limiter('authorizeResume'),
    };
  }

  /** Counts one action for `key`; RATE_LIMITED when that makes it more than the rule allows. */
  async consume(name: RateLimitName, key: string | number): Promise<void> {
    try {
      await this.limiters[name].consume(String(key));
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const waitMs = name === 'login' ? this.rules.login.windowMs : err.msBeforeNext;
        throw new RateLimitedError(Math.max(1, Math.ceil(waitMs / 1000)), MESSAGES[name]);
      }
      throw err;
    }
  }

  /** Forgets `key`'s count (a correct current password clears the wrong ones before it). */
  async reset(name: RateLimitName, key: string | number): Promise<void> {
    await this.limiters[name].delete(String(key));
  }

  /**
   * Drops counters whose window has passed, a batch at a time with the event loop free in between, however many a
   * flood left behind.
   */
  async sweep(now = Date.now()): Promise<void> {
    while ((await this.data.throttle.deleteExpiredRateLimits(new Date(now), SWEEP_BATCH)) === SWEEP_BATCH) await yieldToEventLoop();
  }
}
