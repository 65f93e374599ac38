import type { Resolvers } from '../__generated__/resolvers-types.js';
import { toGlobalId } from '../ids.js';
import { membershipStatus, setMembership } from '../services/memberships.js';
import { listPlans } from '../services/plans.js';

export const membershipResolvers: Resolvers = {
  Query: {
    plans: (_parent, _args, ctx) => listPlans(ctx.services),
  },
  Mutation: {
    setMembership: async (_parent, { input }, ctx) => {
      const row = await setMembership(ctx.services, ctx, input);
      // The rest of the request reads the membership as just written.
      ctx.loaders.membershipByMemberId.clear(row.memberId).prime(row.memberId, row);
      return row;
    },
  },
  Plan: {
    id: (plan) => toGlobalId('Plan', plan.id),
  },
  Membership: {
    plan: async (membership, _args, { loaders }) => (await loaders.planById.load(membership.planId))!,
    status: (membership) => membershipStatus(membership),
  },
};
