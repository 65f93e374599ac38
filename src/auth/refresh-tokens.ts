import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, desc, eq, gt, isNotNull, isNull, lt, lte, ne, notInArray, or } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { members, refreshTokens, type MemberRow } from '../db/schema.js';
import { assertStillHolds, stillHolds } from './credential-version.js';

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
  constructor(
    private readonly db: Db,
    private readonly options: RefreshTokenOptions,
  ) {}

  /**
   * A new family for a fresh login, with its first token, if the member's credentials are still those the login
   * checked (`credentialVersion`) and the member is active: checked and written in one immediate transaction, so a
   * password change either sees this family (and revokes it) or this login sees the change (and is refused with
   * CredentialsChangedError).
   */
  startFamily(memberId: number, credentialVersion: number, now = Date.now()): IssuedRefreshToken {
    const secret = randomBytes(16).toString('base64url');
    const family: Family = { id: randomUUID(), secret, hash: sha256(secret), credentialVersion };
    return this.db.transaction(
      (tx) => {
        assertStillHolds(tx, memberId, credentialVersion);
        const issued = this.insert(tx, memberId, family, null, now);
        this.capFamilies(tx, memberId, now);
        return issued;
      },
      { behavior: 'immediate' },
    );
  }

  /**
   * The member a live refresh token (unspent, unexpired) belongs to, without spending it: the per-member refresh limit
   * is counted first. Null for any other token, so a leaked dead token cannot spend its owner's limit.
   */
  memberOf(token: string, now = Date.now()): number | null {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) return null;
    const row = this.db
      .select({ memberId: refreshTokens.memberId })
      .from(refreshTokens)
      .where(
        and(
          eq(refreshTokens.tokenHash, sha256(token)),
          isNull(refreshTokens.spentAt),
          isNull(refreshTokens.revokedAt),
          gt(refreshTokens.expiresAt, new Date(now)),
        ),
      )
      .get();
    return row?.memberId ?? null;
  }

  /**
   * Spends `token` and issues its successor, in one immediate transaction: of two concurrent uses exactly one wins,
   * even across processes sharing the database file.
   */
  rotate(token: string, now = Date.now()): RotateResult {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) return { ok: false, revokedFamily: false };
    const tokenHash = sha256(token);
    return this.db.transaction(
      (tx): RotateResult => {
        const row = tx.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).get();
        if (!row) {
          // Not a token on file: forged, long expired, or a spent token older than the chain keeps. The last is
          // recognised by its family's secret, and is a reuse like any other.
          const familyHash = familyHashOf(token);
          const family = familyHash
            ? tx
                .select({ familyId: refreshTokens.familyId })
                .from(refreshTokens)
                .where(and(eq(refreshTokens.familyHash, familyHash), isNull(refreshTokens.revokedAt)))
                .get()
            : undefined;
          if (!family) return { ok: false, revokedFamily: false };
          this.revokeFamily(tx, family.familyId);
          return { ok: false, revokedFamily: true };
        }
        if (row.revokedAt) return { ok: false, revokedFamily: false };
        if (row.spentAt) {
          const child = tx.select().from(refreshTokens).where(eq(refreshTokens.parentId, row.id)).get();
          const wasNewest = Boolean(child && !child.spentAt && !child.revokedAt);
          if (wasNewest && now - row.spentAt.getTime() <= this.options.graceMs) return { ok: false, revokedFamily: false };
          this.revokeFamily(tx, row.familyId);
          return { ok: false, revokedFamily: true };
        }
        if (row.expiresAt.getTime() <= now) return { ok: false, revokedFamily: false };
        const member = tx.select().from(members).where(eq(members.id, row.memberId)).get();
        // A suspended member, or a family begun before the member's credentials last ended: never again.
        if (!stillHolds(member, row.credentialVersion)) {
          this.revokeFamily(tx, row.familyId);
          return { ok: false, revokedFamily: true };
        }
        tx.update(refreshTokens).set({ spentAt: new Date(now) }).where(eq(refreshTokens.id, row.id)).run();
        let secret = FAMILY_PART.exec(token)?.[1];
        if (!secret || !row.familyHash) {
          // A family from before tokens carried a family secret: its tokens from now on carry one. Its older rows have
          // no family hash and are never pruned, so reusing one of them is still recognised by its own hash.
          secret = randomBytes(16).toString('base64url');
        } else {
          // The chain keeps the token just spent (for the grace rule) and its child; older ones are known by the family.
          tx.delete(refreshTokens)
            .where(and(eq(refreshTokens.familyId, row.familyId), lt(refreshTokens.id, row.id), isNotNull(refreshTokens.familyHash)))
            .run();
        }
        const family: Family = { id: row.familyId, secret, hash: sha256(secret), credentialVersion: row.credentialVersion };
        return { ok: true, member, refresh: this.insert(tx, member.id, family, row.id, now) };
      },
      { behavior: 'immediate' },
    );
  }

  /** Revokes the family `token` belongs to (logout with a refresh token). True when there was one. */
  revokeFamilyOf(token: string): boolean {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) return false;
    const familyHash = familyHashOf(token);
    const row = this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(or(eq(refreshTokens.tokenHash, sha256(token)), familyHash ? eq(refreshTokens.familyHash, familyHash) : undefined))
      .get();
    if (!row) return false;
    this.revokeFamily(this.db, row.familyId);
    return true;
  }

  /** Revokes one family of a member (logout by keycard: the family its access token was issued in). */
  revokeFamilyOfMember(familyId: string, memberId: number): void {
    this.db.delete(refreshTokens).where(and(eq(refreshTokens.familyId, familyId), eq(refreshTokens.memberId, memberId))).run();
  }

  /**
   * Revokes every family of a member, except `keep` (the caller's own, on a password change), which is bound to the
   * member's new credential version `keep.credentialVersion` so it goes on.
   */
  revokeAllFor(memberId: number, keep?: { familyId: string; credentialVersion: number }): number {
    const mine = eq(refreshTokens.memberId, memberId);
    if (keep) {
      this.db
        .update(refreshTokens)
        .set({ credentialVersion: keep.credentialVersion })
        .where(and(mine, eq(refreshTokens.familyId, keep.familyId)))
        .run();
    }
    const where = keep === undefined ? mine : and(mine, ne(refreshTokens.familyId, keep.familyId));
    return this.db.delete(refreshTokens).where(where).run().changes;
  }

  /** Deletes rows that can never matter again: expired ones (and revoked ones left by an earlier version). */
  sweep(now = Date.now()): void {
    this.db
      .delete(refreshTokens)
      .where(or(lte(refreshTokens.expiresAt, new Date(now)), lte(refreshTokens.revokedAt, new Date(now))))
      .run();
  }

  /** Beyond the cap, the member's least recently used live families are revoked (the newest login always stays). */
  private capFamilies(tx: Pick<Db, 'select' | 'delete'>, memberId: number, now: number): void {
    const live = and(eq(refreshTokens.memberId, memberId), isNull(refreshTokens.revokedAt), isNull(refreshTokens.spentAt), gt(refreshTokens.expiresAt, new Date(now)));
    const keep = tx
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(live)
      .orderBy(desc(refreshTokens.issuedAt), desc(refreshTokens.id))
      .limit(this.options.maxFamiliesPerMember)
      .all()
      .map((r) => r.familyId);
    tx.delete(refreshTokens).where(and(eq(refreshTokens.memberId, memberId), notInArray(refreshTokens.familyId, keep))).run();
  }

  /**
   * Revoking a family deletes it: a revoked token and an unknown one get the same answer, so nothing of it is worth
   * keeping, and nothing piles up for later logins to scan.
   */
  private revokeFamily(tx: Pick<Db, 'delete'>, familyId: string): void {
    tx.delete(refreshTokens).where(eq(refreshTokens.familyId, familyId)).run();
  }

  private insert(tx: Pick<Db, 'insert'>, memberId: number, family: Family, parentId: number | null, now: number): IssuedRefreshToken {
    // 256 bits from the CSPRNG: unguessable, so a hash without salt is enough to store it.
    const token = `${PREFIX}${family.secret}.${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(now + this.options.ttlMs);
    tx.insert(refreshTokens)
      .values({
        tokenHash: sha256(token),
        familyId: family.id,
        familyHash: family.hash,
        credentialVersion: family.credentialVersion,
        memberId,
        parentId,
        issuedAt: new Date(now),
        expiresAt,
      })
      .run();
    return { token, expiresAt, familyId: family.id };
  }
}
