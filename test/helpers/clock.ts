import type { Clock } from '../../src/shared/clock.js';

interface Chore {
  intervalMs: number;
  due: number;
  task: () => Promise<void>;
}

/**
 * A clock a test moves forward instead of sleeping: the machine's time plus whatever the test has skipped. It never
 * runs behind the machine, so what still reads the machine's clock (express-session's cookie, the session rows'
 * own expiry check) is never stricter than what reads this one, and Keycard's own deadlines decide.
 *
 * Chores scheduled on it (key reload, sweeps) run only when {@link advance} passes their time, each once however far
 * it goes, as a late interval would: a test that skips an hour sees one sweep, not sixty.
 */
export class TestClock implements Clock {
  private skipped = 0;
  private readonly chores = new Set<Chore>();

  now(): number {
    return Date.now() + this.skipped;
  }

  every(intervalMs: number, task: () => Promise<void>): () => void {
    const chore = { intervalMs, due: this.now() + intervalMs, task };
    this.chores.add(chore);
    return () => this.chores.delete(chore);
  }

  /** Moves time forward by `ms`, then runs (and waits for) every chore that fell due. */
  async advance(ms: number): Promise<void> {
    this.skipped += ms;
    const now = this.now();
    for (const chore of [...this.chores]) {
      if (chore.due > now) continue;
      chore.due = now + chore.intervalMs;
      await chore.task();
    }
  }
}
