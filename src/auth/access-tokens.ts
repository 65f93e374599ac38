import { LRUCache } from 'lru-cache';
import { idOf, toGlobalId } from '../ids.js';
import { CredentialRejected } from '../shared/errors.js';
import { expiredAt, readHeader, signToken, verifySigned, type JwtRules, type SignedToken } from '../shared/jwt.js';
import type { KeyRing, SigningKey } from './keys.js';
import { ROLES, type RoleName } from '../shared/roles.js';
import { realClock, type Clock } from '../shared/clock.js';

/** RFC 9068's media type for JWT access tokens: a partner token or an ID token is never mistaken for one. */
const ACCESS_TOKEN_TYP = 'at+jwt';
/** The gym's own audience. Partner tokens name the partner instead, so the gym refuses them. */
const GYM_AUDIENCE = 'keycard';

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

/** How many verified tokens one process remembers: about the members active in a token's lifetime, bounded. */
const VERIFIED_CACHE_SIZE = 10_000;

/** The same public key (the ring makes new objects when it reloads its directory). */
function sameKey(current: SigningKey | undefined, cached: SigningKey): boolean {
  return current !== undefined && (current === cached || (current.jwk.x === cached.jwk.x && current.jwk.y === cached.jwk.y));
}

interface VerifiedToken {
  claims: AccessClaims;
  /** The key that verified it: a hit needs the ring to still hold that very key under its kid. */
  key: SigningKey;
  /** The instant verification would start refusing the token as expired. */
  expiredAt: number;
}

/**
 * The keycard: short-lived ES256 access tokens any reader with the public key can check. Signing uses the ring's
 * current key; verification accepts any published key, so a rotation never cuts off tokens already out.
 *
 * A verified token is remembered, keyed by its whole string (so any other token, however alike, is a miss), until
 * the instant verification itself would call it expired; a hit also needs its key still in the ring. Only what the
 * signature proves is cached: nothing about the member's current state, which strict mode reads from the database on
 * every request, cache hit or not, so a revocation made by any process is felt at once. Refusals are never cached.
 */
export class AccessTokens {
  private readonly rules: JwtRules;
  private readonly verified: LRUCache<string, VerifiedToken>;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(
    private readonly ring: KeyRing,
    private readonly options: { issuer: string; ttlMs: number; cacheSize?: number; clock?: Pick<Clock, 'now'> },
  ) {
    this.clock = options.clock ?? realClock;
    this.rules = { issuer: options.issuer, audience: GYM_AUDIENCE, typ: ACCESS_TOKEN_TYP };
    this.verified = new LRUCache({ max: options.cacheSize ?? VERIFIED_CACHE_SIZE });
  }

  /** How many verified tokens are remembered now (never more than the cache size). */
  get cachedCount(): number {
    return this.verified.size;
  }

  issue(member: { id: number; role: RoleName; tokenVersion: number }, familyId: string, now = this.clock.now()): SignedToken {
    return signToken(this.ring.current, this.rules, toGlobalId('Member', member.id), { role: member.role, ver: member.tokenVersion, sid: familyId }, this.options.ttlMs, now);
  }

  /**
   * Verifies a presented token, or throws CredentialRejected(`token_expired` | `invalid_token`): the same answer at
   * the same instant whether the token is verified now or remembered.
   */
  verify(token: string, now = this.clock.now()): AccessClaims {
    const hit = this.verified.get(token);
    if (hit) {
      if (now < hit.expiredAt && sameKey(this.ring.get(hit.key.kid), hit.key)) return hit.claims;
      // Expired, or its key left the ring: forget it and let full verification say why.
      this.verified.delete(token);
    }
    const header = readHeader(token, this.rules);
    let key = this.ring.get(header.kid);
    if (!key) {
      this.ring.reloadForUnknownKid();
      key = this.ring.get(header.kid);
    }
    if (!key) throw new CredentialRejected('invalid_token');
    const payload = verifySigned(token, key.publicKey, this.rules, now);
    const memberId = idOf('Member', payload.sub!);
    const { role, ver, sid } = payload as Record<string, unknown>;
    if (memberId === null || typeof role !== 'string' || !ROLE_NAMES.has(role) || !Number.isInteger(ver) || typeof sid !== 'string') {
      throw new CredentialRejected('invalid_token');
    }
    const claims: AccessClaims = Object.freeze({ memberId, role: role as RoleName, version: ver as number, familyId: sid, expiresAt: new Date(payload.exp! * 1000) });
    this.verified.set(token, { claims, key, expiredAt: expiredAt(payload.exp!) });
    return claims;
  }
}
