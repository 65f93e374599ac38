import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KeyRingError } from '../shared/errors.js';

/** One ES256 signing key: its private half signs, its public half is published in the JWKS. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public key as a JWK, with kid, alg and use: what /.well-known/jwks.json lists. */
  jwk: JsonWebKey & { kid: string; alg: 'ES256'; use: 'sig' };
}

const KID = /^[A-Za-z0-9_-]{1,64}$/;

function toSigningKey(kid: string, pem: string, file: string): SigningKey {
  if (!KID.test(kid)) throw new KeyRingError(`${file}: a key id (the file name) may use only letters, digits, _ and -`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new KeyRingError(`${file}: not a PEM private key`);
  }
  // Only P-256 keys: ES256 is the one algorithm Keycard signs and accepts.
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new KeyRingError(`${file}: must be a P-256 (prime256v1) EC private key for ES256`);
  }
  const publicKey = createPublicKey(privateKey);
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  return { kid, privateKey, publicKey, jwk: { kty, crv, x, y, kid, alg: 'ES256', use: 'sig' } };
}

/**
 * The gym's signing keys, read from a directory of `<kid>.pem` files (PKCS#8 P-256). The name that sorts last
 * signs; all of them verify and are published, so tokens signed before a rotation keep working until they expire.
 */
export class KeyRing {
  private keys = new Map<string, SigningKey>();
  private signer!: SigningKey;
  /**
   * When an unknown kid last made the ring read its directory. Its own clock: the periodic reload (every
   * KEYS_RELOAD_INTERVAL) must not use up this allowance, or a key rotated in just after a periodic read would be
   * refused everywhere else until the next one.
   */
  private lastUnknownKidReload = -Infinity;

  private constructor(private readonly dir: string | null) {}

  /** Loads every key in `dir`. Throws when there is none, or when any file is not a P-256 private key. */
  static fromDirectory(dir: string): KeyRing {
    const ring = new KeyRing(dir);
    ring.reload();
    return ring;
  }

  /** A ring over keys already in memory (tests, tools). */
  static fromKeys(keys: { kid: string; pem: string }[]): KeyRing {
    const ring = new KeyRing(null);
    ring.install(keys.map((k) => toSigningKey(k.kid, k.pem, k.kid)));
    return ring;
  }

  /** The key that signs new tokens. */
  get current(): SigningKey {
    return this.signer;
  }

  get(kid: string): SigningKey | undefined {
    return this.keys.get(kid);
  }

  /** Every key in the ring, the signer among them. */
  all(): SigningKey[] {
    return [...this.keys.values()];
  }

  /** The public JWKS document. */
  jwks(): { keys: SigningKey['jwk'][] } {
    return { keys: [...this.keys.values()].map((k) => k.jwk) };
  }

  /**
   * Reads the directory again, picking up keys added by `npm run keys:rotate`. A file that is not a usable key throws
   * (at start, the server refuses to run on a broken key directory), or, given `onBadFile`, is reported and skipped,
   * so a running server keeps its good keys and still picks up new ones.
   */
  reload(onBadFile?: (file: string, problem: string) => void): void {
    if (!this.dir) return;
    let files: string[];
    try {
      files = readdirSync(this.dir).filter((f) => f.endsWith('.pem'));
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      throw new KeyRingError(missing ? `${this.dir}: no signing key (<kid>.pem); add one with npm run keys:rotate` : `${this.dir}: cannot read the signing key directory`);
    }
    const keys: SigningKey[] = [];
    for (const f of files) {
      const file = path.join(this.dir, f);
      try {
        keys.push(toSigningKey(f.slice(0, -'.pem'.length), readFileSync(file, 'utf8'), file));
      } catch (err) {
        if (!onBadFile) throw err;
        onBadFile(file, err instanceof KeyRingError ? err.message : 'cannot be read');
      }
    }
    this.install(keys);
  }

  /**
   * Called when a token names a kid this process does not know: another instance may have rotated. Reloads at
   * most once per `minIntervalMs`, so a flood of forged kids cannot turn into a flood of directory reads.
   */
  reloadForUnknownKid(minIntervalMs = 30_000): void {
    // The monotonic clock: a wall clock set back would otherwise hold these reads off for as long.
    if (!this.dir || performance.now() - this.lastUnknownKidReload < minIntervalMs) return;
    this.lastUnknownKidReload = performance.now();
    try {
      this.reload(() => undefined);
    } catch {
      // Keep the keys we have; housekeeping logs what is wrong with the directory.
    }
  }

  private install(keys: SigningKey[]): void {
    if (keys.length === 0) throw new KeyRingError(`${this.dir ?? 'key ring'}: no signing key (<kid>.pem); add one with npm run keys:rotate`);
    keys.sort((a, b) => (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
    this.keys = new Map(keys.map((k) => [k.kid, k]));
    this.signer = keys.at(-1)!;
  }
}

/** A fresh P-256 private key in PKCS#8 PEM. */
function generateSigningKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/**
 * Adds a new key to `dir`, named so that it sorts after every existing one (a UTC timestamp, then random bits),
 * which makes it the signer. Written with mode 0600: only the server's user may read a private key.
 */
export function addSigningKey(dir: string, now = new Date()): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  let kid = `${stamp}-${randomBytes(4).toString('hex')}`;
  const existing = readdirSync(dir)
    .filter((f) => f.endsWith('.pem'))
    .map((f) => f.slice(0, -4))
    .sort();
  const last = existing.at(-1);
  if (last !== undefined && kid <= last) kid = successorOf(last, dir);
  writeFileSync(path.join(dir, `${kid}.pem`), generateSigningKeyPem(), { mode: 0o600, flag: 'wx' });
  return kid;
}

const GENERATED = /^(\d{8}T\d{6}Z)-([0-9a-f]{8})$/;

/**
 * A name that sorts right after `last`: for a key this module named in the same second, the next suffix; for a
 * hand-named key that sorts after any timestamp, its name extended.
 */
function successorOf(last: string, dir: string): string {
  const match = GENERATED.exec(last);
  const suffix = match ? Number.parseInt(match[2]!, 16) + 1 + randomBytes(2).readUInt16BE() : Infinity;
  if (match && suffix <= 0xffffffff) return `${match[1]}-${suffix.toString(16).padStart(8, '0')}`;
  const extended = `${last}-${randomBytes(4).toString('hex')}`;
  if (!KID.test(extended)) throw new KeyRingError(`${dir}: cannot name a key that sorts after "${last}"; rename that key`);
  return extended;
}

/** Development: the key directory, with one key made on first start. Production: the directory as it is. */
export function loadKeyRing(dir: string, options: { createIfEmpty: boolean }): KeyRing {
  if (options.createIfEmpty) {
    let empty = true;
    try {
      empty = !readdirSync(dir).some((f) => f.endsWith('.pem'));
    } catch {
      // No directory yet.
    }
    if (empty) addSigningKey(dir);
  }
  return KeyRing.fromDirectory(dir);
}
