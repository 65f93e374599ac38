import { eq, lte } from 'drizzle-orm';
import type { SessionStatements } from '../data.js';
import { first, type On } from './on.js';

/** The access sheet's front desk: express-session's rows, written once for both engines. */
export function sessionStatements({ db, t, run, hot }: On): SessionStatements {
  const { sessions } = t;
  return {
    byKey: async (key) => first(await run(hot.sessionByKey.execute({ key }))),
    insert: async ({ key, memberId, data, expiresAt }) => {
      await run(db.insert(sessions).values({ sid: key, memberId, data, expiresAt }).onConflictDoNothing({ target: sessions.sid }));
    },
    recordActivity: async (record) => (await run(hot.sessionActivity.execute({ ...record }))).length === 1,
    delete: async (key) => {
      await run(db.delete(sessions).where(eq(sessions.sid, key)));
    },
    deleteOf: async (memberId) => (await run(db.delete(sessions).where(eq(sessions.memberId, memberId)).returning({ sid: sessions.sid }))).length,
    deleteExpired: async (now) => {
      await run(db.delete(sessions).where(lte(sessions.expiresAt, now)));
    },
  };
}
