import DataLoader from 'dataloader';
import type { CheckInRow, GymQueries, MemberRow, MembershipRow, PlanRow } from './data.js';

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

export interface LoaderOptions {
  /**
   * Loaders shared by every socket of the process instead of made per request: they never cache (each load reads the
   * database anew), and they batch every load asked for until the event loop next turns, so an event fanned out to a
   * hundred sockets checks their members in one query, not a hundred.
   */
  shared?: boolean;
}

const SHARED = { cache: false, batchScheduleFn: (callback: () => void) => setImmediate(callback) } as const;

/**
 * Per-request DataLoaders: each list that resolves a relation (a page of check-ins with their members, members with
 * their memberships and plans) costs one query per relation, not one per row (on SQLite through statements prepared once).
 * Made per request so that a member never sees another request's cached rows.
 */
export function createLoaders(data: GymQueries, options: LoaderOptions = {}) {
  const common = options.shared ? SHARED : {};
  return {
    memberById: new DataLoader<number, MemberRow | null>(async (keys) => byKey(keys, await data.members.byIds(keys), (m) => m.id), common),
    membershipByMemberId: new DataLoader<number, MembershipRow | null>(
      async (keys) => byKey(keys, await data.memberships.byMemberIds(keys), (m) => m.memberId),
      common,
    ),
    planById: new DataLoader<number, PlanRow | null>(async (keys) => byKey(keys, await data.plans.byIds(keys), (p) => p.id), common),
    checkInById: new DataLoader<number, CheckInRow | null>(async (keys) => byKey(keys, await data.checkIns.byIds(keys), (c) => c.id), common),
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
          const rows = await data.checkIns.pages(memberIds, { limit, beforeId });
          for (const row of rows) {
            const k = `${row.memberId}:${group}`;
            rowsByMember.set(k, [...(rowsByMember.get(k) ?? []), row]);
          }
        }
        return keys.map((key) => rowsByMember.get(`${key.memberId}:${key.limit}:${key.beforeId ?? ''}`) ?? []);
      },
      { ...common, cacheKeyFn: (key) => `${key.memberId}:${key.limit}:${key.beforeId ?? ''}` },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
