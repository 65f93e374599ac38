import { createHash } from 'node:crypto';
import Provider, { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { GymData, OidcRecordRow } from '../db/data.js';
import { MAX_ROW_ID } from '../ids.js';
import { realClock, type Clock } from '../shared/clock.js';

/**
 * The models whose id is the secret a client or browser presents (a code, a token): stored without it, found by its
 * hash. Two keep their id in the payload: the provider's own Session, which it looks up by uid (not by the cookie)
 * and needs whole, and a Grant, which no client can present for anything and which Keycard finds again by member and
 * client to remember a consent.
 */
const KEEPS_ID = new Set(['Session', 'Grant']);

/** Where a record is stored: the SHA-256 of its model and id, so that a code or token is never a key in the clear. */
function recordKey(model: string, id: string): string {
  return createHash('sha256').update(`${model}\0${id}`).digest('base64url');
}

/** The provider's route the current request is on (oidc-provider keeps each request's context for its adapter). */
function currentRoute(): string | undefined {
  return (Provider as unknown as { ctx?: { oidc?: { route?: string } } }).ctx?.oidc?.route;
}

/** A member's id as the provider's accountId: the decimal id, nothing else. */
export function memberIdOfAccount(accountId: unknown): number | null {
  if (typeof accountId !== 'string' || !/^[1-9]\d{0,9}$/.test(accountId)) return null;
  const id = Number(accountId);
  return id <= MAX_ROW_ID ? id : null;
}

export interface KeycardOidcAdapterOptions {
  /**
   * How long after a refresh token is rotated a second presentation of it is taken for a retry (REFRESH_REUSE_GRACE,
   * the gym's own refresh rule): refused, nothing revoked, while the token it was rotated into is still unused. None
   * (0, the default): every second presentation is a reuse.
   */
  refreshReuseGraceMs?: number;
  /**
   * Whether the request being served is a token request (where a refresh is retried): by default, what oidc-provider
   * says of the request it is serving.
   */
  atTokenEndpoint?: () => boolean;
  /**
   * The clock a token's consumption and the grace after it are read on (default: the machine's). What oidc-provider
   * times itself (its records' lifetimes) stays on the machine's clock, as the provider's own checks are.
   */
  clock?: Pick<Clock, 'now'>;
}

/** Which rotation of its chain a refresh token is: oidc-provider counts them, the first token having none. */
function rotationOf(payload: AdapterPayload): number {
  return typeof payload.rotations === 'number' ? payload.rotations : 0;
}

/**
 * Whether two refresh tokens of a grant descend from the same code (one sign-in): oidc-provider carries the first
 * token's issue time and the sign-in's session into every rotation. A grant is found again for each sign-in of the
 * member at the client, so it may hold several chains, one per device.
 */
function sameChain(a: AdapterPayload, b: AdapterPayload): boolean {
  return a.iiat === b.iiat && a.sessionUid === b.sessionUid;
}

/**
 * oidc-provider's storage through Keycard's data layer: its sessions, interactions, grants,
 * codes and tokens in the gym's own database, on either engine, never in memory. One adapter per model, as
 * oidc-provider asks; every row is keyed by the SHA-256 of the model and id.
 */
export class KeycardOidcAdapter implements Adapter {
  private readonly graceMs: number;
  private readonly atTokenEndpoint: () => boolean;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(
    private readonly data: GymData,
    private readonly model: string,
    options: KeycardOidcAdapterOptions = {},
  ) {
    this.graceMs = model === 'RefreshToken' ? (options.refreshReuseGraceMs ?? 0) : 0;
    this.atTokenEndpoint = options.atTokenEndpoint ?? (() => currentRoute() === 'token');
    this.clock = options.clock ?? realClock;
  }

  private key(id: string): string {
    return recordKey(this.model, id);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const stored: AdapterPayload = { ...payload };
    if (!KEEPS_ID.has(this.model) && stored.jti === id) delete stored.jti;
    await this.data.oidc.upsert({
      key: this.key(id),
      model: this.model,
      payload: JSON.stringify(stored),
      memberId: memberIdOfAccount(payload.accountId),
      grantId: payload.grantId ?? null,
      uid: payload.uid ?? null,
      userCode: payload.userCode ?? null,
      expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : null,
      consumedAt: null,
    });
  }

  /**
   * A refresh token retried within the grace of its rotation is not found: oidc-provider then refuses it with
   * invalid_grant and revokes nothing, where a token it finds consumed makes it revoke the grant (a reuse).
   */
  async find(id: string): Promise<AdapterPayload | undefined> {
    const row = await this.data.oidc.byKey(this.key(id));
    // Only a refresh at the token endpoint is a retry: revoking a token just rotated (a sign-out racing a refresh in
    // another tab) must still find it, and end its grant.
    if (row && this.atTokenEndpoint() && (await this.isRetry(row, this.clock.now()))) return undefined;
    return this.payloadOf(row, id);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.payloadOf(await this.data.oidc.byUid(this.model, uid));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.payloadOf(await this.data.oidc.byUserCode(this.model, userCode));
  }

  /**
   * oidc-provider reads a code or refresh token, sees it unconsumed, then consumes it: two requests presenting it at
   * the same moment would both pass that read and both be given tokens. Consuming is therefore conditional here, and
   * the request that finds it already consumed is treated as oidc-provider treats a second use that comes later
   * (RFC 6749 10.5, OAuth 2.0 Security BCP 4.14): refused, and the grant with everything issued from it revoked. The
   * one exception is the gym's own: a refresh token's retry within the grace is refused and revokes nothing, so two
   * tabs refreshing at once do not sign the member out of the client.
   */
  async consume(id: string): Promise<void> {
    const key = this.key(id);
    const now = this.clock.now();
    if (await this.data.oidc.consume(key, now)) return;
    const row = await this.data.oidc.byKey(key);
    if (row && (await this.isRetry(row, now))) throw new errors.InvalidGrant(`${this.model} already used`);
    if (row?.grantId) await this.data.oidc.deleteGrant(row.grantId, recordKey('Grant', row.grantId));
    throw new errors.InvalidGrant(`${this.model} already used`);
  }

  async destroy(id: string): Promise<void> {
    await this.data.oidc.delete(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.data.oidc.deleteGrant(grantId);
  }

  /**
   * A refresh token presented again within the grace of its rotation, while it was its chain's newest: no token of its
   * chain rotated after it, so the token it was rotated into is not used yet (or not even stored yet, the winner of a
   * race still writing it). Anything else spent (later, or an older token) is a reuse, as the gym's own refresh rule
   * has it (schema/README.md, "Authentication").
   */
  private async isRetry(row: OidcRecordRow, now: number): Promise<boolean> {
    if (this.graceMs <= 0 || row.consumedAt === null || row.grantId === null || now - row.consumedAt > this.graceMs) return false;
    const token = JSON.parse(row.payload) as AdapterPayload;
    const spentSince = await this.data.oidc.consumedSince(this.model, row.grantId, row.consumedAt);
    return !spentSince.some((other) => {
      const payload = JSON.parse(other.payload) as AdapterPayload;
      return other.key !== row.key && sameChain(payload, token) && rotationOf(payload) > rotationOf(token);
    });
  }

  private payloadOf(row: OidcRecordRow | undefined, id?: string): AdapterPayload | undefined {
    // An expired record is gone, whether or not the sweep has removed it yet.
    if (!row || (row.expiresAt !== null && row.expiresAt <= Date.now())) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    if (id !== undefined && payload.jti === undefined && !KEEPS_ID.has(this.model)) payload.jti = id;
    if (row.consumedAt !== null) payload.consumed = Math.floor(row.consumedAt / 1000);
    return payload;
  }
}
