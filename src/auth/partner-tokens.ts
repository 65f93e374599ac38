import { createHmac } from 'node:crypto';
import { PARTNER_TOKEN_TYP, signToken, type SignedToken } from '../shared/jwt.js';
import type { KeyRing } from './keys.js';

export interface PartnerTokenOptions {
  issuer: string;
  ttlMs: number;
  /** audience → the scopes its tokens carry. */
  partners: ReadonlyMap<string, readonly string[]>;
  /** Keys the pairwise subjects. Stable: changing it gives every member a new identity at every partner. */
  pairwiseSecret: string;
}

/**
 * Keycards for partners (the pool next door): ES256 from the gym's key ring, for one partner's audience, carrying
 * that partner's scopes, the member's display name and how long their membership runs. The subject is pairwise:
 * derived per partner with a keyed hash, so no partner learns the gym's member id and two partners cannot join
 * their records on it.
 */
export class PartnerTokens {
  constructor(
    private readonly ring: KeyRing,
    private readonly options: PartnerTokenOptions,
  ) {}

  isPartner(audience: string): boolean {
    return this.options.partners.has(audience);
  }

  audiences(): string[] {
    return [...this.options.partners.keys()];
  }

  pairwiseSubject(memberId: number, audience: string): string {
    return createHmac('sha256', this.options.pairwiseSecret).update(`${audience}\0${memberId}`).digest('base64url');
  }

  /** Never outlives the membership it vouches for, nor `notAfter` (the credential that asked for it). */
  issue(member: { id: number; name: string }, membershipValidUntil: Date, audience: string, notAfter: Date, now = Date.now()): SignedToken {
    const scopes = this.options.partners.get(audience);
    if (!scopes) throw new Error(`not a partner: ${audience}`);
    const ttlMs = Math.min(this.options.ttlMs, membershipValidUntil.getTime() - now, notAfter.getTime() - now);
    return signToken(
      this.ring.current,
      { issuer: this.options.issuer, audience, typ: PARTNER_TOKEN_TYP },
      this.pairwiseSubject(member.id, audience),
      { scope: scopes.join(' '), name: member.name, membership_valid_until: Math.floor(membershipValidUntil.getTime() / 1000) },
      ttlMs,
      now,
    );
  }
}
