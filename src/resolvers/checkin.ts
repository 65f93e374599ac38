import type { Resolvers } from '../__generated__/resolvers-types.js';
import { toGlobalId } from '../ids.js';
import type { CheckInRow } from '../db/data.js';
import { checkIn, listCheckIns, watchCheckIns } from '../services/check-ins.js';
import { stillPasses } from '../shared/directive.js';

export const checkInResolvers: Resolvers = {
  Query: {
    checkIns: (_parent, args, ctx) => listCheckIns(ctx, args),
  },
  Mutation: {
    checkIn: (_parent, { door }, ctx) => checkIn(ctx, door),
  },
  Subscription: {
    // Each event is the check-in row itself; the guard on the field runs for it again, for the viewer as just checked.
    checkIns: {
      subscribe: (_parent, args, ctx, info) => watchCheckIns(ctx, null, (viewer) => stillPasses(info, viewer, args)),
      resolve: (row: CheckInRow) => row,
    },
    myCheckIns: {
      subscribe: (_parent, args, ctx, info) => watchCheckIns(ctx, ctx.viewer!.memberId, (viewer) => stillPasses(info, viewer, args)),
      resolve: (row: CheckInRow) => row,
    },
  },
  CheckIn: {
    id: (row) => toGlobalId('CheckIn', row.id),
    // A member row always exists for a check-in: the foreign key cascades deletes.
    member: async (row, _args, { loaders }) => (await loaders.memberById.load(row.memberId))!,
  },
};
