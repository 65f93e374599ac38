/**
 * Where Keycard reads the time for its own deadlines (session timeouts, token expiry, refresh grace) and schedules
 * its periodic chores and the checks at a credential's end. Production runs on {@link realClock}; a test gives
 * createApp a clock it moves forward, so that a timeout is reached without waiting for it.
 */
export interface Clock {
  /** Milliseconds since the epoch, as Date.now() gives them. */
  now(): number;
  /** Runs `task` every `intervalMs` without keeping the process alive; returns a function that stops it. */
  every(intervalMs: number, task: () => Promise<void>): () => void;
  /**
   * Runs `task` once, when this clock reaches `deadline` (ms since the epoch; at once if it already has), without
   * keeping the process alive; returns a function that cancels it.
   */
  at(deadline: number, task: () => unknown): () => void;
}

/** setTimeout takes at most this many milliseconds (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The machine's clock, setInterval and setTimeout. */
export const realClock: Clock = {
  now: () => Date.now(),
  every(intervalMs, task) {
    const timer = setInterval(() => void task(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  },
  at(deadline, task) {
    let timer: NodeJS.Timeout;
    const arm = () => {
      const wait = deadline - Date.now();
      // A deadline beyond setTimeout's reach waits in steps rather than firing early.
      timer = setTimeout(() => (wait > MAX_TIMER_MS ? arm() : void task()), Math.min(Math.max(wait, 0), MAX_TIMER_MS));
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  },
};
