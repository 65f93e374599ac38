import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** The pool's visits on PostgreSQL: the same table as `schema.ts` (SQLite), in PostgreSQL's types. */
export const visits = pgTable(
  'visits',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    subject: text('subject').notNull(),
    name: text('name').notNull(),
    admittedAt: timestamp('admitted_at', { withTimezone: true, precision: 3, mode: 'date' }).notNull(),
    tokenId: text('token_id'),
  },
  (t) => [index('visits_subject_idx').on(t.subject, t.id)],
);
