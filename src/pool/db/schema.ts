import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** The pool's own record of who swam when: keyed by the pairwise subject, the only id the pool ever learns. */
export const visits = sqliteTable(
  'visits',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    subject: text('subject').notNull(),
    name: text('name').notNull(),
    admittedAt: integer('admitted_at', { mode: 'timestamp_ms' }).notNull(),
    /** The token's jti, to trace an admission back to the keycard that opened the gate. */
    tokenId: text('token_id'),
  },
  (t) => [index('visits_subject_idx').on(t.subject, t.id)],
);

/**
 * The website's sessions (express-session's rows, through the shared store): a sign-in under way, or a swimmer signed
 * in. Kept here rather than in a signed cookie, so that a sign-out or an expiry ends every copy of the cookie.
 */
export const sessions = sqliteTable(
  'sessions',
  {
    /** The SHA-256 of the session id, never the id: a copy of the database holds nothing a browser could present. */
    sid: text('sid').primaryKey(),
    /** The swimmer's pairwise subject (null while a sign-in is under way): every session of a swimmer in one statement. */
    subject: text('subject'),
    data: text('data').notNull(),
    /** Milliseconds since the epoch: refused on read past it, swept after. */
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('sessions_expires_at_idx').on(t.expiresAt), index('sessions_subject_idx').on(t.subject)],
);

export type VisitRow = typeof visits.$inferSelect;
