import { desc, eq } from 'drizzle-orm';
import { DateTimeResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/pool-resolvers-types.js';
import { visits } from './db/schema.js';

/** The pool's rules are few: a valid keycard with the swim scope gets in, and the visit is written down. */
export const poolResolvers: Resolvers = {
  DateTime: DateTimeResolver,
  Query: {
    visits: (_parent, _args, { db, viewer }) =>
      db
        .select({ admittedAt: visits.admittedAt })
        .from(visits)
        .where(eq(visits.subject, viewer!.memberId))
        .orderBy(desc(visits.id))
        .limit(100)
        .all()
        .map((v) => v.admittedAt),
    swimmer: (_parent, _args, { viewer }) => viewer!.swimmer,
  },
  Mutation: {
    swim: (_parent, _args, { db, viewer }) => {
      const { swimmer } = viewer!;
      return db.insert(visits).values({ subject: swimmer.id, name: swimmer.name, admittedAt: new Date(), tokenId: swimmer.tokenId }).returning().get();
    },
  },
  Visit: {
    member: (visit) => ({ id: visit.subject, name: visit.name }),
  },
};
