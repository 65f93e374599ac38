import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/app.js';
import { signInAtThePool } from '../browser/gym-and-pool.js';
import { launchChromium } from '../browser/helpers.js';
import { startShipped, type ShippedProcess } from './artifacts.js';

/**
 * A new user's first run, as the README tells it: `npm start`, then `npm run pool` beside it, nothing configured, and
 * "Sign in with the gym" at the pool in a browser. The built services run in processes of their own from an empty
 * folder (a fresh clone's `./data`), with no variable but the ports: two free ports instead of 4000 and 4100, moved
 * through the documented variables, in one environment for both as one `.env` would hold them.
 */
export function describeOnTheDefaults(): void {
  describe('the shipped gym and pool, on the defaults', () => {
    let folder: string;
    let gym: ShippedProcess | undefined;
    let pool: ShippedProcess | undefined;
    let browser: Browser;
    let poolPort: number;

    beforeAll(async () => {
      folder = mkdtempSync(path.join(tmpdir(), 'keycard-fresh-'));
      const gymPort = await freePort();
      poolPort = await freePort();
      const env = { PORT: String(gymPort), POOL_PORT: String(poolPort), GYM_URL: `http://localhost:${gymPort}` };
      gym = await startShipped('gym', { cwd: folder, env });
      pool = await startShipped('pool', { cwd: folder, env });
      browser = await launchChromium();
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await pool?.stop();
      await gym?.stop();
      rmSync(folder, { recursive: true, force: true });
    });

    for (const host of ['localhost', '127.0.0.1']) {
      it(`signs a member in at the pool from http://${host}:<pool>/, swims, and comes back straight the second time`, async () => {
        const context = await browser.newContext();
        // A sign-in that goes wrong shows its page at once; no need for the 30 s Playwright would wait for a button.
        context.setDefaultTimeout(10_000);
        try {
          const page = await context.newPage();
          await signInAtThePool(page, `http://${host}:${poolPort}/`, 'alice');
          await expect.poll(() => page.locator('.swimmer').textContent()).toBe('Alice Member');
          await page.getByRole('button', { name: 'Swim' }).click();
          await expect.poll(() => page.getByRole('status').textContent()).toContain('Enjoy your swim');
          await page.getByRole('button', { name: 'Sign out' }).click();
          // Signed in at the gym and allowed before: the gym sends the member straight back.
          await page.getByRole('link', { name: 'Sign in with the gym' }).click();
          await expect.poll(() => page.locator('.swimmer').textContent()).toBe('Alice Member');
        } finally {
          await context.close();
        }
      });
    }

    it('started without an error or a stack trace in either log', () => {
      for (const output of [gym!.output(), pool!.output()]) {
        expect(output).not.toMatch(/"level":(50|60)/);
        // A stack, printed or inside a JSON log line.
        expect(output).not.toMatch(/(\n|\\n)\s+at /);
      }
    });
  });
}
