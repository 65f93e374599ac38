import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { PartnerTokens } from '../auth/partner-tokens.js';
import type { GymData } from '../db/data.js';
import { membershipStatus } from '../services/memberships.js';
import { memberIdOfAccount } from './adapter.js';

/**
 * The gym's members as the provider's accounts. The member rules hold here too: a suspended member, or one without an
 * active membership, is no account to the provider, so no code, token or refresh is issued for them, whatever was
 * granted before.
 */

/** The member behind an accountId, if they may sign in with the gym now: active, with an active membership. */
export async function standingOf(data: GymData, accountId: string): Promise<{ memberId: number; name: string; validUntil: Date } | 'suspended' | 'no membership' | null> {
  const memberId = memberIdOfAccount(accountId);
  if (memberId === null) return null;
  const [member] = await data.members.byIds([memberId]);
  if (!member) return null;
  if (member.status !== 'ACTIVE') return 'suspended';
  const [membership] = await data.memberships.byMemberIds([memberId]);
  if (!membership || membershipStatus(membership) !== 'ACTIVE') return 'no membership';
  return { memberId, name: member.name, validUntil: membership.validUntil };
}

/** How the provider finds a member, names them to a client, and finds the consent they gave. */
export function accountConfiguration(data: GymData, partnerTokens: PartnerTokens): Pick<Configuration, 'pairwiseIdentifier' | 'findAccount' | 'loadExistingGrant'> {
  return {
    // Pairwise subjects equal to the `sub` of a partner token for the same member and partner: a swimmer is the same
    // swimmer whichever way they came.
    pairwiseIdentifier: async (_ctx, accountId, client) => {
      const memberId = memberIdOfAccount(accountId);
      if (memberId === null) throw new Error('not a member id');
      return partnerTokens.pairwiseSubject(memberId, client.clientId);
    },
    async findAccount(_ctx, accountId) {
      const standing = await standingOf(data, accountId);
      if (standing === null || typeof standing === 'string') return undefined;
      return {
        accountId,
        claims: async () => ({ sub: accountId, name: standing.name, membership_valid_until: Math.floor(standing.validUntil.getTime() / 1000) }),
      };
    },
    // Consent is remembered per member and client, not per browser: a grant already given is found again.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const memberId = memberIdOfAccount(ctx.oidc.session?.accountId);
      if (memberId === null) return undefined;
      for (const row of await data.oidc.of('Grant', memberId)) {
        const payload = JSON.parse(row.payload) as { jti?: string; clientId?: string };
        if (payload.clientId === ctx.oidc.client!.clientId && payload.jti) {
          const grant = await ctx.oidc.provider.Grant.find(payload.jti);
          if (grant) return grant;
        }
      }
      return undefined;
    },
  };
}
