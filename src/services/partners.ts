import { BadUserInputError, ForbiddenError, MembershipInactiveError } from '../shared/errors.js';
import { actingMember, type Actor, type Rows } from './actor.js';
import { membershipStatus } from './memberships.js';
import type { Services } from './services.js';
import { freeText } from './validation.js';

export interface PartnerTokenModel {
  token: string;
  audience: string;
  expiresAt: Date;
}

/**
 * A keycard for a partner: only for a configured partner, an active member and an active membership, and never
 * longer than the membership or the credential that asked. `rows` reads the member and their membership.
 */
export async function issuePartnerToken(
  services: Pick<Services, 'partnerTokens'>,
  actor: Actor,
  rows: Pick<Rows, 'memberById' | 'membershipByMemberId'>,
  rawAudience: string,
): Promise<PartnerTokenModel> {
  const audience = freeText(rawAudience, 'audience', 100);
  const partners = services.partnerTokens;
  if (!partners.isPartner(audience)) {
    throw new BadUserInputError('audience', `is not a partner of the gym (partners: ${partners.audiences().join(', ')})`);
  }
  const viewer = actingMember(actor);
  const [member, membership] = await Promise.all([
    rows.memberById.load(viewer.memberId),
    rows.membershipByMemberId.load(viewer.memberId),
  ]);
  // Read from the database even for a keycard: a suspended member's leftover access token gets no day pass.
  if (!member || member.status !== 'ACTIVE') throw new ForbiddenError('A suspended member gets no partner token');
  if (!membership || membershipStatus(membership) !== 'ACTIVE') throw new MembershipInactiveError();
  // A day pass never outlives the keycard (or session) that asked for it, nor the membership.
  const { token, expiresAt } = partners.issue(member, membership.validUntil, audience, viewer.expiresAt);
  return { token, audience, expiresAt };
}
