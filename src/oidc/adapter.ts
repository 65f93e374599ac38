import { createHash } from 'node:crypto';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { GymData } from '../db/data.js';
import { MAX_ROW_ID } from '../ids.js';

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

/** A member's id as the provider's accountId: the decimal id, nothing else. */
export function memberIdOfAccount(accountId: unknown): number | null {
  if (typeof accountId !== 'string' || !/^[1-9]\d{0,9}$/.test(accountId)) return null;
  const id = Number(accountId);
  return id <= MAX_ROW_ID ? id : null;
}

/**
 * oidc-provider's storage through Keycard's data layer (CONTRACT section 13): its sessions, interactions, grants,
 * codes and tokens in the gym's own database, on either engine, never in memory. One adapter per model, as
 * oidc-provider asks; every row is keyed by the SHA-256 of the model and id.
 */
export class KeycardOidcAdapter implements Adapter {
  constructor(
    private readonly data: GymData,
    private readonly model: string,
  ) {}

  private key(id: string): string {
    return recordKey(this.model, id);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const stored: AdapterPayload = { ...payload };
    if (!KEEPS_ID.has(this.model) && stored.jti === id) delete stored.jti;
    await this.data.upsertOidcRecord({
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

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.payloadOf(await this.data.oidcRecord(this.key(id)), id);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.payloadOf(await this.data.oidcRecordByUid(this.model, uid));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.payloadOf(await this.data.oidcRecordByUserCode(this.model, userCode));
  }

  /**
   * oidc-provider reads a code or refresh token, sees it unconsumed, then consumes it: two requests presenting it at
   * the same moment would both pass that read and both be given tokens. Consuming is therefore conditional here, and
   * the request that finds it already consumed is treated as oidc-provider treats a second use that comes later
   * (RFC 6749 10.5, OAuth 2.0 Security BCP 4.14): refused, and the grant with everything issued from it revoked.
   */
  async consume(id: string): Promise<void> {
    const key = this.key(id);
    if (await this.data.consumeOidcRecord(key, Date.now())) return;
    const grantId = (await this.data.oidcRecord(key))?.grantId;
    if (grantId) await this.data.deleteOidcGrant(grantId, recordKey('Grant', grantId));
    throw new errors.InvalidGrant(`${this.model} already used`);
  }

  async destroy(id: string): Promise<void> {
    await this.data.deleteOidcRecord(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.data.deleteOidcGrant(grantId);
  }

  private payloadOf(row: Awaited<ReturnType<GymData['oidcRecord']>>, id?: string): AdapterPayload | undefined {
    // An expired record is gone, whether or not the sweep has removed it yet.
    if (!row || (row.expiresAt !== null && row.expiresAt <= Date.now())) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    if (id !== undefined && payload.jti === undefined && !KEEPS_ID.has(this.model)) payload.jti = id;
    if (row.consumedAt !== null) payload.consumed = Math.floor(row.consumedAt / 1000);
    return payload;
  }
}
