import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeycardOidcAdapter, memberIdOfAccount } from '../../src/oidc/adapter.js';
import { TestClock } from '../helpers/clock.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

/** The OpenID Provider's storage on the run's engine, through the real migrations: what oidc-provider asks of an adapter. */
describe("the OpenID Provider's adapter", () => {
  let database: TestDatabase;
  let memberId: number;
  beforeAll(async () => {
    database = await openTestDatabase();
    const member = await database.data.members.insert({ email: 'alice@keycard.test', name: 'Alice', passwordHash: 'x', createdAt: new Date() });
    memberId = member!.id;
  });
  afterAll(async () => database?.close());

  it('finds what it stored until it expires, with its id, and never keeps a code or token in the clear', async () => {
    const codes = new KeycardOidcAdapter(database.data, 'AuthorizationCode');
    const code = 'a-secret-authorization-code-value';
    await codes.upsert(code, { jti: code, kind: 'AuthorizationCode', accountId: String(memberId), grantId: 'grant-1', clientId: 'pool' }, 60);
    expect(await codes.find(code)).toMatchObject({ jti: code, accountId: String(memberId), grantId: 'grant-1' });
    // Another model, the same id: a different record.
    expect(await new KeycardOidcAdapter(database.data, 'AccessToken').find(code)).toBeUndefined();
    const rows = await database.sql.all<{ key: string; payload: string; member_id: number }>('select key, payload, member_id from oidc_records');
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(code);
    expect(rows[0]!.member_id).toBe(memberId);
    await new KeycardOidcAdapter(database.data, 'AccessToken').upsert('gone', { jti: 'gone', kind: 'AccessToken' }, -1);
    expect(await new KeycardOidcAdapter(database.data, 'AccessToken').find('gone')).toBeUndefined();
  });

  it('marks a consumed code, finds sessions by uid, and revokes everything of a grant', async () => {
    const codes = new KeycardOidcAdapter(database.data, 'AuthorizationCode');
    const tokens = new KeycardOidcAdapter(database.data, 'RefreshToken');
    const sessions = new KeycardOidcAdapter(database.data, 'Session');
    await codes.upsert('code-2', { jti: 'code-2', kind: 'AuthorizationCode', grantId: 'grant-2' }, 60);
    await codes.consume('code-2');
    expect((await codes.find('code-2'))?.consumed).toBeGreaterThan(0);
    await sessions.upsert('session-id', { jti: 'session-id', kind: 'Session', uid: 'uid-1', accountId: String(memberId) }, 600);
    expect(await sessions.findByUid('uid-1')).toMatchObject({ jti: 'session-id', uid: 'uid-1' });
    await tokens.upsert('refresh-2', { jti: 'refresh-2', kind: 'RefreshToken', grantId: 'grant-2' }, 600);
    await tokens.revokeByGrantId('grant-2');
    expect(await codes.find('code-2')).toBeUndefined();
    expect(await tokens.find('refresh-2')).toBeUndefined();
    await sessions.destroy('session-id');
    expect(await sessions.find('session-id')).toBeUndefined();
  });

  it('lets one of two consumes at the same moment through, and answers the other as a reuse without a grace: invalid_grant, the grant revoked', async () => {
    const tokens = new KeycardOidcAdapter(database.data, 'RefreshToken');
    const grants = new KeycardOidcAdapter(database.data, 'Grant');
    await grants.upsert('grant-3', { jti: 'grant-3', kind: 'Grant', accountId: String(memberId), clientId: 'pool' }, 600);
    await tokens.upsert('refresh-3', { jti: 'refresh-3', kind: 'RefreshToken', grantId: 'grant-3' }, 600);
    await tokens.upsert('refresh-3-sibling', { jti: 'refresh-3-sibling', kind: 'RefreshToken', grantId: 'grant-3' }, 600);
    const outcomes = await Promise.allSettled([tokens.consume('refresh-3'), tokens.consume('refresh-3')]);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(refused?.reason).toMatchObject({ statusCode: 400, error: 'invalid_grant' });
    expect(await grants.find('grant-3')).toBeUndefined();
    expect(await tokens.find('refresh-3-sibling')).toBeUndefined();
    // Later, the same: a consumed token stays consumed.
    await expect(tokens.consume('refresh-3')).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  describe('with a grace for a retried refresh token', () => {
    // As the token endpoint sees them: there a retried refresh is found as not found (a revocation still finds it).
    const GRACE = { refreshReuseGraceMs: 5_000, atTokenEndpoint: () => true };
    /** A chain's refresh token as oidc-provider stores it: the sign-in's session and first issue time, its rotation. */
    const token = (grantId: string, rotations?: number, sessionUid = 'session-a') => ({
      kind: 'RefreshToken',
      grantId,
      accountId: String(memberId),
      sessionUid,
      iiat: 1_700_000_000,
      ...(rotations === undefined ? {} : { rotations }),
    });
    const grantOf = async (grantId: string) => {
      await new KeycardOidcAdapter(database.data, 'Grant').upsert(grantId, { jti: grantId, kind: 'Grant', accountId: String(memberId), clientId: 'pool' }, 600);
    };

    it('lets one of two consumes at the same moment through and refuses the other with invalid_grant, revoking nothing', async () => {
      const tokens = new KeycardOidcAdapter(database.data, 'RefreshToken', GRACE);
      await grantOf('grant-4');
      await tokens.upsert('refresh-4', token('grant-4'), 600);
      const outcomes = await Promise.allSettled([tokens.consume('refresh-4'), tokens.consume('refresh-4')]);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      expect(refused?.reason).toMatchObject({ statusCode: 400, error: 'invalid_grant' });
      // The winner's successor, as oidc-provider writes it after consuming.
      await tokens.upsert('refresh-4-next', token('grant-4', 1), 600);
      expect(await new KeycardOidcAdapter(database.data, 'Grant').find('grant-4')).toBeDefined();
      expect(await tokens.find('refresh-4-next')).toMatchObject({ grantId: 'grant-4' });
      // Presented again: not found (oidc-provider's invalid_grant without a revocation), and still not consumable.
      expect(await tokens.find('refresh-4')).toBeUndefined();
      await expect(tokens.consume('refresh-4')).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(await tokens.find('refresh-4-next')).toMatchObject({ grantId: 'grant-4' });
    });

    it('answers an older token as a reuse within the grace: found consumed, and its consume revokes the grant', async () => {
      const tokens = new KeycardOidcAdapter(database.data, 'RefreshToken', GRACE);
      await grantOf('grant-5');
      await tokens.upsert('refresh-5', token('grant-5'), 600);
      await tokens.consume('refresh-5');
      await tokens.upsert('refresh-5-next', token('grant-5', 1), 600);
      await tokens.consume('refresh-5-next');
      await tokens.upsert('refresh-5-last', token('grant-5', 2), 600);
      // The token it was rotated into has been used: this one is no retry.
      expect((await tokens.find('refresh-5'))?.consumed).toBeGreaterThan(0);
      // The newest spent one still is.
      expect(await tokens.find('refresh-5-next')).toBeUndefined();
      await expect(tokens.consume('refresh-5')).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(await new KeycardOidcAdapter(database.data, 'Grant').find('grant-5')).toBeUndefined();
      expect(await tokens.find('refresh-5-last')).toBeUndefined();
    });

    it("counts only the token's own chain: another sign-in's refresh under the same grant is no use of its successor", async () => {
      const tokens = new KeycardOidcAdapter(database.data, 'RefreshToken', GRACE);
      await grantOf('grant-6');
      await tokens.upsert('phone', token('grant-6', 1, 'session-phone'), 600);
      await tokens.upsert('laptop', token('grant-6', 3, 'session-laptop'), 600);
      await tokens.consume('phone');
      await tokens.consume('laptop');
      expect(await tokens.find('phone')).toBeUndefined();
    });

    it('answers a token presented after the grace as a reuse, and gives codes no grace at all', async () => {
      const clock = new TestClock();
      const tokens = new KeycardOidcAdapter(database.data, 'RefreshToken', { ...GRACE, clock });
      await tokens.upsert('refresh-7', token('grant-7'), 600);
      await tokens.consume('refresh-7');
      expect(await tokens.find('refresh-7')).toBeUndefined();
      await clock.advance(5_001);
      expect((await tokens.find('refresh-7'))?.consumed).toBeGreaterThan(0);
      const codes = new KeycardOidcAdapter(database.data, 'AuthorizationCode', GRACE);
      await codes.upsert('code-7', { jti: 'code-7', kind: 'AuthorizationCode', grantId: 'grant-7' }, 60);
      await codes.consume('code-7');
      expect((await codes.find('code-7'))?.consumed).toBeGreaterThan(0);
    });
  });

  it('takes an accountId only as a member id spelled plainly', () => {
    expect(memberIdOfAccount('42')).toBe(42);
    for (const bad of ['042', '4.2', '-1', '', ' 42', '99999999999', 42, undefined]) expect(memberIdOfAccount(bad)).toBeNull();
  });
});
