import { MAX_TIMER_MS, type Clock } from '../../src/shared/clock.js';

interface Chore {
  intervalMs: number;
  due: number;
  task: () => Promise<void>;
}

interface Timer {
  deadline: number;
  task: () => unknown;
  handle: NodeJS.Timeout;
}

/**
 * A clock a test moves forward instead of sleeping: the machine's time plus whatever the test has skipped. It never
 * runs behind the machine, so what still reads the machine's clock (express-session's cookie, the session rows'
 * own expiry check) is never stricter than what reads this one, and Keycard's own deadlines decide.
 *
 * Chores scheduled on it (key reload, sweeps) run only when {@link advance} passes their time, each once however far
 * it goes, as a late interval would: a test that skips an hour sees one sweep, not sixty. A task set {@link at} a
 * deadline runs when advance reaches it, or when the machine's time does (this clock moves with the machine too).
 */
export class TestClock implements Clock {
  private skipped = 0;
  private readonly chores = new Set<Chore>();
  private readonly timers = new Set<Timer>();

  now(): number {
    return Date.now() + this.skipped;
  }

  every(intervalMs: number, task: () => Promise<void>): () => void {
    const chore = { intervalMs, due: this.now() + intervalMs, task };
    this.chores.add(chore);
    return () => this.chores.delete(chore);
  }

  at(deadline: number, task: () => unknown): () => void {
    const timer: Timer = {
      deadline,
      task,
      handle: setTimeout(() => void this.fire(timer), Math.min(Math.max(deadline - this.now(), 0), MAX_TIMER_MS)),
    };
    timer.handle.unref();
    this.timers.add(timer);
    return () => {
      this.timers.delete(timer);
      clearTimeout(timer.handle);
    };
  }

  /** Moves time forward by `ms`, then runs (and waits for) every timer and chore that fell due. */
  async advance(ms: number): Promise<void> {
    this.skipped += ms;
    const now = this.now();
    for (const timer of [...this.timers]) if (timer.deadline <= now) await this.fire(timer);
    for (const chore of [...this.chores]) {
      if (chore.due > now) continue;
      chore.due = now + chore.intervalMs;
      await chore.task();
    }
  }

  private async fire(timer: Timer): Promise<void> {
    if (!this.timers.delete(timer)) return;
    clearTimeout(timer.handle);
    // The machine's timer can fire before a deadline it could not reach in one step: set it again.
    if (timer.deadline > this.now()) {
      this.timers.add(timer);
      timer.handle = setTimeout(() => void this.fire(timer), Math.min(timer.deadline - this.now(), MAX_TIMER_MS));
      timer.handle.unref();
      return;
    }
    await timer.task();
  }
}
