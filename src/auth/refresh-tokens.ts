import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { GymData, GymQueries, MemberRow } from '../db/data.js';
import { assertStillHolds, stillHolds } from './credential-version.js';
import { realClock, type Clock } from '../shared/clock.js';

/** A prefix makes a leaked refresh token easy for secret scanners (and people) to recognise. */
const PREFIX = 'kcr_';
/** The family's secret (128 bits, base64url) in front of a token's own part. */
const FAMILY_PART = /^kcr_([A-Za-z0-9_-]{22})\./;

/** Nothing Keycard issues is longer; anything else is refused before it is even hashed. */
export const MAX_REFRESH_TOKEN_LENGTH = 128;

/** Only the SHA-256 of a refresh token (and of its family's secret) is stored: a copy of the database opens no doors. */
function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A refresh token is `kcr_` + the family's secret + `.` + 256 random bits of its own. The family part lets a spent
 * token be recognised long after its row is gone; its own part makes each token single-use.
 */
function familyHashOf(token: string): string | null {
  const secret = FAMILY_PART.exec(token)?.[1];
  return secret ? sha256(secret) : null;
}

/** What a family's atomic steps queue on (PostgreSQL): its secret's hash, which every one of its tokens carries. */
function familyKey(familyHash: string): string {
  return `refresh-family:${familyHash}`;
}

export interface IssuedRefreshToken {
  token: string;
  expiresAt: Date;
  familyId: string;
}

export type RotateResult =
  | { ok: true; member: MemberRow; refresh: IssuedRefreshToken }
  | { ok: false; revokedFamily: boolean };

export interface RefreshTokenOptions {
  ttlMs: number;
  graceMs: number;
  /** Live families a member may hold at once (devices, browsers); a new login beyond it revokes the least recently used. */
  maxFamiliesPerMember: number;
  /** The time expiry and the grace are read from (the machine's by default). */
  clock?: Pick<Clock, 'now'>;
}

/** The family a login starts: its public id (in the access token's `sid`) and the secret its refresh tokens carry. */
interface Family {
  id: string;
  secret: string;
  hash: string;
  credentialVersion: number;
}

/**
 * Rotating refresh tokens, stored as hashes, in families (one per login). Each use spends the token and issues its
 * child; presenting a spent token again means it was copied, so the whole family is revoked: the thief's copy and the
 * member's alike. The one exception is a race: two refreshes with the family's newest token within the grace
 * period (two tabs waking at once) fail the loser without revoking anything.
 *
 * What is kept is bounded: a chain keeps only its newest token and that token's parent (what the grace rule needs),
 * older spent tokens being recognised by their family's secret; and a member holds at most
 * `maxFamiliesPerMember` live families.
 *
 * Every family is bound to the member's credential version when it began: a password change, logout everywhere or a
 * suspension bumps the version, so a family started by a login that overlapped one of them can never refresh.
 */
export class RefreshTokens {
  private readonly clock: Pick<Clock, 'now'>;

  constructor(
    private readonly data: GymData,
    private readonly options: RefreshTokenOptions,
  ) {
    this.clock = options.clock ?? realClock;
  }

  /**
   * A new family for a fresh login, with its first token, if the member's credentials are still those the login
   * checked (`credentialVersion`) and the member is active: checked and written in one atomic step, so a password
   * change either sees this family (and revokes it) or this login sees the change (and is refused with
   * CredentialsChangedError).
   */
  startFamily(memberId: number, credentialVersion: number, now = this.clock.now()): Promise<IssuedRefreshToken> {
    const secret = randomBytes(16).toString('base64url');
    const family: Family = { id: randomUUID(), secret, hash: sha256(secret), credentialVersion };
    return this.data.atomically((tx) => this.start(tx, memberId, family, now), { queueOn: [`member:${memberId}`] });
  }

  private async start(tx: GymQueries, memberId: number, family: Family, now: number): Promise<IssuedRefreshToken> {
    await assertStillHolds(tx, memberId, family.credentialVersion);
    const issued = await this.insert(tx, memberId, family, null, now);
    // Beyond the cap, the member's least recently used live families are revoked (the newest login always stays).
    const keep = await tx.refresh.liveFamilies(memberId, new Date(now), this.options.maxFamiliesPerMember);
    await tx.refresh.deleteFamiliesBut(memberId, keep);
    return issued;
  }

  /**
   * The member a live refresh token (unspent, unexpired) belongs to, without spending it: the per-member refresh limit
   * is counted first. Null for any other token, so a leaked dead token cannot spend its owner's limit.
   */
  async memberOf(token: string, now = this.clock.now()): Promise<number | null> {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) return null;
    return (await this.data.refresh.liveMember(sha256(token), new Date(now))) ?? null;
  }

  /**
   * Spends `token` and issues its successor, in one atomic step: of two concurrent uses exactly one wins, even
   * across processes sharing the database.
   */
  async rotate(token: string, options: { memberId?: number | null; now?: number } = {}): Promise<RotateResult> {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) return { ok: false, revokedFamily: false };
    const now = options.now ?? this.clock.now();
    // Two tabs (or two instances) refreshing one family at once queue on the family, known from the token itself; and,
    // when the caller knows whose token it is (from {@link memberOf}), on the member, with logout everywhere, a password
    // change and a suspension. The member is only a hint for the queue: the step itself reads whose token it is.
    const queueOn = [familyKey(familyHashOf(token) ?? sha256(token))];
    if (options.memberId) queueOn.push(`member:${options.memberId}`);
    return this.data.atomically((tx) => this.rotation(tx, token, now), { queueOn });
  }

  private async rotation(tx: GymQueries, token: string, now: number): Promise<RotateResult> {
    const row = await tx.refresh.byHash(sha256(token));
    if (!row) {
      // Not a token on file: forged, long expired, or a spent token older than the chain keeps. The last is
      // recognised by its family's secret, and is a reuse like any other.
      const familyHash = familyHashOf(token);
      const familyId = familyHash ? await tx.refresh.familyByHash(familyHash) : undefined;
      if (!familyId) return { ok: false, revokedFamily: false };
      await tx.refresh.deleteFamily(familyId);
      return { ok: false, revokedFamily: true };
    }
    if (row.revokedAt) return { ok: false, revokedFamily: false };
    if (row.spentAt) {
      const child = await tx.refresh.child(row.id);
      const wasNewest = Boolean(child && !child.spentAt && !child.revokedAt);
      if (wasNewest && now - row.spentAt.getTime() <= this.options.graceMs) return { ok: false, revokedFamily: false };
      await tx.refresh.deleteFamily(row.familyId);
      return { ok: false, revokedFamily: true };
    }
    if (row.expiresAt.getTime() <= now) return { ok: false, revokedFamily: false };
    const member: MemberRow | undefined = await tx.members.byId(row.memberId);
    // A suspended member, or a family begun before the member's credentials last ended: never again.
    if (!stillHolds(member, row.credentialVersion)) {
      await tx.refresh.deleteFamily(row.familyId);
      return { ok: false, revokedFamily: true };
    }
    await tx.refresh.spend(row.id, new Date(now));
    let secret = FAMILY_PART.exec(token)?.[1];
    if (!secret || !row.familyHash) {
      // A family from before tokens carried a family secret: its tokens from now on carry one. Its older rows have
      // no family hash and are never pruned, so reusing one of them is still recognised by its own hash.
      secret = randomBytes(16).toString('base64url');
    } else {
      // The chain keeps the token just spent (for the grace rule) and its child; older ones are known by the family.
      await tx.refresh.pruneChain(row.familyId, row.id);
    }
    const family: Family = { id: row.familyId, secret, hash: sha256(secret), credentialVersion: row.credentialVersion };
    return { ok: true, member, refresh: await this.insert(tx, member.id, family, row.id, now) };
  }

  /**
   * Revokes the family `token` belongs to (logout with a refresh token). True when there was one. An atomic step queued
   * with the family's rotations: a rotation running at that moment either comes first (and its child is revoked with
   * the rest) or after (and finds nothing).
   */
  async revokeFamilyOf(token: string): Promise<boolean> {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) return false;
    const tokenHash = sha256(token);
    const familyHash = familyHashOf(token);
    return this.data.atomically(
      async (tx) => {
        const familyId = await tx.refresh.familyOfToken(tokenHash, familyHash);
        if (!familyId) return false;
        await tx.refresh.deleteFamily(familyId);
        return true;
      },
      { queueOn: [familyKey(familyHash ?? tokenHash)] },
    );
  }

  /**
   * Revokes one family of a member (logout by keycard: the family its access token was issued in), queued with the
   * family's rotations as {@link revokeFamilyOf} is.
   */
  async revokeFamilyOfMember(familyId: string, memberId: number): Promise<void> {
    const familyHash = await this.data.refresh.familyHashOf(familyId);
    await this.data.atomically(
      async (tx) => {
        await tx.refresh.deleteFamily(familyId, memberId);
      },
      // A family from before tokens carried a secret has no key to queue on: serializability alone decides for it.
      { queueOn: familyHash ? [familyKey(familyHash)] : [] },
    );
  }

  /**
   * Revokes every family of a member, except `keep` (the caller's own, on a password change), which is bound to the
   * member's new credential version `keep.credentialVersion` so it goes on. Part of an atomic step.
   */
  static async revokeAllFor(tx: GymQueries, memberId: number, keep?: { familyId: string; credentialVersion: number }): Promise<number> {
    if (keep) await tx.refresh.rebindFamily(memberId, keep.familyId, keep.credentialVersion);
    return tx.refresh.deleteFamiliesOf(memberId, keep?.familyId);
  }

  /** Deletes rows that can never matter again: expired ones (and revoked ones left by an earlier version). */
  sweep(now = this.clock.now()): Promise<void> {
    return this.data.refresh.deleteDead(new Date(now));
  }

  private async insert(tx: GymQueries, memberId: number, family: Family, parentId: number | null, now: number): Promise<IssuedRefreshToken> {
    // 256 bits from the CSPRNG: unguessable, so a hash without salt is enough to store it.
    const token = `${PREFIX}${family.secret}.${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(now + this.options.ttlMs);
    await tx.refresh.insert({
      tokenHash: sha256(token),
      familyId: family.id,
      familyHash: family.hash,
      credentialVersion: family.credentialVersion,
      memberId,
      parentId,
      issuedAt: new Date(now),
      expiresAt,
    });
    return { token, expiresAt, familyId: family.id };
  }
}
