import type { Resolvers } from '../__generated__/resolvers-types.js';
import { toGlobalId } from '../ids.js';
import { membershipStatus, setMembership } from '../services/memberships.js';
import { listPlans } from '../services/plans.js';

export const membershipResolvers: Resolvers = {
  Query: {
    plans: (_parent, _args, ctx) => listPlans(ctx),
  },
  Mutation: {
    setMembership: (_parent, { input }, ctx) => setMembership(ctx, input),
  },
  Plan: {
    id: (plan) => toGlobalId('Plan', plan.id),
  },
  Membership: {
    plan: async (membership, _args, { loaders }) => (await loaders.planById.load(membership.planId))!,
    status: (membership) => membershipStatus(membership),
  },
};
