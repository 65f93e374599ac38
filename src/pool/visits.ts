import { desc, eq } from 'drizzle-orm';
import type { PoolDb } from './db/client.js';
import { visits, type VisitRow } from './db/schema.js';
import type { Swimmer } from './verifier.js';

/** How many of a swimmer's visits the pool shows: their recent history, not an archive. */
const RECENT_VISITS = 100;

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

/** Admits the swimmer and writes the visit down, with the token that let them in. */
export function admit(db: PoolDb, swimmer: Swimmer, now = new Date()): VisitRow {
  return db.insert(visits).values({ subject: swimmer.id, name: swimmer.name, admittedAt: now, tokenId: swimmer.tokenId }).returning().get();
}
