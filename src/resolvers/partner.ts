import type { Resolvers } from '../__generated__/resolvers-types.js';
import { issuePartnerToken } from '../services/partners.js';

export const partnerResolvers: Resolvers = {
  Mutation: {
    issuePartnerToken: (_parent, { audience }, ctx) => issuePartnerToken(ctx.services, ctx, ctx.loaders, audience),
  },
};
