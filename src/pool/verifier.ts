import type { Logger } from 'pino';
import { realClock, type Clock } from '../shared/clock.js';
import { CredentialRejected } from '../shared/errors.js';
import { PARTNER_TOKEN_TYP, readHeader, verifySigned, type JwtRules } from '../shared/jwt.js';
import { GymKeys } from './gym-keys.js';

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
  /** How long a fetched key set is trusted before asking the gym again. */
  cacheMaxAgeMs: number;
  /** How much longer the last good key set keeps working while the gym cannot be reached. */
  staleMaxAgeMs: number;
  /** Fetches of the JWKS on unknown kids, at most, per minute (spread evenly: one per 60 s / this). */
  requestsPerMinute: number;
  /** Whose time tokens expire and the key set ages on (default: the machine's). */
  clock?: Pick<Clock, 'now'>;
  log: Logger;
}

/**
 * The pool's card reader. It checks partner tokens against the gym's published keys, held by {@link GymKeys}. It
 * never calls the gym to ask about a token, and never reads the gym's database.
 */
export class PartnerTokenVerifier {
  private readonly keys: GymKeys;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly options: VerifierOptions) {
    this.clock = options.clock ?? realClock;
    this.keys = new GymKeys({
      gymUrl: options.gymUrl,
      issuer: options.issuer,
      cacheMaxAgeMs: options.cacheMaxAgeMs,
      staleMaxAgeMs: options.staleMaxAgeMs,
      refetchIntervalMs: Math.ceil(60_000 / options.requestsPerMinute),
      clock: this.clock,
      log: options.log,
    });
  }

  /** Verifies a partner token, or throws CredentialRejected(`token_expired` | `invalid_token`). */
  async verify(token: string): Promise<Swimmer> {
    const header = readHeader(token, { typ: PARTNER_TOKEN_TYP });
    const found = await this.keys.keyFor(header.kid);
    if (found === null) throw new CredentialRejected('invalid_token');
    const rules: JwtRules = { issuer: found.issuer, audience: this.options.audience, typ: PARTNER_TOKEN_TYP };
    const payload = verifySigned(token, found.key, rules, this.clock.now());
    if (typeof payload.name !== 'string') throw new CredentialRejected('invalid_token');
    return {
      id: payload.sub!,
      name: payload.name,
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      expiresAt: new Date(payload.exp! * 1000),
      tokenId: typeof payload.jti === 'string' ? payload.jti : null,
    };
  }
}
