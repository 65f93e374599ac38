import { createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** The two JSON halves of a JWT, decoded without any checking (to read what the server issued). */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

/**
 * Signs an arbitrary header and payload with ES256 straight from node:crypto (not through jsonwebtoken), so a test
 * can forge exactly the token it wants: a wrong audience, a missing exp, an injected jku, a foreign key.
 */
export function forgeEs256(privateKey: KeyObject, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** HS256 with any secret: the classic attack of signing with the server's *public* key as an HMAC secret. */
export function forgeHs256(secret: string | Buffer, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** An unsigned token with the given `alg` spelling (`none`, `None`, ...). */
export function forgeUnsigned(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${b64(header)}.${b64(payload)}.`;
}

export function foreignKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}

/** Claims that would pass, to be altered one at a time. */
export function validClaims(issuer: string, sub: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: issuer, aud: 'keycard', sub, iat: now, exp: now + 600, jti: randomUUID(), role: 'ADMIN', ver: 0, sid: randomUUID(), ...overrides };
}
