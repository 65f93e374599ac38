import { and, asc, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client.js';
import { checkIns, members, memberships, plans } from './schema.js';

/**
 * A list of ids bound as one JSON parameter (`id in (select value from json_each(?))`), so that a single prepared
 * statement serves a batch of any size: DataLoader batches vary from one key to a page of fifty.
 */
const idList = (name: string): SQL => sql`(select value from json_each(${sql.placeholder(name)}))`;

/**
 * The statements every request runs (authentication, `me`, the access sheet and its relations), prepared once when
 * the server starts instead of being built and compiled by the query builder on every call.
 */
export function createQueries(db: Db) {
  const sheet = (filters: { member: boolean; cursor: boolean }) =>
    db
      .select()
      .from(checkIns)
      .where(
        and(
          filters.member ? eq(checkIns.memberId, sql.placeholder('memberId')) : undefined,
          filters.cursor ? lt(checkIns.id, sql.placeholder('beforeId')) : undefined,
        ),
      )
      .orderBy(desc(checkIns.id))
      .limit(sql.placeholder('limit'))
      .prepare();
  return {
    membersByIds: db.select().from(members).where(inArray(members.id, idList('ids'))).prepare(),
    membershipsByMemberIds: db.select().from(memberships).where(inArray(memberships.memberId, idList('ids'))).prepare(),
    plansByIds: db.select().from(plans).where(inArray(plans.id, idList('ids'))).prepare(),
    allPlans: db.select().from(plans).orderBy(asc(plans.monthlyPriceCents)).prepare(),
    checkInsByIds: db.select().from(checkIns).where(inArray(checkIns.id, idList('ids'))).prepare(),
    /** The access sheet, newest first: one statement per shape of filter, so each keeps its index. */
    checkInSheet: {
      all: sheet({ member: false, cursor: false }),
      after: sheet({ member: false, cursor: true }),
      member: sheet({ member: true, cursor: false }),
      memberAfter: sheet({ member: true, cursor: true }),
    },
  };
}

export type Queries = ReturnType<typeof createQueries>;

/** Binds a list of ids for a statement made with {@link idList}. */
export const ids = (values: readonly number[]) => ({ ids: JSON.stringify(values) });
