import { and, desc, eq, gt, isNotNull, isNull, lt, lte, ne, notInArray, or } from 'drizzle-orm';
import type { RefreshStatements } from '../data.js';
import { first, type On } from './on.js';

/** The refresh families' statements, written once for both engines. */
export function refreshStatements({ db, t, run }: On): RefreshStatements {
  const { refreshTokens: tokens } = t;
  const live = (now: Date) => and(isNull(tokens.spentAt), isNull(tokens.revokedAt), gt(tokens.expiresAt, now));
  return {
    byHash: async (tokenHash) => first(await run(db.select().from(tokens).where(eq(tokens.tokenHash, tokenHash)))),
    liveMember: async (tokenHash, now) =>
      first(await run(db.select({ memberId: tokens.memberId }).from(tokens).where(and(eq(tokens.tokenHash, tokenHash), live(now)))))?.memberId,
    familyByHash: async (familyHash) =>
      first(await run(db.select({ familyId: tokens.familyId }).from(tokens).where(and(eq(tokens.familyHash, familyHash), isNull(tokens.revokedAt))).limit(1)))
        ?.familyId,
    familyOfToken: async (tokenHash, familyHash) => {
      const where = or(eq(tokens.tokenHash, tokenHash), familyHash ? eq(tokens.familyHash, familyHash) : undefined);
      return first(await run(db.select({ familyId: tokens.familyId }).from(tokens).where(where).limit(1)))?.familyId;
    },
    familyHashOf: async (familyId) => {
      const where = and(eq(tokens.familyId, familyId), isNotNull(tokens.familyHash));
      return first(await run(db.select({ familyHash: tokens.familyHash }).from(tokens).where(where).limit(1)))?.familyHash ?? undefined;
    },
    child: async (parentId) => first(await run(db.select().from(tokens).where(eq(tokens.parentId, parentId)).limit(1))),
    spend: async (id, at) => {
      await run(db.update(tokens).set({ spentAt: at }).where(eq(tokens.id, id)));
    },
    pruneChain: async (familyId, id) => {
      await run(db.delete(tokens).where(and(eq(tokens.familyId, familyId), lt(tokens.id, id), isNotNull(tokens.familyHash))));
    },
    insert: async (values) => {
      await run(db.insert(tokens).values(values));
    },
    deleteFamily: async (familyId, memberId) => {
      await run(db.delete(tokens).where(and(eq(tokens.familyId, familyId), memberId === undefined ? undefined : eq(tokens.memberId, memberId))));
    },
    rebindFamily: async (memberId, familyId, credentialVersion) => {
      await run(db.update(tokens).set({ credentialVersion }).where(and(eq(tokens.memberId, memberId), eq(tokens.familyId, familyId))));
    },
    deleteFamiliesOf: async (memberId, exceptFamilyId) => {
      const where = and(eq(tokens.memberId, memberId), exceptFamilyId === undefined ? undefined : ne(tokens.familyId, exceptFamilyId));
      return (await run(db.delete(tokens).where(where).returning({ id: tokens.id }))).length;
    },
    liveFamilies: async (memberId, now, limit) => {
      const rows = await run(
        db
          .select({ familyId: tokens.familyId })
          .from(tokens)
          .where(and(eq(tokens.memberId, memberId), live(now)))
          .orderBy(desc(tokens.issuedAt), desc(tokens.id))
          .limit(limit),
      );
      return rows.map((r) => r.familyId);
    },
    deleteFamiliesBut: async (memberId, keep) => {
      await run(db.delete(tokens).where(and(eq(tokens.memberId, memberId), keep.length === 0 ? undefined : notInArray(tokens.familyId, [...keep]))));
    },
    deleteDead: async (now) => {
      await run(db.delete(tokens).where(or(lte(tokens.expiresAt, now), lte(tokens.revokedAt, now))));
    },
  };
}
