import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, isNull, lte, ne, or } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { members, refreshTokens, type MemberRow } from '../db/schema.js';

/** A prefix makes a leaked refresh token easy for secret scanners (and people) to recognise. */
const PREFIX = 'kcr_';

/** Only the SHA-256 of a refresh token is stored: a copy of the database opens no doors. */
function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface IssuedRefreshToken {
  token: string;
  expiresAt: Date;
  familyId: string;
}

export type RotateResult =
  | { ok: true; member: MemberRow; refresh: IssuedRefreshToken }
  | { ok: false; revokedFamily: boolean };

/**
 * Rotating refresh tokens, stored as hashes, in families (one per login). Each use spends the token and issues its
 * child; presenting a spent token again means it was copied, so the whole family is revoked: the thief's copy and the
 * member's alike. The one exception is a race: two refreshes with the family's newest token within the grace
 * period (two tabs waking at once) fail the loser without revoking anything.
 */
export class RefreshTokens {
  constructor(
    private readonly db: Db,
    private readonly options: { ttlMs: number; graceMs: number },
  ) {}

  /** A new family for a fresh login, with its first token. */
  startFamily(memberId: number, now = Date.now()): IssuedRefreshToken {
    return this.insert(memberId, randomUUID(), null, now, this.db);
  }

  /**
   * Spends `token` and issues its successor, in one immediate transaction: of two concurrent uses exactly one wins,
   * even across processes sharing the database file.
   */
  rotate(token: string, now = Date.now()): RotateResult {
    const tokenHash = hashRefreshToken(token);
    return this.db.transaction(
      (tx): RotateResult => {
        const row = tx.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).get();
        if (!row || row.revokedAt) return { ok: false, revokedFamily: false };
        if (row.spentAt) {
          const child = tx.select().from(refreshTokens).where(eq(refreshTokens.parentId, row.id)).get();
          const wasNewest = Boolean(child && !child.spentAt && !child.revokedAt);
          if (wasNewest && now - row.spentAt.getTime() <= this.options.graceMs) return { ok: false, revokedFamily: false };
          this.revokeFamily(tx, row.familyId, now);
          return { ok: false, revokedFamily: true };
        }
        if (row.expiresAt.getTime() <= now) return { ok: false, revokedFamily: false };
        const member = tx.select().from(members).where(eq(members.id, row.memberId)).get();
        if (!member || member.status !== 'ACTIVE') {
          this.revokeFamily(tx, row.familyId, now);
          return { ok: false, revokedFamily: true };
        }
        tx.update(refreshTokens).set({ spentAt: new Date(now) }).where(eq(refreshTokens.id, row.id)).run();
        return { ok: true, member, refresh: this.insert(member.id, row.familyId, row.id, now, tx) };
      },
      { behavior: 'immediate' },
    );
  }

  /** Revokes the family `token` belongs to (logout with a refresh token). True when there was one. */
  revokeFamilyOf(token: string, now = Date.now()): boolean {
    const row = this.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashRefreshToken(token)))
      .get();
    if (!row) return false;
    this.revokeFamily(this.db, row.familyId, now);
    return true;
  }

  /** Revokes one family of a member (logout by keycard: the family its access token was issued in). */
  revokeFamilyOfMember(familyId: string, memberId: number, now = Date.now()): void {
    this.db
      .update(refreshTokens)
      .set({ revokedAt: new Date(now) })
      .where(and(eq(refreshTokens.familyId, familyId), eq(refreshTokens.memberId, memberId), isNull(refreshTokens.revokedAt)))
      .run();
  }

  /** Revokes every family of a member, except `keepFamilyId` (the caller's own, on a password change). */
  revokeAllFor(memberId: number, keepFamilyId?: string, now = Date.now()): number {
    const mine = and(eq(refreshTokens.memberId, memberId), isNull(refreshTokens.revokedAt));
    const where = keepFamilyId === undefined ? mine : and(mine, ne(refreshTokens.familyId, keepFamilyId));
    return this.db.update(refreshTokens).set({ revokedAt: new Date(now) }).where(where).run().changes;
  }

  /** Deletes rows that can never matter again: expired, or revoked longer ago than a token lives. */
  sweep(now = Date.now()): void {
    this.db
      .delete(refreshTokens)
      .where(or(lte(refreshTokens.expiresAt, new Date(now)), lte(refreshTokens.revokedAt, new Date(now - this.options.ttlMs))))
      .run();
  }

  private revokeFamily(tx: Pick<Db, 'update'>, familyId: string, now: number): void {
    tx.update(refreshTokens)
      .set({ revokedAt: new Date(now) })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
      .run();
  }

  private insert(memberId: number, familyId: string, parentId: number | null, now: number, tx: Pick<Db, 'insert'>): IssuedRefreshToken {
    // 256 bits from the CSPRNG: unguessable, so a hash without salt is enough to store it.
    const token = PREFIX + randomBytes(32).toString('base64url');
    const expiresAt = new Date(now + this.options.ttlMs);
    tx.insert(refreshTokens)
      .values({ tokenHash: hashRefreshToken(token), familyId, memberId, parentId, issuedAt: new Date(now), expiresAt })
      .run();
    return { token, expiresAt, familyId };
  }
}
