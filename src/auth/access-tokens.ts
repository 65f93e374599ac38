import { idOf, toGlobalId } from '../ids.js';
import { CredentialRejected } from '../errors.js';
import { readHeader, signToken, verifySigned, type JwtRules, type SignedToken } from '../shared/jwt.js';
import type { KeyRing } from './keys.js';
import { ROLES, type RoleName } from '../shared/roles.js';

/** RFC 9068's media type for JWT access tokens: a partner token or an ID token is never mistaken for one. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** The gym's own audience. Partner tokens name the partner instead, so the gym refuses them. */
export const GYM_AUDIENCE = 'keycard';

const ROLE_NAMES: ReadonlySet<string> = new Set(ROLES);

/** What a verified access token says. */
export interface AccessClaims {
  memberId: number;
  role: RoleName;
  /** The member's token version when it was issued (strict revocation compares it). */
  version: number;
  /** The refresh family (one per login) the token belongs to. */
  familyId: string;
  expiresAt: Date;
}

/**
 * The keycard: short-lived ES256 access tokens any reader with the public key can check. Signing uses the ring's
 * current key; verification accepts any published key, so a rotation never cuts off tokens already out.
 */
export class AccessTokens {
  private readonly rules: JwtRules;

  constructor(
    private readonly ring: KeyRing,
    private readonly options: { issuer: string; ttlMs: number },
  ) {
    this.rules = { issuer: options.issuer, audience: GYM_AUDIENCE, typ: ACCESS_TOKEN_TYP };
  }

  issue(member: { id: number; role: RoleName; tokenVersion: number }, familyId: string, now = Date.now()): SignedToken {
    return signToken(this.ring.current, this.rules, toGlobalId('Member', member.id), { role: member.role, ver: member.tokenVersion, sid: familyId }, this.options.ttlMs, now);
  }

  /** Verifies a presented token, or throws CredentialRejected(`token_expired` | `invalid_token`). */
  verify(token: string): AccessClaims {
    const header = readHeader(token, this.rules);
    let key = this.ring.get(header.kid);
    if (!key) {
      this.ring.reloadForUnknownKid();
      key = this.ring.get(header.kid);
    }
    if (!key) throw new CredentialRejected('invalid_token');
    const payload = verifySigned(token, key.publicKey, this.rules);
    const memberId = idOf('Member', payload.sub!);
    const { role, ver, sid } = payload as Record<string, unknown>;
    if (memberId === null || typeof role !== 'string' || !ROLE_NAMES.has(role) || !Number.isInteger(ver) || typeof sid !== 'string') {
      throw new CredentialRejected('invalid_token');
    }
    return { memberId, role: role as RoleName, version: ver as number, familyId: sid, expiresAt: new Date(payload.exp! * 1000) };
  }
}
