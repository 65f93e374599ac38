import { expect } from 'vitest';
import { idOf } from '../../src/ids.js';
import type { RoleName } from '../../src/shared/roles.js';
import type { TestApp } from '../helpers/app.js';
import { Client } from '../helpers/client.js';
import { until } from '../helpers/live.js';
import { decodeJwt } from '../helpers/tokens.js';

/**
 * What the client tests share (not part of any snippet): a token aged by the gym itself, and the gym's own request log
 * to see what a client really sent.
 */

/**
 * The same access token, aged: the gym's own issuer signs the same claims (member, role, sign-in) as if a minute past
 * its lifetime ago. Waiting is no option: the gym accepts a token up to 30 s past its `exp` (its clock tolerance), so
 * even a 1 s ACCESS_TOKEN_TTL would keep each test waiting over half a minute.
 */
export function expired(app: TestApp, accessToken: string): string {
  const { payload } = decodeJwt(accessToken);
  const member = { id: idOf('Member', String(payload.sub))!, role: payload.role as RoleName, tokenVersion: Number(payload.ver) };
  return app.keycard.services.accessTokens.issue(member, String(payload.sid), Date.now() - app.config.accessTokenTtlMs - 60_000).token;
}

/** The gym's log line of each HTTP request after the first `mark` log lines, once `count` of them are there. */
export async function requestsAfter(app: TestApp, mark: number, count: number): Promise<Record<string, unknown>[]> {
  const lines = () => app.logs.slice(mark).filter((line) => line.msg === 'request');
  await until(() => lines().length >= count, `${count} requests in the log`);
  return lines();
}

/** The log lines of one operation. */
export const named = (lines: Record<string, unknown>[], operation: string) => lines.filter((line) => line.operation === operation);

/** What every snippet's token holder has: the pair the gym handed out last. */
interface HeldTokens {
  accessToken: string | null;
  refreshToken: string | null;
}

/**
 * After one operation sent with an expired token (log lines from `mark`): the gym refused the old token (401), the
 * refresh went through once, the retry carried the new token, and the holder keeps a rotated refresh token (`before`
 * was the one it had).
 */
export async function expectOneRefreshAndRetry(app: TestApp, mark: number, tokens: HeldTokens, before: string | null): Promise<void> {
  const lines = await requestsAfter(app, mark, 3);
  expect(lines.map((line) => [line.operation, line.status, line.outcome])).toEqual([
    ['Me', 401, 'errors:UNAUTHENTICATED'],
    ['Refresh', 200, 'ok'],
    ['Me', 200, 'ok'],
  ]);
  expect(lines[2]).toMatchObject({ auth: 'TOKEN' });
  expect(tokens.refreshToken).not.toBe(before);
}

/**
 * After five operations sent at once with an expired token (log lines from `mark`): one refresh served all five (five
 * 401s, then five 200s), and it rotated the refresh token exactly once, so the sign-in is intact and the token it
 * handed back (`first` was the one before) is the one that works.
 */
export async function expectOneSharedRefresh(app: TestApp, mark: number, tokens: HeldTokens, first: string | null): Promise<void> {
  const lines = await requestsAfter(app, mark, 11);
  expect(named(lines, 'Refresh')).toHaveLength(1);
  expect(named(lines, 'Me').map((line) => line.status).sort()).toEqual([200, 200, 200, 200, 200, 401, 401, 401, 401, 401]);
  expect(tokens.refreshToken).not.toBe(first);
  const renewed = await new Client(app.url).gql('mutation ($t: String!) { refresh(refreshToken: $t) { refreshToken } }', { t: tokens.refreshToken });
  expect(renewed.errors).toBeUndefined();
}

/** Signs the holder's sign-in out elsewhere (its refresh tokens revoked), then ages its (stateless) access token. */
export async function signOutElsewhere(app: TestApp, tokens: HeldTokens): Promise<void> {
  const logout = await new Client(app.url).gql('mutation ($t: String!) { logout(refreshToken: $t) }', { t: tokens.refreshToken });
  expect(logout.data).toEqual({ logout: true });
  tokens.accessToken = expired(app, tokens.accessToken!);
}
