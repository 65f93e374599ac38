import { and, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { CheckInStatements } from '../data.js';
import { first, type On, type SheetShape } from './on.js';

/** The access sheet's statements, written once for both engines. */
export function checkInStatements({ db, t, d, run, hot }: On): CheckInStatements {
  const { checkIns } = t;
  return {
    byIds: async (ids) => run(hot.checkInsByIds.execute({ ids: d.list(ids) })),
    sheet: async ({ memberId, beforeId, limit }) => {
      const shape: SheetShape = memberId === null ? (beforeId === null ? 'all' : 'after') : beforeId === null ? 'member' : 'memberAfter';
      return run(hot[`sheet_${shape}`].execute({ limit, memberId, beforeId }));
    },
    pages: async (memberIds, { limit, beforeId }) => {
      const ranked = db
        .select({
          id: checkIns.id,
          memberId: checkIns.memberId,
          at: checkIns.at,
          door: checkIns.door,
          method: checkIns.method,
          rank: sql<number>`row_number() over (partition by ${checkIns.memberId} order by ${checkIns.id} desc)`.as('rank'),
        })
        .from(checkIns)
        .where(and(d.inIds(checkIns.memberId, memberIds), beforeId === null ? undefined : lt(checkIns.id, beforeId)))
        .as('ranked');
      const page = db
        .select({ id: ranked.id, memberId: ranked.memberId, at: ranked.at, door: ranked.door, method: ranked.method })
        .from(ranked)
        .where(sql`${ranked.rank} <= ${limit}`)
        .orderBy(ranked.memberId, desc(ranked.id));
      return run(page);
    },
    lastSince: async (memberId, since) =>
      first(
        await run(
          db
            .select()
            .from(checkIns)
            .where(and(eq(checkIns.memberId, memberId), gt(checkIns.at, since)))
            .orderBy(desc(checkIns.id))
            .limit(1),
        ),
      ),
    insert: async (values) => (await run(db.insert(checkIns).values(values).returning()))[0]!,
    insertMany: async (rows) => {
      if (rows.length > 0) await run(db.insert(checkIns).values(rows));
    },
  };
}
