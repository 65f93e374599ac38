import type { Page } from 'playwright-core';
import { freePort, startTestApp, type TestApp } from '../helpers/app.js';
import { DEMO, type DemoName } from '../helpers/client.js';
import { startTestPool, type TestPool } from '../helpers/pool.js';

export interface GymAndPool {
  gym: TestApp;
  pool: TestPool;
  /** `http://localhost:<port>`: another site than the gym's `http://127.0.0.1:<port>`, with cookies of its own. */
  poolUrl: string;
  /** Closes the pool, then the gym unless a test has closed it already (to take the gym down). */
  close(): Promise<void>;
}

/**
 * A gym and the pool's website registered with it at its callback, as "Sign in with the gym" runs in a browser and
 * as the README's pictures show it: both in memory, the pool on `localhost` and the gym on `127.0.0.1`.
 */
export async function startGymAndPool(options: { env?: Record<string, string>; engine?: 'sqlite' } = {}): Promise<GymAndPool> {
  const poolPort = await freePort();
  const poolUrl = `http://localhost:${poolPort}`;
  const env = options.env ?? {};
  // The gym registers the pool as it does on a laptop: where POOL_PUBLIC_URL says it is (one .env for both).
  const gym = await startTestApp({ env: { POOL_PUBLIC_URL: poolUrl, ...env } });
  const pool = await startTestPool(gym.url, { POOL_PUBLIC_URL: poolUrl, ...env }, { port: poolPort, engine: options.engine });
  let gymOpen = true;
  const closeGym = gym.close.bind(gym);
  gym.close = async () => {
    if (!gymOpen) return;
    gymOpen = false;
    await closeGym();
  };
  return {
    gym,
    pool,
    poolUrl,
    async close() {
      await pool.close();
      await gym.close();
    },
  };
}

/** Fills the gym's sign-in page as a member would, and sends it. */
export async function signInAtTheGym(page: Page, who: DemoName): Promise<void> {
  await page.getByRole('textbox', { name: 'Email' }).fill(DEMO[who].email);
  await page.getByLabel('Password').fill(DEMO[who].password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Signs `who` in at the pool from its front page, all the way: "Sign in with the gym", the gym's sign-in page, and
 * the consent page when the gym asks (not once the member has allowed the pool before).
 */
export async function signInAtThePool(page: Page, poolUrl: string, who: DemoName): Promise<void> {
  await page.goto(poolUrl);
  await page.getByRole('link', { name: 'Sign in with the gym' }).click();
  await signInAtTheGym(page, who);
  if (await page.getByRole('button', { name: 'Allow' }).count()) await page.getByRole('button', { name: 'Allow' }).click();
}
