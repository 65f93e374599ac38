import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { realClock, type Clock } from '../shared/clock.js';

export interface GymKeysOptions {
  /** Where the pool reaches the gym; the only origin it ever sends a request to. */
  gymUrl: string;
  /** Pinned issuer; undefined trusts the one the gym's discovery document announces. */
  issuer: string | undefined;
  /** How long a fetched key set is trusted before the pool asks the gym again. */
  cacheMaxAgeMs: number;
  /** How much longer the last good key set keeps admitting while the gym cannot give a new one. */
  staleMaxAgeMs: number;
  /** The least time between two fetches made for unknown kids, and between two attempts while the gym fails. */
  refetchIntervalMs: number;
  /** Whose time the key set ages on (default: the machine's). */
  clock?: Pick<Clock, 'now'>;
  log: Logger;
}

/** The gym's keys as the pool last fetched them, whole, with the issuer announced alongside. */
interface KeySet {
  keys: ReadonlyMap<string, KeyObject>;
  issuer: string;
  fetchedAt: number;
}

/** A key the gym publishes, and the issuer its tokens must name. */
export interface GymKey {
  key: KeyObject;
  issuer: string;
}

/** A kid is logged to trace a refusal, but a client chose it: never more than this much of it. */
const LOGGED_KID_LENGTH = 64;

/** How long one request to the gym may take: a hung gym is an unreachable one. */
const FETCH_TIMEOUT_MS = 5_000;

/**
 * The pool's copy of the gym's public keys. It holds the whole last good key set, refreshes it when it is older than
 * `cacheMaxAgeMs`, and serves every key in it while the gym cannot give a new one (for `staleMaxAgeMs` more). An
 * unknown kid makes it fetch the set again at most once per `refetchIntervalMs`: forged kids can spend that budget,
 * but never a known key's refresh, and since each fetch loads the whole set, a key the gym rotates in is picked up
 * by whichever fetch comes next, the attacker's included.
 *
 * Keys are found the standard way (openid-configuration → jwks_uri), but only ever fetched from GYM_URL's origin and
 * never through a redirect, so a discovery document cannot send the pool to another host for its keys. Not jwks-rsa:
 * its cache is per kid and sits in front of its rate limiter, so forged kids spend the budget a known key's refresh
 * then lacks; and node:crypto reads a JWK on its own.
 */
export class GymKeys {
  private current: KeySet | null = null;
  /** One fetch at a time: everyone who needs fresh keys meanwhile waits for that one. */
  private inFlight: Promise<void> | null = null;
  /** When the set is due for refresh (or, after a failed refresh, when the gym may be asked again). */
  private nextRefreshAt = 0;
  private lastUnknownKidFetchAt = Number.NEGATIVE_INFINITY;
  private readonly gymOrigin: string;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly options: GymKeysOptions) {
    this.gymOrigin = new URL(options.gymUrl).origin;
    this.clock = options.clock ?? realClock;
  }

  /** The published key named `kid`, or null when the gym has none by that name (or no usable key set is held). */
  async keyFor(kid: string): Promise<GymKey | null> {
    let fetched = false;
    if (this.clock.now() >= this.nextRefreshAt) {
      // A due refresh with a usable set in hand runs in the background: a gym that hangs must not hold up swimmers
      // whose key the pool already has. Only without a usable set does a request wait for the gym.
      const refreshing = this.refresh();
      if (this.hasUsableSet()) {
        refreshing.catch(() => {});
      } else {
        await refreshing;
        fetched = true;
      }
    }
    let found = this.lookup(kid);
    // A kid the set lacks may be a key the gym just rotated in, or a forgery: worth one fetch per interval at most,
    // and none when this lookup already waited for one.
    if (found === null && !fetched) {
      if (this.inFlight) {
        await this.inFlight;
      } else if (this.clock.now() - this.lastUnknownKidFetchAt >= this.options.refetchIntervalMs) {
        this.lastUnknownKidFetchAt = this.clock.now();
        await this.refresh();
      }
      found = this.lookup(kid);
    }
    if (found === null) this.options.log.debug({ kid: kid.slice(0, LOGGED_KID_LENGTH) }, 'no gym key for a presented kid');
    return found;
  }

  private hasUsableSet(): boolean {
    const set = this.current;
    return set !== null && this.clock.now() - set.fetchedAt < this.options.cacheMaxAgeMs + this.options.staleMaxAgeMs;
  }

  private lookup(kid: string): GymKey | null {
    const set = this.current;
    if (!set || !this.hasUsableSet()) return null;
    const key = set.keys.get(kid);
    return key ? { key, issuer: set.issuer } : null;
  }

  private refresh(): Promise<void> {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Fetches the key set; on any failure keeps the last good one, and waits a refetch interval before trying again. */
  private async load(): Promise<void> {
    try {
      this.current = await this.fetchKeySet();
      this.nextRefreshAt = this.current.fetchedAt + this.options.cacheMaxAgeMs;
    } catch (err) {
      this.nextRefreshAt = this.clock.now() + this.options.refetchIntervalMs;
      const reason = (err as Error).message;
      const set = this.current;
      if (set && this.clock.now() - set.fetchedAt < this.options.cacheMaxAgeMs + this.options.staleMaxAgeMs) {
        this.options.log.warn({ err: reason, keysFetchedAt: new Date(set.fetchedAt).toISOString() }, 'gym unreachable: admitting with a cached key');
      } else {
        this.options.log.error({ err: reason }, 'gym unreachable and no usable keys: refusing every swimmer');
      }
    }
  }

  /**
   * Discovery, then the key set. With a pinned issuer, the gym must announce exactly that one: a discovery document
   * cannot talk the pool into accepting another issuer.
   */
  private async fetchKeySet(): Promise<KeySet> {
    const discovery = (await this.getJson(`${this.options.gymUrl}/.well-known/openid-configuration`)) as { issuer?: unknown; jwks_uri?: unknown };
    if (typeof discovery.issuer !== 'string' || typeof discovery.jwks_uri !== 'string') throw new Error('the gym discovery document has no issuer or jwks_uri');
    if (this.options.issuer !== undefined && discovery.issuer !== this.options.issuer) {
      throw new Error(`the gym announces issuer ${discovery.issuer}, not ${this.options.issuer}`);
    }
    const jwks = (await this.getJson(this.jwksUrl(discovery.jwks_uri, discovery.issuer))) as { keys?: unknown };
    if (!Array.isArray(jwks.keys)) throw new Error('the gym JWKS has no keys');
    const keys = new Map<string, KeyObject>();
    for (const jwk of jwks.keys as JsonWebKey[]) {
      // Keycard signs with ES256 only (the header check refuses any other alg), so only P-256 signing keys matter.
      if (jwk?.kty !== 'EC' || jwk.crv !== 'P-256' || (jwk.use ?? 'sig') !== 'sig' || (jwk.alg ?? 'ES256') !== 'ES256') continue;
      if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) continue;
      try {
        keys.set(jwk.kid, createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' }));
      } catch {
        this.options.log.warn({ kid: jwk.kid.slice(0, LOGGED_KID_LENGTH) }, 'the gym JWKS holds a key that does not parse: skipped');
      }
    }
    if (keys.size === 0) throw new Error('the gym JWKS has no ES256 signing key');
    return { keys, issuer: discovery.issuer, fetchedAt: this.clock.now() };
  }

  /**
   * Where to fetch the announced jwks_uri: as is on GYM_URL's origin; at GYM_URL when it lies under the issuer (the
   * gym's public address, which the pool may not reach from inside); anything else is refused, as the pool would
   * otherwise trust keys from whatever host the discovery document names.
   */
  private jwksUrl(announced: string, issuer: string): string {
    let url: URL;
    try {
      url = new URL(announced);
    } catch {
      throw new Error('the gym discovery document has a jwks_uri that is not a URL');
    }
    if (url.origin === this.gymOrigin) return url.href;
    if (announced.startsWith(`${issuer}/`)) {
      const atGym = new URL(`${this.options.gymUrl}${announced.slice(issuer.length)}`);
      if (atGym.origin === this.gymOrigin) return atGym.href;
    }
    throw new Error(`the gym discovery document names jwks_uri ${announced}, which is not on the gym's origin (${this.gymOrigin}): refused`);
  }

  /** A JSON GET on the gym; a redirect is an error, so the answer always comes from the origin asked. */
  private async getJson(url: string): Promise<unknown> {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      throw new Error(`${url} answered ${res.status}, a redirect the pool does not follow`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`${url} answered ${res.status}`);
    }
    return res.json();
  }
}
