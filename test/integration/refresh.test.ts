import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, useTestApp } from '../helpers/app.js';
import { TestClock } from '../helpers/clock.js';
import { graphql } from '../helpers/__generated__/index.js';
import { bearer, Client, codes, dataOf, signInWithKeycard, type Keycard } from '../helpers/client.js';
import { raceThatOverlaps } from '../helpers/race.js';

const REFRESH = graphql(/* GraphQL */ `
  mutation Refresh($t: String!) {
    refresh(refreshToken: $t) { method accessToken refreshToken refreshTokenExpiresAt member { name } }
  }
`);
const ME = graphql(/* GraphQL */ `query RefreshedMe { me { name } }`);
const LOGOUT_FAMILY = graphql(/* GraphQL */ `mutation LogoutFamily($t: String) { logout(refreshToken: $t) }`);
const LOGOUT = graphql(/* GraphQL */ `mutation LogoutKeycard { logout }`);
const LOGOUT_EVERYWHERE = graphql(/* GraphQL */ `mutation LogoutEverywhereByKeycard { logoutEverywhere }`);

const login = (app: TestApp) => signInWithKeycard(app.url, 'alice');
const refresh = (app: TestApp, token: string) => new Client(app.url).gql(REFRESH, { t: token });
type Refreshed = Awaited<ReturnType<typeof refresh>>;
/** The new refresh token a successful refresh returned. */
const nextToken = (res: Refreshed) => dataOf(res).refresh.refreshToken!;

describe('refresh token rotation', () => {
  // The default grace (5 s) for a spent token racing its successor, passed by moving the gym's clock.
  const clock = new TestClock();
  const app = useTestApp({ clock });

  it('spends the old token and returns a new pair', async () => {
    const first = await login(app);
    const res = await refresh(app, first.refreshToken);
    expect(res.errors).toBeUndefined();
    const { refresh: pair } = dataOf(res);
    expect(pair.method).toBe('TOKEN');
    expect(pair.refreshToken).not.toBe(first.refreshToken);
    expect(pair.accessToken).not.toBe(first.accessToken);
    const me = await new Client(app.url).gql(ME, undefined, bearer(pair.accessToken!));
    expect(dataOf(me).me?.name).toBe('Alice Member');
  });

  it('stores only hashes of refresh tokens', async () => {
    const { refreshToken } = await login(app);
    const dump = JSON.stringify(await app.database.sql.all('select * from refresh_tokens'));
    expect(dump).not.toContain(refreshToken);
    expect(dump).not.toContain(refreshToken.slice(4));
  });

  it('revokes the whole family when a spent token comes back after the grace period, the newest token included', async () => {
    const first = await login(app);
    const second = nextToken(await refresh(app, first.refreshToken));
    await clock.advance(app.config.refreshReuseGraceMs + 1_000);
    const replay = await refresh(app, first.refreshToken);
    expect(codes(replay)).toEqual(['UNAUTHENTICATED']);
    // The thief's copy and the member's alike: the still-unused newest token is dead too.
    expect(codes(await refresh(app, second))).toEqual(['UNAUTHENTICATED']);
  });

  it('revokes the family when an older token comes back, even within the grace period', async () => {
    const a = await login(app);
    const b = nextToken(await refresh(app, a.refreshToken));
    const c = nextToken(await refresh(app, b));
    // `a` was not the family's newest when it was spent: this is a replay, not a race.
    expect(codes(await refresh(app, a.refreshToken))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await refresh(app, c))).toEqual(['UNAUTHENTICATED']);
  });

  /**
   * `count` refreshes of one fresh token at once: exactly one wins. On PostgreSQL, where each waits on the database, in
   * a round the gym handled at the same time; on SQLite it answers them one by one, and the outcome shows the rule.
   */
  function race(count: number): Promise<Refreshed[]> {
    const overlap = app.database.engine === 'postgres';
    return raceThatOverlaps(app, { match: { operation: 'Refresh' }, count, overlap }, () => login(app), async ({ refreshToken }) => {
      const results = await Promise.all(Array.from({ length: count }, () => refresh(app, refreshToken)));
      expect(results.filter((r) => !r.errors)).toHaveLength(1);
      // Every other one is refused with the code the contract gives a spent token.
      expect(results.filter((r) => r.errors).map(codes)).toEqual(Array(count - 1).fill(['UNAUTHENTICATED']));
      return results;
    });
  }

  it('lets exactly one of two concurrent refreshes win, and the loser revokes nothing', async () => {
    const results = await race(2);
    // The loser came within the grace period, with the family's newest token: a race, not a theft, so the winner's pair
    // lives on (a reuse would have revoked it).
    const winner = results.find((r) => !r.errors)!;
    expect((await refresh(app, nextToken(winner))).errors).toBeUndefined();
  });

  it('lets exactly one of ten concurrent refreshes win, and the winner goes on', async () => {
    const results = await race(10);
    // Nine losers within the grace revoked nothing: the winner's keycard works and its refresh token refreshes.
    const winner = dataOf(results.find((r) => !r.errors)!).refresh;
    expect(dataOf(await new Client(app.url).gql(ME, undefined, bearer(winner.accessToken!))).me?.name).toBe('Alice Member');
    expect((await refresh(app, winner.refreshToken!)).errors).toBeUndefined();
  });

  it('revokes the family at logout(refreshToken)', async () => {
    const { refreshToken } = await login(app);
    const out = await new Client(app.url).gql(LOGOUT_FAMILY, { t: refreshToken });
    expect(out.data).toEqual({ logout: true });
    expect(codes(await refresh(app, refreshToken))).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses unknown and oversized tokens without a 500', async () => {
    for (const token of ['', 'kcr_nope', 'x'.repeat(10_000)]) {
      const res = await refresh(app, token);
      expect(res.status).toBe(200);
      expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    }
  });
});

describe('refresh token expiry', () => {
  // The default lifetime (30 days), reached by moving the gym's clock.
  const clock = new TestClock();
  const app = useTestApp({ clock });

  it('takes a refresh token until its lifetime is over, and refuses it after', async () => {
    const early = await login(app);
    const late = await login(app);
    await clock.advance(app.config.refreshTokenTtlMs - 60_000);
    expect((await refresh(app, early.refreshToken)).errors).toBeUndefined();
    await clock.advance(2 * 60_000);
    expect(codes(await refresh(app, late.refreshToken))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('logging out while the family is being refreshed', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { REFRESH_MAX_PER_MEMBER: '100000', LOGIN_MAX_PER_MEMBER: '1000' } });
  });
  afterAll(() => app.close());

  /**
   * Someone holding a copy of the refresh token spends it over and over; the owner logs out meanwhile. Whether the
   * thief still held a working token afterwards, and whether the logout cut a running chain: the thief had rotated
   * before it and was refused by it, rather than stopped by the test.
   */
  async function race(logout: (pair: Keycard) => Promise<{ errors?: unknown }>): Promise<{ survived: boolean; cut: boolean }> {
    const pair = await login(app);
    let current = pair.refreshToken;
    let stop = false;
    let rotations = 0;
    let refused = false;
    const thief = (async () => {
      while (!stop) {
        const res = await refresh(app, current);
        if (res.errors) {
          refused = true;
          return;
        }
        rotations += 1;
        current = nextToken(res);
      }
    })();
    await new Promise((r) => setTimeout(r, 5));
    // The owner's logout succeeds, however busy the thief keeps the family.
    expect((await logout(pair)).errors).toBeUndefined();
    stop = true;
    await thief;
    // Whatever the thief got before or during the logout is dead after it.
    return { survived: !(await refresh(app, current)).errors, cut: rotations > 0 && refused };
  }

  it('ends the family for good, by keycard, by refresh token or everywhere, whatever rotation was running at that moment', async () => {
    const byKeycard = (pair: { accessToken: string }) => new Client(app.url).gql(LOGOUT, undefined, bearer(pair.accessToken));
    const byRefreshToken = (pair: { refreshToken: string }) => new Client(app.url).gql(LOGOUT_FAMILY, { t: pair.refreshToken });
    const everywhere = (pair: { accessToken: string }) => new Client(app.url).gql(LOGOUT_EVERYWHERE, undefined, bearer(pair.accessToken));
    const ways = [
      ['keycard', byKeycard],
      ['refresh token', byRefreshToken],
      ['everywhere', everywhere],
    ] as const;
    const survivors: string[] = [];
    const cut = new Set<string>();
    for (let i = 0; i < 15; i++) {
      for (const [name, logout] of ways) {
        const outcome = await race(logout);
        if (outcome.survived) survivors.push(`${name} #${i}`);
        if (outcome.cut) cut.add(name);
      }
    }
    expect(survivors).toEqual([]);
    // Each way out met a running chain at least once (rotated before the logout, refused after it): a real race.
    expect([...cut].sort()).toEqual(['everywhere', 'keycard', 'refresh token']);
  });
});
