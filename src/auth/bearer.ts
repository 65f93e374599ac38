import type { AccessClaims, AccessTokens } from './access-tokens.js';
import type { RoleName } from '../shared/roles.js';
import { CredentialRejected } from '../shared/errors.js';
import { bearerTokenOf } from '../shared/jwt.js';
import { stillHolds } from './credential-version.js';
import type { GymStrategy, Viewer } from './viewer.js';

/** Keycard's own access tokens carry no scopes (partner tokens do). */
const NO_SCOPES: readonly string[] = Object.freeze([]);

/**
 * The card reader. An Authorization header alone decides: when present, this strategy claims the request, and the
 * session cookie is never looked at. Any other scheme, a malformed value or a bad token is refused.
 *
 * In `stateless` mode a good signature is enough: no database read, the card reader never calls the front desk. In
 * `strict` mode one primary-key read (through the request's loader, which `me` then reuses) checks the member is
 * still active and the token's version was not revoked, and takes the role from the database.
 */
export function bearerStrategy(options: { tokens: AccessTokens; revocation: 'stateless' | 'strict' }): GymStrategy {
  const viewerOf = (claims: AccessClaims, role: RoleName): Viewer => ({
    memberId: claims.memberId,
    role,
    method: 'TOKEN',
    expiresAt: claims.expiresAt,
    scopes: NO_SCOPES,
    familyId: claims.familyId,
  });
  return async (req, { loaders }) => {
    const token = bearerTokenOf(req.headers.authorization);
    if (token === null) return null;
    const claims = options.tokens.verify(token);
    if (options.revocation === 'strict') {
      const member = await loaders.memberById.load(claims.memberId);
      if (!stillHolds(member, claims.version)) throw new CredentialRejected('invalid_token');
      return viewerOf(claims, member.role);
    }
    return viewerOf(claims, claims.role);
  };
}
