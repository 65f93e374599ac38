/**
 * Where Keycard reads the time for its own deadlines (session timeouts, token expiry, refresh grace) and schedules
 * its periodic chores. Production runs on {@link realClock}; a test gives createApp a clock it moves forward, so that
 * a timeout is reached without waiting for it.
 */
export interface Clock {
  /** Milliseconds since the epoch, as Date.now() gives them. */
  now(): number;
  /** Runs `task` every `intervalMs` without keeping the process alive; returns a function that stops it. */
  every(intervalMs: number, task: () => Promise<void>): () => void;
}

/** The machine's clock and setInterval. */
export const realClock: Clock = {
  now: () => Date.now(),
  every(intervalMs, task) {
    const timer = setInterval(() => void task(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  },
};
