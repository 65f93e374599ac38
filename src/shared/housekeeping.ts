import type { Logger } from 'pino';
import { realClock, type Clock } from './clock.js';

/** Named periodic chores (reload keys, sweep expired rows): each runs on its own, so one failing stops no other. */
export type Chores = Record<string, () => unknown>;

/** Runs every chore once; a chore that throws is logged by name, and the next one runs all the same. */
export async function runChores(chores: Chores, log: Pick<Logger, 'warn'>): Promise<void> {
  for (const [chore, run] of Object.entries(chores)) {
    try {
      await run();
    } catch (err) {
      log.warn({ err, chore }, 'housekeeping chore failed; it runs again next time');
    }
  }
}

/** Runs the chores every `intervalMs` on `clock`, never keeping the process alive. Returns a function that stops them. */
export function scheduleChores(chores: Chores, log: Pick<Logger, 'warn'>, intervalMs = 60_000, clock: Pick<Clock, 'every'> = realClock): () => void {
  return clock.every(intervalMs, () => runChores(chores, log));
}
