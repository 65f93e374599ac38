import type { Resolvers } from '../__generated__/resolvers-types.js';
import { toGlobalId } from '../ids.js';
import { checkIn, listCheckIns } from '../services/check-ins.js';

export const checkInResolvers: Resolvers = {
  Query: {
    checkIns: (_parent, args, ctx) => listCheckIns(ctx, args),
  },
  Mutation: {
    checkIn: (_parent, { door }, ctx) => checkIn(ctx, door),
  },
  CheckIn: {
    id: (row) => toGlobalId('CheckIn', row.id),
    // A member row always exists for a check-in: the foreign key cascades deletes.
    member: async (row, _args, { loaders }) => (await loaders.memberById.load(row.memberId))!,
  },
};
