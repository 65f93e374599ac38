import type { TestApp } from './app.js';
import { until } from './live.js';

/** A server whose log lines a test reads: the gym (`logs`, a list) or the pool (`logs()`). */
export type Logged = Pick<TestApp, 'logs'> | { logs(): Record<string, unknown>[] };

const linesOf = (server: Logged): Record<string, unknown>[] => (typeof server.logs === 'function' ? server.logs() : server.logs);

/** When the gym had one request in hand, from its request log line (pino's `time` is when it finished). */
export interface Handled {
  start: number;
  end: number;
  status: number;
  outcome: string;
}

/**
 * The requests a server logged after its first `mark` log lines that match (an operation name, or a path when it is
 * not GraphQL), once `count` of them are there: when each started and finished, on the server's own clock.
 */
export async function handled(server: Logged, mark: number, match: { operation?: string; path?: string }, count: number): Promise<Handled[]> {
  const lines = () =>
    linesOf(server)
      .slice(mark)
      .filter((l) => l.msg === 'request' && (match.operation === undefined || l.operation === match.operation) && (match.path === undefined || l.path === match.path));
  await until(() => lines().length >= count, `${count} requests in the log`);
  return lines().map((l) => {
    const end = Number(l.time);
    return { start: end - Number(l.durationMs), end, status: Number(l.status), outcome: String(l.outcome) };
  });
}

/**
 * Whether two of these requests were in the gym's hands at the same time. `time` is whole milliseconds, so an
 * interval may be off by up to one: an overlap counts only beyond that, and back-to-back requests never do.
 */
export function overlapped(requests: Pick<Handled, 'start' | 'end'>[]): boolean {
  const sorted = [...requests].sort((a, b) => a.start - b.start);
  let latestEnd = -Infinity;
  for (const r of sorted) {
    if (r.start + 1 < latestEnd) return true;
    latestEnd = Math.max(latestEnd, r.end);
  }
  return false;
}

/** Whether `one` and `other` were in the gym's hands at the same time (beyond the millisecond the log rounds to). */
export function during(one: Pick<Handled, 'start' | 'end'>, other: Pick<Handled, 'start' | 'end'>): boolean {
  return one.start + 1 < other.end && other.start + 1 < one.end;
}

/**
 * A race that must really happen: `prepare` sets up a round, `fire` sends its `count` racing requests and checks
 * what they answered. Rounds go on until the server had two of those requests in hand at the same time (a round it
 * answered one by one proves nothing about the race); that round's answers are returned. Fails after `rounds` rounds.
 *
 * `overlap: false` says the server cannot overlap them: on SQLite a request that waits on nothing (no hashing, no
 * network) is answered from start to finish before the next one is read. One round is run, and its outcome alone
 * must show the rule (a loser with the documented code, the winner's effect).
 */
export async function raceThatOverlaps<S, T>(
  server: Logged,
  race: { match: { operation?: string; path?: string }; count: number; rounds?: number; overlap?: boolean },
  prepare: () => Promise<S>,
  fire: (prepared: S) => Promise<T>,
): Promise<T> {
  if (race.overlap === false) return fire(await prepare());
  const rounds = race.rounds ?? 10;
  for (let round = 0; round < rounds; round++) {
    const prepared = await prepare();
    const mark = linesOf(server).length;
    const answers = await fire(prepared);
    if (overlapped(await handled(server, mark, race.match, race.count))) return answers;
  }
  throw new Error(`in ${rounds} rounds the gym never had two of the ${race.count} racing requests in hand at once`);
}
