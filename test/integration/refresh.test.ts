import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, codes, DEMO, LOGIN } from '../helpers/client.js';

const REFRESH = `mutation($t: String!) { refresh(refreshToken: $t) { method accessToken refreshToken refreshTokenExpiresAt member { name } } }`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function login(app: TestApp): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await new Client(app.url).gql(LOGIN, { input: { ...DEMO.alice, mode: 'TOKEN' } });
  return res.data.login;
}

const refresh = (app: TestApp, token: string) => new Client(app.url).gql(REFRESH, { t: token });

describe('refresh token rotation', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { REFRESH_REUSE_GRACE: '300ms' } });
  });
  afterAll(() => app.close());

  it('spends the old token and returns a new pair', async () => {
    const first = await login(app);
    const res = await refresh(app, first.refreshToken);
    expect(res.errors).toBeUndefined();
    expect(res.data.refresh.method).toBe('TOKEN');
    expect(res.data.refresh.refreshToken).not.toBe(first.refreshToken);
    expect(res.data.refresh.accessToken).not.toBe(first.accessToken);
    const me = await new Client(app.url).gql('{ me { name } }', undefined, { authorization: `Bearer ${res.data.refresh.accessToken}` });
    expect(me.data.me.name).toBe('Alice Member');
  });

  it('stores only hashes of refresh tokens', async () => {
    const { refreshToken } = await login(app);
    const dump = JSON.stringify((await app.database.sql.all('select * from refresh_tokens')));
    expect(dump).not.toContain(refreshToken);
    expect(dump).not.toContain(refreshToken.slice(4));
  });

  it('revokes the whole family when a spent token comes back after the grace period, the newest token included', async () => {
    const first = await login(app);
    const second = (await refresh(app, first.refreshToken)).data.refresh;
    await sleep(400);
    const replay = await refresh(app, first.refreshToken);
    expect(codes(replay)).toEqual(['UNAUTHENTICATED']);
    // The thief's copy and the member's alike: the still-unused newest token is dead too.
    expect(codes(await refresh(app, second.refreshToken))).toEqual(['UNAUTHENTICATED']);
  });

  it('revokes the family when an older token comes back, even within the grace period', async () => {
    const a = await login(app);
    const b = (await refresh(app, a.refreshToken)).data.refresh;
    const c = (await refresh(app, b.refreshToken)).data.refresh;
    // `a` was not the family's newest when it was spent: this is a replay, not a race.
    expect(codes(await refresh(app, a.refreshToken))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await refresh(app, c.refreshToken))).toEqual(['UNAUTHENTICATED']);
  });

  it('lets exactly one of two concurrent refreshes win, and the loser revokes nothing', async () => {
    const { refreshToken } = await login(app);
    const results = await Promise.all([refresh(app, refreshToken), refresh(app, refreshToken)]);
    const winners = results.filter((r) => !r.errors);
    const losers = results.filter((r) => r.errors);
    expect(winners).toHaveLength(1);
    expect(losers.map(codes)).toEqual([['UNAUTHENTICATED']]);
    // Within the grace period, with the family's newest token: the winner's pair lives on.
    const next = await refresh(app, winners[0]!.data.refresh.refreshToken);
    expect(next.errors).toBeUndefined();
  });

  it('lets exactly one of ten concurrent refreshes win', async () => {
    const { refreshToken } = await login(app);
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(app, refreshToken)));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
  });

  it('revokes the family at logout(refreshToken)', async () => {
    const { refreshToken } = await login(app);
    const out = await new Client(app.url).gql(`mutation($t: String) { logout(refreshToken: $t) }`, { t: refreshToken });
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
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { REFRESH_TOKEN_TTL: '1s', ACCESS_TOKEN_TTL: '1s' } });
  });
  afterAll(() => app.close());

  it('refuses an expired refresh token', async () => {
    const { refreshToken } = await login(app);
    await sleep(1200);
    expect(codes(await refresh(app, refreshToken))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('logging out while the family is being refreshed', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { REFRESH_MAX_PER_MEMBER: '100000', LOGIN_MAX_PER_MEMBER: '1000' } });
  });
  afterAll(() => app.close());

  /** Someone holding a copy of the refresh token spends it over and over; the owner logs out meanwhile. */
  async function race(logout: (pair: { accessToken: string; refreshToken: string }) => Promise<{ errors?: unknown }>): Promise<boolean> {
    const pair = await login(app);
    let current = pair.refreshToken;
    let stop = false;
    const thief = (async () => {
      while (!stop) {
        const res = await refresh(app, current);
        if (res.errors) return;
        current = res.data.refresh.refreshToken;
      }
    })();
    await sleep(5);
    // The owner's logout succeeds, however busy the thief keeps the family.
    expect((await logout(pair)).errors).toBeUndefined();
    stop = true;
    await thief;
    // Whatever the thief got before or during the logout is dead after it.
    return !(await refresh(app, current)).errors;
  }

  it('ends the family for good, by keycard, by refresh token or everywhere, whatever rotation was running at that moment', async () => {
    const byKeycard = (pair: { accessToken: string }) =>
      new Client(app.url).gql('mutation { logout }', undefined, { authorization: `Bearer ${pair.accessToken}` });
    const byRefreshToken = (pair: { refreshToken: string }) => new Client(app.url).gql('mutation($t: String) { logout(refreshToken: $t) }', { t: pair.refreshToken });
    const everywhere = (pair: { accessToken: string }) =>
      new Client(app.url).gql('mutation { logoutEverywhere }', undefined, { authorization: `Bearer ${pair.accessToken}` });
    const survivors: string[] = [];
    for (let i = 0; i < 15; i++) {
      if (await race(byKeycard)) survivors.push(`keycard #${i}`);
      if (await race(byRefreshToken)) survivors.push(`refresh token #${i}`);
      if (await race(everywhere)) survivors.push(`everywhere #${i}`);
    }
    expect(survivors).toEqual([]);
  });
});
