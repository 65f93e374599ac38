import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO } from '../helpers/client.js';
import { startGymAndPool } from './gym-and-pool.js';
import { launchChromium } from './helpers.js';

/**
 * `npm run screenshots`: the README's pictures of "Sign in with the gym", taken by the browser tests' own helpers
 * against a real gym and pool (in memory): the gym's sign-in page as the pool sends a member to it, and the pool's
 * page once they are back and have swum.
 */
const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');

const site = await startGymAndPool({ env: { LOG_LEVEL: 'warn' }, engine: 'sqlite' });
const { poolUrl } = site;
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 720, height: 560 } });
  await page.goto(poolUrl);
  await page.getByRole('link', { name: 'Sign in with the gym' }).click();
  await page.getByRole('textbox', { name: 'Email' }).fill(DEMO.alice.email);
  await page.screenshot({ path: path.join(OUT, 'gym-sign-in.png') });
  await page.getByLabel('Password').fill(DEMO.alice.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('button', { name: 'Swim' }).click();
  await page.screenshot({ path: path.join(OUT, 'pool.png') });
  console.log(`wrote ${path.relative(process.cwd(), path.join(OUT, 'gym-sign-in.png'))} and ${path.relative(process.cwd(), path.join(OUT, 'pool.png'))}`);
} finally {
  await browser.close();
  await site.close();
}
