import { DateTimeResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/pool-resolvers-types.js';
import { admit, recentVisits } from './visits.js';

/** The pool's rules are few: a valid keycard with the swim scope gets in, and the visit is written down. */
export const poolResolvers: Resolvers = {
  DateTime: DateTimeResolver,
  Query: {
    visits: (_parent, _args, { db, viewer }) => recentVisits(db, viewer!.memberId),
    swimmer: (_parent, _args, { viewer }) => viewer!.swimmer,
  },
  Mutation: {
    swim: (_parent, _args, { db, viewer }) => admit(db, viewer!.swimmer),
  },
  Visit: {
    member: (visit) => ({ id: visit.subject, name: visit.name }),
  },
};
