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

export type VisitRow = typeof visits.$inferSelect;
