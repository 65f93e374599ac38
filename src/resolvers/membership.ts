import { asc } from 'drizzle-orm';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import { plans } from '../db/schema.js';
import { toGlobalId } from '../ids.js';
import { membershipStatus, setMembership } from '../services/memberships.js';

export const membershipResolvers: Resolvers = {
  Query: {
    plans: (_parent, _args, { services }) => services.db.select().from(plans).orderBy(asc(plans.monthlyPriceCents)).all(),
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
