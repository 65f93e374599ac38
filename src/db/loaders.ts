import DataLoader from 'dataloader';
import { and, desc, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { ids, type Queries } from './queries.js';
import { checkIns, type CheckInRow, type MemberRow, type MembershipRow, type PlanRow } from './schema.js';

/** Rows in the order of the keys asked for, null where there is none: DataLoader's contract. */
function byKey<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): (V | null)[] {
  const map = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => map.get(key) ?? null);
}

/** A page request for one member's check-ins; the loader batches every member asked for with the same page. */
export interface CheckInPageKey {
  memberId: number;
  /** Rows to fetch: the page size plus one, to know whether there is a next page. */
  limit: number;
  beforeId: number | null;
}

/**
 * Per-request DataLoaders: each list that resolves a relation (a page of check-ins with their members, members with
 * their memberships and plans) costs one query per relation, not one per row, through statements prepared once.
 * Made per request so that a member never sees another request's cached rows.
 */
export function createLoaders(db: Db, queries: Queries) {
  return {
    memberById: new DataLoader<number, MemberRow | null>(async (keys) => byKey(keys, queries.membersByIds.all(ids(keys)), (m) => m.id)),
    membershipByMemberId: new DataLoader<number, MembershipRow | null>(async (keys) =>
      byKey(keys, queries.membershipsByMemberIds.all(ids(keys)), (m) => m.memberId),
    ),
    planById: new DataLoader<number, PlanRow | null>(async (keys) => byKey(keys, queries.plansByIds.all(ids(keys)), (p) => p.id)),
    checkInById: new DataLoader<number, CheckInRow | null>(async (keys) => byKey(keys, queries.checkInsByIds.all(ids(keys)), (c) => c.id)),
    /**
     * Member.checkIns for many members at once: one window-function query per distinct (limit, cursor) pair,
     * newest first within each member.
     */
    checkInPage: new DataLoader<CheckInPageKey, CheckInRow[], string>(
      async (keys) => {
        const groups = new Map<string, CheckInPageKey[]>();
        for (const key of keys) {
          const group = `${key.limit}:${key.beforeId ?? ''}`;
          groups.set(group, [...(groups.get(group) ?? []), key]);
        }
        const rowsByMember = new Map<string, CheckInRow[]>();
        for (const [group, groupKeys] of groups) {
          const { limit, beforeId } = groupKeys[0]!;
          const memberIds = groupKeys.map((k) => k.memberId);
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
            .where(and(inArray(checkIns.memberId, memberIds), beforeId === null ? undefined : lt(checkIns.id, beforeId)))
            .as('ranked');
          const rows = db
            .select({ id: ranked.id, memberId: ranked.memberId, at: ranked.at, door: ranked.door, method: ranked.method })
            .from(ranked)
            .where(sql`${ranked.rank} <= ${limit}`)
            .orderBy(ranked.memberId, desc(ranked.id))
            .all();
          for (const row of rows) {
            const k = `${row.memberId}:${group}`;
            rowsByMember.set(k, [...(rowsByMember.get(k) ?? []), row]);
          }
        }
        return keys.map((key) => rowsByMember.get(`${key.memberId}:${key.limit}:${key.beforeId ?? ''}`) ?? []);
      },
      { cacheKeyFn: (key) => `${key.memberId}:${key.limit}:${key.beforeId ?? ''}` },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
