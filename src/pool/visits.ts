import type { PoolData, PoolQueries, VisitRow } from './db/data.js';
import type { Swimmer } from './verifier.js';

/** How many of a swimmer's visits the pool shows: their recent history, not an archive. */
const RECENT_VISITS = 100;

/** A swimmer admitted again within this window gets their visit back instead of a new row (as the gym's check-in). */
const REPEAT_WINDOW_MS = 5 * 60_000;

/** When the swimmer was admitted, newest first. */
export function recentVisits(data: PoolData, swimmerId: string): Promise<Date[]> {
  return data.visits.recent(swimmerId, RECENT_VISITS);
}

/**
 * Admission as an atomic step: the newest visit alone decides (one row read through the (subject, id) index, however
 * long the history), and a swim within the repeat window (a retry, a replayed token, aliases in one request) gets that
 * visit back.
 */
async function admission(tx: PoolQueries, swimmer: Swimmer, now: Date): Promise<VisitRow> {
  const last = await tx.visits.last(swimmer.id);
  if (last && last.admittedAt.getTime() > now.getTime() - REPEAT_WINDOW_MS) return last;
  return tx.visits.insert({ subject: swimmer.id, name: swimmer.name, admittedAt: now, tokenId: swimmer.tokenId });
}

/**
 * Admits the swimmer and writes the visit down, with the token that let them in, once per repeat window. The read and
 * the write are one atomic step, so two admissions at once (two requests, two processes) cannot both insert: SQLite
 * runs them one after the other; on PostgreSQL they queue on the swimmer (and a loser would run again on the
 * winner's visit).
 */
export function admit(data: PoolData, swimmer: Swimmer, now = new Date()): Promise<VisitRow> {
  return data.atomically((tx) => admission(tx, swimmer, now), { queueOn: [`swimmer:${swimmer.id}`] });
}

