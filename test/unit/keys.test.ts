import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addSigningKey, KeyRing, loadKeyRing } from '../../src/auth/keys.js';
import { KeyRingError } from '../../src/shared/errors.js';

describe('the signing key ring', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'keycard-ring-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('signs with the key whose name sorts last, even for rotations in the same instant', () => {
    const now = new Date('2026-11-26T05:00:00Z');
    let previous = '';
    for (let i = 0; i < 20; i++) {
      const kid = addSigningKey(dir, now);
      expect(kid > previous).toBe(true);
      expect(KeyRing.fromDirectory(dir).current.kid).toBe(kid);
      previous = kid;
    }
    expect(KeyRing.fromDirectory(dir).jwks().keys).toHaveLength(20);
  });

  it('refuses to start without a key unless told to make one (production vs development)', () => {
    expect(() => loadKeyRing(dir, { createIfEmpty: false })).toThrow(KeyRingError);
    expect(loadKeyRing(dir, { createIfEmpty: true }).jwks().keys).toHaveLength(1);
  });

  it('refuses a key that is not P-256, naming the file', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    writeFileSync(path.join(dir, 'rsa.pem'), rsa);
    expect(() => KeyRing.fromDirectory(dir)).toThrow(/rsa\.pem: must be a P-256/);
  });

  it('refuses a P-384 key and garbage', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    writeFileSync(path.join(dir, 'big.pem'), p384);
    expect(() => KeyRing.fromDirectory(dir)).toThrow(/big\.pem/);
    rmSync(path.join(dir, 'big.pem'));
    writeFileSync(path.join(dir, 'junk.pem'), 'not a key');
    expect(() => KeyRing.fromDirectory(dir)).toThrow(/junk\.pem: not a PEM private key/);
  });

  it('publishes only public parts, with kid, alg ES256 and use sig', () => {
    addSigningKey(dir);
    const [jwk] = KeyRing.fromDirectory(dir).jwks().keys;
    expect(Object.keys(jwk!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
  });

  it('while running, skips a file that is not a key (reporting it by name) and still picks up a new key', () => {
    addSigningKey(dir);
    const ring = KeyRing.fromDirectory(dir);
    writeFileSync(path.join(dir, 'zz-broken.pem'), 'not a key');
    const fresh = addSigningKey(dir);
    const reported: string[] = [];
    ring.reload((file) => reported.push(path.basename(file)));
    expect(reported).toEqual(['zz-broken.pem']);
    expect(ring.get(fresh)).toBeDefined();
    // At start, the same directory is refused outright.
    expect(() => KeyRing.fromDirectory(dir)).toThrow(KeyRingError);
  });
});
