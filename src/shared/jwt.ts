import { randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { CredentialRejected, type TokenFailureReason } from './errors.js';

/** RFC 6750's b64token, after the scheme and one or more spaces. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The token in an Authorization header: null when there is no header ("not mine"); CredentialRejected for any other
 * scheme or a malformed value, since a client that sends the header means it.
 */
export function bearerTokenOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = BEARER.exec(header);
  if (!match) throw new CredentialRejected('invalid_token');
  return match[1]!;
}

/**
 * The `typ` of a partner token, shared by the gym that signs it and every partner that reads it. Distinct from the
 * gym's `at+jwt`: a partner token is never taken for a gym access token, nor the reverse.
 */
export const PARTNER_TOKEN_TYP = 'partner+jwt';

/** What a verifier insists on, fixed when it is built rather than read from the token. */
export interface JwtRules {
  issuer: string;
  audience: string;
  /** The `typ` header, e.g. `at+jwt` (RFC 9068): a token made for another purpose is refused even if well signed. */
  typ: string;
}

/** At most this much clock difference between the gym and a reader, in seconds. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** Longer than any token Keycard signs, so an oversized header is refused before anything parses it. */
const MAX_TOKEN_LENGTH = 4096;

/** Headers that would let a token choose its own verification key: never honoured, always refused. */
const KEY_CHOOSING_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'];

export interface TokenHeader {
  alg: 'ES256';
  kid: string;
  typ: string;
}

function reject(reason: TokenFailureReason = 'invalid_token'): never {
  throw new CredentialRejected(reason);
}

/**
 * Reads and checks the header before any signature work: ES256 only, the expected `typ`, a `kid`, and none of the
 * headers that point at keys. Throws {@link CredentialRejected} for anything else.
 */
export function readHeader(token: string, rules: Pick<JwtRules, 'typ'>): TokenHeader {
  if (token.length > MAX_TOKEN_LENGTH || token.split('.').length !== 3) reject();
  // Only the header segment is decoded here (jsonwebtoken decodes the whole token again as it verifies): it names the
  // key, and what it says is trusted only once the signature over it checks out.
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    reject();
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) reject();
  if (header.alg !== 'ES256') reject();
  if (typeof header.kid !== 'string' || header.kid.length === 0) reject();
  if (typeof header.typ !== 'string' || !sameTyp(header.typ, rules.typ)) reject();
  if (KEY_CHOOSING_HEADERS.some((name) => name in header)) reject();
  return { alg: 'ES256', kid: header.kid, typ: header.typ };
}

/** RFC 8725: `typ` compares case-insensitively, and `application/` may be left off. */
function sameTyp(actual: string, expected: string): boolean {
  const normalize = (t: string) => t.toLowerCase().replace(/^application\//, '');
  return normalize(actual) === normalize(expected);
}

/**
 * The first instant (ms) at which a token with this `exp` is refused as expired: `exp` plus the clock tolerance, the
 * rule jsonwebtoken applies. A cache of verified tokens must use the same instant, so a hit never outlives a check.
 */
export function expiredAt(exp: number): number {
  return (exp + CLOCK_TOLERANCE_SECONDS) * 1000;
}

/**
 * Verifies the signature with `key` and the claims against `rules`: algorithm pinned to ES256, issuer, a single
 * audience equal to ours, an `exp` that must be there and not past, no `nbf` in the future (30 s of tolerance both
 * ways). Returns the payload, or throws {@link CredentialRejected} with `token_expired` or `invalid_token`.
 */
export function verifySigned(token: string, key: KeyObject, rules: JwtRules, now = Date.now()): jwt.JwtPayload {
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, key, {
      algorithms: ['ES256'],
      issuer: rules.issuer,
      audience: rules.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      clockTimestamp: Math.floor(now / 1000),
    });
  } catch (err) {
    reject(err instanceof jwt.TokenExpiredError ? 'token_expired' : 'invalid_token');
  }
  if (typeof payload === 'string') reject();
  if (typeof payload.exp !== 'number') reject();
  // jsonwebtoken accepts an audience array that merely contains ours; a token meant for several readers is not ours.
  if (payload.aud !== rules.audience) reject();
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) reject();
  return payload;
}

export interface SignedToken {
  token: string;
  expiresAt: Date;
}

/** Signs `claims` as an ES256 JWT with the given key id, `typ`, issuer, audience and lifetime. */
export function signToken(
  key: { kid: string; privateKey: KeyObject },
  rules: JwtRules,
  subject: string,
  claims: Record<string, unknown>,
  ttlMs: number,
  now = Date.now(),
): SignedToken {
  const iat = Math.floor(now / 1000);
  const exp = iat + Math.max(1, Math.floor(ttlMs / 1000));
  const token = jwt.sign({ ...claims, iat, exp }, key.privateKey, {
    algorithm: 'ES256',
    keyid: key.kid,
    header: { alg: 'ES256', kid: key.kid, typ: rules.typ },
    issuer: rules.issuer,
    audience: rules.audience,
    subject,
    jwtid: randomUUID(),
  });
  return { token, expiresAt: new Date(exp * 1000) };
}
