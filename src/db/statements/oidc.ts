import { and, eq, gte, isNull, lte, or } from 'drizzle-orm';
import type { OidcStatements, SecretStatements } from '../data.js';
import { first, type On } from './on.js';

/** The OpenID Provider's records, written once for both engines. */
export function oidcStatements({ db, t, run }: On): OidcStatements {
  const { oidcRecords: records } = t;
  const ofModel = (model: string) => eq(records.model, model);
  return {
    upsert: async (record) => {
      const { key, ...rest } = record;
      await run(db.insert(records).values(record).onConflictDoUpdate({ target: records.key, set: rest }));
    },
    byKey: async (key) => first(await run(db.select().from(records).where(eq(records.key, key)))),
    byUid: async (model, uid) => first(await run(db.select().from(records).where(and(ofModel(model), eq(records.uid, uid))).limit(1))),
    byUserCode: async (model, userCode) => first(await run(db.select().from(records).where(and(ofModel(model), eq(records.userCode, userCode))).limit(1))),
    of: async (model, memberId) => run(db.select().from(records).where(and(ofModel(model), eq(records.memberId, memberId)))),
    // On PostgreSQL (READ COMMITTED) a second UPDATE of the row waits for the first to commit, then sees it consumed.
    consume: async (key, at) => {
      const unconsumed = and(eq(records.key, key), isNull(records.consumedAt));
      return (await run(db.update(records).set({ consumedAt: at }).where(unconsumed).returning({ key: records.key }))).length === 1;
    },
    consumedSince: async (model, grantId, since) =>
      run(db.select().from(records).where(and(eq(records.grantId, grantId), ofModel(model), gte(records.consumedAt, since)))),
    delete: async (key) => {
      await run(db.delete(records).where(eq(records.key, key)));
    },
    deleteGrant: async (grantId, grantKey) => {
      const where = grantKey ? or(eq(records.grantId, grantId), eq(records.key, grantKey)) : eq(records.grantId, grantId);
      await run(db.delete(records).where(where));
    },
    deleteOf: async (memberId) => (await run(db.delete(records).where(eq(records.memberId, memberId)).returning({ key: records.key }))).length,
    deleteExpired: async (now) => {
      await run(db.delete(records).where(lte(records.expiresAt, now)));
    },
  };
}

/** Keycard's own secrets. */
export function secretStatements({ db, t, run }: On): SecretStatements {
  const { appSecrets: secrets } = t;
  return {
    insertIfAbsent: async (name, value, createdAt) => {
      await run(db.insert(secrets).values({ name, value, createdAt }).onConflictDoNothing({ target: secrets.name }));
    },
    get: async (name) => first(await run(db.select({ value: secrets.value }).from(secrets).where(eq(secrets.name, name))))?.value,
  };
}
