import type { Resolvers } from '../__generated__/resolvers-types.js';
import { toGlobalId } from '../ids.js';
import type { CheckInRow } from '../db/data.js';
import { liveFeedOf } from '../context.js';
import { checkIn, listCheckIns, watchCheckIns } from '../services/check-ins.js';
import { stillPasses } from '../shared/directive.js';

export const checkInResolvers: Resolvers = {
  Query: {
    checkIns: (_parent, args, ctx) => listCheckIns(ctx.services, args),
  },
  Mutation: {
    checkIn: (_parent, { door }, ctx) => checkIn(ctx.services, ctx, ctx.loaders, door),
  },
  Subscription: {
    // Each event is the check-in row itself; the guard on the field runs for it again, for the viewer as just checked.
    checkIns: {
      subscribe: (_parent, args, ctx, info) =>
        liveFeedOf(ctx).stream<CheckInRow>((push) => watchCheckIns(ctx.services, null, push), (viewer) => stillPasses(info, viewer, args)),
      resolve: (row: CheckInRow) => row,
    },
    myCheckIns: {
      subscribe: (_parent, args, ctx, info) =>
        liveFeedOf(ctx).stream<CheckInRow>((push) => watchCheckIns(ctx.services, ctx.viewer!.memberId, push), (viewer) => stillPasses(info, viewer, args)),
      resolve: (row: CheckInRow) => row,
    },
  },
  CheckIn: {
    id: (row) => toGlobalId('CheckIn', row.id),
    // A member row always exists for a check-in: the foreign key cascades deletes.
    member: async (row, _args, { loaders }) => (await loaders.memberById.load(row.memberId))!,
  },
};
