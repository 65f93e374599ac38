import type { Context } from '../context.js';
import { BadUserInputError, ForbiddenError, MembershipInactiveError } from '../shared/errors.js';
import { membershipStatus } from './memberships.js';
import { freeText } from './validation.js';

export interface PartnerTokenModel {
  token: string;
  audience: string;
  expiresAt: Date;
}

/**
 * A keycard for a partner: only for a configured partner, an active member and an active membership, and never
 * longer than the membership or the credential that asked.
 */
export async function issuePartnerToken(ctx: Context, rawAudience: string): Promise<PartnerTokenModel> {
  const audience = freeText(rawAudience, 'audience', 100);
  const partners = ctx.services.partnerTokens;
  if (!partners.isPartner(audience)) {
    throw new BadUserInputError('audience', `is not a partner of the gym (partners: ${partners.audiences().join(', ')})`);
  }
  const viewer = ctx.viewer!;
  const [member, membership] = await Promise.all([
    ctx.loaders.memberById.load(viewer.memberId),
    ctx.loaders.membershipByMemberId.load(viewer.memberId),
  ]);
  // Read from the database even for a keycard: a suspended member's leftover access token gets no day pass.
  if (!member || member.status !== 'ACTIVE') throw new ForbiddenError('A suspended member gets no partner token');
  if (!membership || membershipStatus(membership) !== 'ACTIVE') throw new MembershipInactiveError();
  // A day pass never outlives the keycard (or session) that asked for it, nor the membership.
  const { token, expiresAt } = partners.issue(member, membership.validUntil, audience, viewer.expiresAt);
  return { token, audience, expiresAt };
}
