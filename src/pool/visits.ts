import { desc, eq } from 'drizzle-orm';
import type { PoolDb } from './db/client.js';
import { visits, type VisitRow } from './db/schema.js';
import type { Swimmer } from './verifier.js';

/** How many of a swimmer's visits the pool shows: their recent history, not an archive. */
const RECENT_VISITS = 100;

/** A swimmer admitted again within this window gets their visit back instead of a new row (as the gym's check-in). */
const REPEAT_WINDOW_MS = 5 * 60_000;

/** When the swimmer was admitted, newest first. */
export function recentVisits(db: PoolDb, swimmerId: string): Date[] {
  return db
    .select({ admittedAt: visits.admittedAt })
    .from(visits)
    .where(eq(visits.subject, swimmerId))
    .orderBy(desc(visits.id))
    .limit(RECENT_VISITS)
    .all()
    .map((v) => v.admittedAt);
}

/**
 * Admits the swimmer and writes the visit down, with the token that let them in, once per repeat window: a swim
 * within it (a retry, a replayed token, aliases in one request) gets that visit back. The transaction is immediate:
 * the write lock is held before the read, so two writers at once (even two processes on the file) cannot both insert.
 */
export function admit(db: PoolDb, swimmer: Swimmer, now = new Date()): VisitRow {
  return db.transaction(
    (tx) => {
      // The newest visit alone decides: one row read through the (subject, id) index, however long the history.
      const last = tx.select().from(visits).where(eq(visits.subject, swimmer.id)).orderBy(desc(visits.id)).limit(1).get();
      if (last && last.admittedAt.getTime() > now.getTime() - REPEAT_WINDOW_MS) return last;
      return tx.insert(visits).values({ subject: swimmer.id, name: swimmer.name, admittedAt: now, tokenId: swimmer.tokenId }).returning().get();
    },
    { behavior: 'immediate' },
  );
}
