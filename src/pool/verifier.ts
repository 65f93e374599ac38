import { createPublicKey, type KeyObject } from 'node:crypto';
import jwksClient, { type JwksClient, type SigningKey } from 'jwks-rsa';
import type { Logger } from 'pino';
import { CredentialRejected } from '../errors.js';
import { PARTNER_TOKEN_TYP, readHeader, verifySigned, type JwtRules } from '../shared/jwt.js';

/** Who a verified partner token says the swimmer is. */
export interface Swimmer {
  /** The pairwise subject: stable for this member at this pool, and nothing the gym uses. */
  id: string;
  name: string;
  scopes: string[];
  expiresAt: Date;
  tokenId: string | null;
}

export interface VerifierOptions {
  gymUrl: string;
  /** Pinned issuer; undefined trusts the one the gym's discovery document announces. */
  issuer: string | undefined;
  audience: string;
  /** How long a fetched key is trusted before asking the gym again. */
  cacheMaxAgeMs: number;
  /** How much longer a known key keeps working while the gym cannot be reached. */
  staleMaxAgeMs: number;
  /** Fetches of the JWKS on unknown kids, at most, per minute. */
  requestsPerMinute: number;
  log: Logger;
}

/**
 * The pool's card reader. It finds the gym's keys the standard way (openid-configuration → jwks_uri) through
 * jwks-rsa, which caches each key, fetches again on an unknown kid no more than the rate limit allows, and keeps
 * serving known keys while the gym is down. It never calls the gym to ask about a token, and never reads the gym's
 * database.
 */
export class PartnerTokenVerifier {
  private readonly client: JwksClient;
  /** The gym's issuer, pinned or learned from discovery (kept while the gym is down, like the keys). */
  private issuer: string | undefined;
  /** jwks-rsa hands back the same key object from its cache until it fetches again: each is parsed once. */
  private readonly keyObjects = new WeakMap<SigningKey, KeyObject>();

  constructor(private readonly options: VerifierOptions) {
    this.issuer = options.issuer;
    this.client = jwksClient({
      jwksUri: `${options.gymUrl}/.well-known/jwks.json`,
      fetcher: () => this.fetchJwks(),
      cache: true,
      cacheMaxEntries: 20,
      cacheMaxAge: options.cacheMaxAgeMs,
      cacheMaxAgeFallback: options.staleMaxAgeMs,
      onStaleCacheFallback: (err, kid) => options.log.warn({ kid, err: err.message }, 'gym unreachable: admitting with a cached key'),
      rateLimit: true,
      jwksRequestsPerMinute: options.requestsPerMinute,
      timeout: 5_000,
    });
  }

  /** Verifies a partner token, or throws CredentialRejected(`token_expired` | `invalid_token`). */
  async verify(token: string): Promise<Swimmer> {
    const header = readHeader(token, { typ: PARTNER_TOKEN_TYP });
    let key: KeyObject;
    try {
      key = this.keyObjectOf(await this.client.getSigningKey(header.kid));
    } catch (err) {
      this.options.log.debug({ kid: header.kid, err: (err as Error).message }, 'no key for a presented kid');
      throw new CredentialRejected('invalid_token');
    }
    // A key was found, so discovery has run and the issuer is known.
    if (!this.issuer) throw new CredentialRejected('invalid_token');
    const rules: JwtRules = { issuer: this.issuer, audience: this.options.audience, typ: PARTNER_TOKEN_TYP };
    const payload = verifySigned(token, key, rules);
    if (typeof payload.name !== 'string') throw new CredentialRejected('invalid_token');
    return {
      id: payload.sub!,
      name: payload.name,
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      expiresAt: new Date(payload.exp! * 1000),
      tokenId: typeof payload.jti === 'string' ? payload.jti : null,
    };
  }

  /** The key as a KeyObject, parsed once per fetched key rather than from PEM on every verification. */
  private keyObjectOf(signingKey: SigningKey): KeyObject {
    let key = this.keyObjects.get(signingKey);
    if (!key) {
      key = createPublicKey(signingKey.getPublicKey());
      this.keyObjects.set(signingKey, key);
    }
    return key;
  }

  /**
   * Discovery, then the key set. With a pinned issuer, the gym must announce exactly that one: a discovery document
   * cannot talk the pool into accepting another issuer.
   */
  private async fetchJwks(): Promise<{ keys: unknown[] }> {
    const discovery = (await this.getJson(`${this.options.gymUrl}/.well-known/openid-configuration`)) as { issuer?: string; jwks_uri?: string };
    if (typeof discovery.issuer !== 'string' || typeof discovery.jwks_uri !== 'string') throw new Error('the gym discovery document has no issuer or jwks_uri');
    if (this.options.issuer !== undefined && discovery.issuer !== this.options.issuer) {
      throw new Error(`the gym announces issuer ${discovery.issuer}, not ${this.options.issuer}`);
    }
    this.issuer = discovery.issuer;
    // The announced jwks_uri is built from the gym's public URL, which the pool may not reach from inside; then the
    // same path at GYM_URL, where discovery just answered.
    const fallback = `${this.options.gymUrl}/.well-known/jwks.json`;
    const jwks = (await this.getJson(discovery.jwks_uri).catch((err) => {
      if (discovery.jwks_uri === fallback) throw err;
      return this.getJson(fallback);
    })) as { keys?: unknown[] };
    if (!Array.isArray(jwks.keys)) throw new Error('the gym JWKS has no keys');
    return { keys: jwks.keys };
  }

  private async getJson(url: string): Promise<unknown> {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    return res.json();
  }
}
