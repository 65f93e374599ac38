import { and, asc, count, eq, gt, ne, or, sql } from 'drizzle-orm';
import type { MembershipStatements, MemberStatements, PlanStatements } from '../data.js';
import { first, type On } from './on.js';

/** The members' statements, written once for both engines. */
export function memberStatements({ db, t, d, run, hot }: On): MemberStatements {
  const { members } = t;
  return {
    byIds: async (ids) => run(hot.membersByIds.execute({ ids: d.list(ids) })),
    byId: async (id) => first(await run(hot.memberById.execute({ id }))),
    byEmail: async (email) => first(await run(db.select().from(members).where(eq(sql`lower(${members.email})`, email)).limit(1))),
    standing: async (id) =>
      first(await run(db.select({ role: members.role, status: members.status, tokenVersion: members.tokenVersion }).from(members).where(eq(members.id, id)))),
    list: async ({ afterId, pattern, limit }) =>
      run(
        db
          .select()
          .from(members)
          .where(
            and(
              afterId === null ? undefined : gt(members.id, afterId),
              pattern === null ? undefined : or(d.like(sql`lower(${members.name})`, pattern), d.like(members.email, pattern)),
            ),
          )
          .orderBy(asc(members.id))
          .limit(limit),
      ),
    any: async () => (await run(db.select({ id: members.id }).from(members).limit(1))).length > 0,
    // No conflict target: the unique index is on lower(email), and whichever unique index refuses the row, no row it is.
    insert: async (values) => first(await run(db.insert(members).values(values).onConflictDoNothing().returning())),
    countActiveAdminsBesides: async (memberId) => {
      const where = and(eq(members.role, 'ADMIN'), eq(members.status, 'ACTIVE'), ne(members.id, memberId));
      return first(await run(db.select({ n: count() }).from(members).where(where)))?.n ?? 0;
    },
    update: async (id, set) => first(await run(db.update(members).set(set).where(eq(members.id, id)).returning())),
    setPasswordIfCurrent: async (id, tokenVersion, passwordHash) => {
      const where = and(eq(members.id, id), eq(members.tokenVersion, tokenVersion), eq(members.status, 'ACTIVE'));
      return (await run(db.update(members).set({ passwordHash }).where(where).returning({ id: members.id }))).length === 1;
    },
    bumpCredentialVersion: async (id) => {
      const bumped = db
        .update(members)
        .set({ tokenVersion: sql`${members.tokenVersion} + 1` })
        .where(eq(members.id, id))
        .returning({ version: members.tokenVersion });
      return first(await run(bumped))?.version;
    },
  };
}

/** The plans' statements. */
export function planStatements({ db, t, d, run, hot }: On): PlanStatements {
  const { plans } = t;
  return {
    all: async () => run(hot.allPlans.execute()),
    byIds: async (ids) => run(hot.plansByIds.execute({ ids: d.list(ids) })),
    byCode: async (code) => first(await run(db.select().from(plans).where(eq(plans.code, code)))),
    ensure: async (rows) => {
      await run(db.insert(plans).values(rows).onConflictDoNothing({ target: plans.code }));
    },
  };
}

/** The memberships' statements. */
export function membershipStatements({ db, t, d, run, hot }: On): MembershipStatements {
  const { memberships } = t;
  return {
    byMemberIds: async (ids) => run(hot.membershipsByMemberIds.execute({ ids: d.list(ids) })),
    upsert: async (values) => {
      const { planId, validUntil, updatedAt } = values;
      const upsert = db.insert(memberships).values(values).onConflictDoUpdate({ target: memberships.memberId, set: { planId, validUntil, updatedAt } });
      return (await run(upsert.returning()))[0]!;
    },
  };
}
