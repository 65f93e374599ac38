import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.js';
import { Client, sessionClient } from '../helpers/client.js';
import { decodeJwt } from '../helpers/tokens.js';
import { signInAtTheGym, signInAtThePool, startGymAndPool, type GymAndPool } from './gym-and-pool.js';
import { launchChromium, onHost } from './helpers.js';

/**
 * "Sign in with the gym" where it lives: the pool's website in headless Chromium, the gym's sign-in and consent pages,
 * and back, with real cookies on both sites (the pool on `localhost`, the gym on `127.0.0.1`).
 */
describe('signing in at the pool with the gym, in a browser', () => {
  let site: GymAndPool;
  let gym: TestApp;
  let poolUrl: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const fresh = async () => {
    const context = await browser.newContext();
    contexts.push(context);
    return context.newPage();
  };

  beforeAll(async () => {
    site = await startGymAndPool();
    ({ gym, poolUrl } = site);
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await site?.close();
  });

  it('goes from the pool page to the gym, signs in, consents, comes back signed in, and swims', async () => {
    const page = await fresh();
    await page.goto(poolUrl);
    await page.getByRole('link', { name: 'Sign in with the gym' }).click();
    expect(new URL(page.url()).origin).toBe(gym.url);
    await signInAtTheGym(page, 'alice');
    expect(await page.getByRole('heading').textContent()).toBe('Allow The pool next door?');
    await page.getByRole('button', { name: 'Allow' }).click();
    expect(new URL(page.url()).origin).toBe(poolUrl);
    expect(await page.locator('.swimmer').textContent()).toBe('Alice Member');
    await page.getByRole('button', { name: 'Swim' }).click();
    expect(await page.getByRole('status').textContent()).toBe('Enjoy your swim!');
    expect(await page.locator('.visits li').count()).toBe(1);
    // The swimmer the pool wrote down is the one a partner token names: one swimmer, whichever way they came.
    const pass = await (await sessionClient(gym.url, 'alice')).gql('mutation { issuePartnerToken(audience: "pool") { token } }');
    expect(await site.pool.visitCount(String(decodeJwt(pass.data.issuePartnerToken.token).payload.sub))).toBe(1);
  });

  it('skips the sign-in and the consent on a second visit: straight back, signed in', async () => {
    const page = await fresh();
    await page.goto(poolUrl);
    await page.getByRole('link', { name: 'Sign in with the gym' }).click();
    await signInAtTheGym(page, 'staff');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.getByRole('link', { name: 'Sign in with the gym' }).count()).toBe(1);
    const visited: string[] = [];
    page.on('framenavigated', (frame) => visited.push(new URL(frame.url()).pathname));
    await page.getByRole('link', { name: 'Sign in with the gym' }).click();
    expect(await page.locator('.swimmer').textContent({ timeout: 3000 })).toBe('Sam Staff');
    expect(visited.some((path) => path.startsWith('/interaction'))).toBe(false);
  });

  it('brings a denied consent back as a clear message, signed out', async () => {
    const page = await fresh();
    await page.goto(poolUrl);
    await page.getByRole('link', { name: 'Sign in with the gym' }).click();
    await signInAtTheGym(page, 'admin');
    await page.getByRole('button', { name: 'Deny' }).click();
    expect(new URL(page.url()).origin).toBe(poolUrl);
    expect(await page.getByRole('status').textContent()).toContain('You did not allow the pool to use your gym account');
    expect(await page.getByRole('link', { name: 'Sign in with the gym' }).count()).toBe(1);
  });

  it('refuses a callback whose state is not the one this browser sent (a code and state from another sign-in)', async () => {
    // The attacker signs in to get a code and state of their own, and keeps the callback URL instead of using it.
    const attacker = await fresh();
    const callbacks: string[] = [];
    attacker.on('request', (request) => {
      if (request.url().startsWith(`${poolUrl}/callback`)) callbacks.push(request.url());
    });
    await attacker.goto(poolUrl);
    await attacker.getByRole('link', { name: 'Sign in with the gym' }).click();
    await attacker.context().clearCookies({ name: 'pool.session' });
    await signInAtTheGym(attacker, 'alice');
    if (await attacker.getByRole('button', { name: 'Allow' }).count()) await attacker.getByRole('button', { name: 'Allow' }).click();
    expect(callbacks).toHaveLength(1);
    // The victim starts a sign-in of their own, then is sent to the attacker's callback.
    const victim = await fresh();
    await victim.goto(poolUrl);
    await victim.getByRole('link', { name: 'Sign in with the gym' }).click();
    await victim.goto(callbacks[0]!);
    expect(await victim.getByRole('heading').textContent()).toBe('Sign-in refused');
    await victim.goto(poolUrl);
    expect(await victim.getByRole('link', { name: 'Sign in with the gym' }).count()).toBe(1);
  });

  it('signs no one out for a link to the callback with an error, and answers a mangled session cookie with a page, not a fault', async () => {
    const page = await fresh();
    await signInAtThePool(page, poolUrl, 'staff');
    expect(await page.locator('.swimmer').textContent({ timeout: 3000 })).toBe('Sam Staff');
    await page.goto(`${poolUrl}/callback?error=access_denied`);
    await page.goto(poolUrl);
    expect(await page.locator('.swimmer').textContent({ timeout: 3000 })).toBe('Sam Staff');
    const mangled = await fetch(`${poolUrl}/callback?code=x&state=y`, { headers: { cookie: 'pool.session=%E0%A4%A' } });
    expect(mangled.status).toBe(400);
  });

  it('follows the member signed in at the gym: a browser now signed in there as someone else comes back to the pool as them', async () => {
    const page = await fresh();
    await signInAtThePool(page, poolUrl, 'alice');
    expect(await page.locator('.swimmer').textContent()).toBe('Alice Member');
    await page.getByRole('button', { name: 'Sign out' }).click();
    // Staff signs in at the gym in this browser (the gym's session cookie is now theirs).
    const staff = await sessionClient(gym.url, 'staff');
    await page.context().addCookies([{ name: 'keycard.sid', value: staff.cookies.get('keycard.sid')!, url: gym.url, httpOnly: true, sameSite: 'Lax' }]);
    await page.getByRole('link', { name: 'Sign in with the gym' }).click();
    await page.waitForURL((url) => url.origin === poolUrl || url.pathname.startsWith('/interaction/'));
    if (new URL(page.url()).pathname.startsWith('/interaction/')) await page.getByRole('button', { name: 'Allow' }).click();
    expect(await page.locator('.swimmer').textContent()).toBe('Sam Staff');
  });

  it("asks for the password again once the member signed out at the gym, whatever the provider's own cookie says", async () => {
    const page = await fresh();
    await signInAtThePool(page, poolUrl, 'admin');
    await page.getByRole('button', { name: 'Sign out' }).click();
    const [gymCookie] = await page.context().cookies(gym.url).then((all) => all.filter((c) => c.name === 'keycard.sid'));
    await new Client(gym.url).gql('mutation { logout }', {}, { cookie: `keycard.sid=${gymCookie!.value}` });
    await page.getByRole('link', { name: 'Sign in with the gym' }).click();
    expect(await page.getByRole('heading').textContent()).toBe('Sign in with the gym');
  });

  it('signs in a person who typed 127.0.0.1: the pool sends them to its public address (localhost), where the flow runs', async () => {
    const page = await fresh();
    const typed = onHost(poolUrl, '127.0.0.1');
    await page.goto(`${typed}/?from=bookmark`);
    expect(page.url()).toBe(`${poolUrl}/?from=bookmark`);
    await signInAtThePool(page, typed, 'alice');
    expect(new URL(page.url()).origin).toBe(poolUrl);
    expect(await page.locator('.swimmer').textContent()).toBe('Alice Member');
  });

  it('tells bob, whose membership has expired, why the gym will not let him through', async () => {
    const page = await fresh();
    await page.goto(poolUrl);
    await page.getByRole('link', { name: 'Sign in with the gym' }).click();
    await signInAtTheGym(page, 'bob');
    expect(await page.locator('main').textContent()).toContain('You have no active membership at the gym');
  });
});

describe('the pool while the gym is down', () => {
  it('keeps a signed-in swimmer swimming, and says clearly that signing in anew needs the gym', async () => {
    const { gym, poolUrl, close } = await startGymAndPool();
    const browser = await launchChromium();
    try {
      const swimmer = await browser.newPage();
      await swimmer.goto(poolUrl);
      await swimmer.getByRole('link', { name: 'Sign in with the gym' }).click();
      await signInAtTheGym(swimmer, 'alice');
      await swimmer.getByRole('button', { name: 'Allow' }).click();
      await gym.close();
      await swimmer.getByRole('button', { name: 'Swim' }).click();
      expect(await swimmer.getByRole('status').textContent()).toBe('Enjoy your swim!');
      const newcomer = await browser.newPage();
      await newcomer.goto(poolUrl);
      await newcomer.getByRole('link', { name: 'Sign in with the gym' }).click();
      expect(await newcomer.getByRole('heading').textContent()).toBe('The gym cannot be reached');
    } finally {
      await browser.close();
      await close();
    }
  });
});
