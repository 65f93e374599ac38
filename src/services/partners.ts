import type { Context } from '../context.js';
import { BadUserInputError, MembershipInactiveError } from '../errors.js';
import { membershipStatus } from './memberships.js';

export interface PartnerTokenModel {
  token: string;
  audience: string;
  expiresAt: Date;
}

/** A keycard for a partner: only for a configured partner, and only while the member's membership is active. */
export async function issuePartnerToken(ctx: Context, rawAudience: string): Promise<PartnerTokenModel> {
  const audience = rawAudience.trim();
  const partners = ctx.services.partnerTokens;
  if (!partners.isPartner(audience)) {
    throw new BadUserInputError('audience', `is not a partner of the gym (partners: ${partners.audiences().join(', ')})`);
  }
  const viewer = ctx.viewer!;
  const [member, membership] = await Promise.all([
    ctx.loaders.memberById.load(viewer.memberId),
    ctx.loaders.membershipByMemberId.load(viewer.memberId),
  ]);
  if (!member || !membership || membershipStatus(membership) !== 'ACTIVE') throw new MembershipInactiveError();
  const { token, expiresAt } = partners.issue(member, membership.validUntil, audience);
  return { token, audience, expiresAt };
}
