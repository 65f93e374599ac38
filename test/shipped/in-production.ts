import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../src/shared/paths.js';
import { freePort } from '../helpers/app.js';
import { signInAtThePool } from '../browser/gym-and-pool.js';
import { launchChromium } from '../browser/helpers.js';
import { localhostCertificate, startShipped, startTlsProxy, type ShippedProcess, type TlsProxy } from './artifacts.js';

/** The variables the README's production section lists, per service, in the order it lists them. */
function readmeProductionVariables(): { gym: string[]; pool: string[] } {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Running in production'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const [gym = '', pool = ''] = block.split(/^# The pool next door.*$/m);
  const names = (text: string) => [...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
  return { gym: names(gym), pool: names(pool) };
}

/** `npm run keys:rotate`, as the README says to run it once before the first start. */
function rotateKeys(keysDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'keys:rotate'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', KEYS_DIR: keysDir }, stdio: 'ignore' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run keys:rotate exited ${code}`))));
  });
}

/**
 * The README's production configuration, followed literally: the built gym and pool in their own processes with
 * exactly the variables its production section lists, each behind a TLS-terminating proxy that sends
 * X-Forwarded-Proto and X-Forwarded-For, the pool a confidential client with its secret; and a member signs in at the
 * pool in Chromium.
 */
export function describeInProduction(): void {
  describe('the shipped gym and pool, in production as the README configures them', () => {
    let folder: string;
    const services: ShippedProcess[] = [];
    const proxies: TlsProxy[] = [];
    let browser: Browser;
    let poolUrl: string;
    let gymEnv: Record<string, string>;
    let poolEnv: Record<string, string>;

    beforeAll(async () => {
      folder = mkdtempSync(path.join(tmpdir(), 'keycard-production-'));
      const tls = await localhostCertificate();
      writeFileSync(path.join(folder, 'proxy-cert.pem'), tls.cert);
      const [gymPort, poolPort] = [await freePort(), await freePort()];
      const gymProxy = await startTlsProxy(gymPort, tls);
      const poolProxy = await startTlsProxy(poolPort, tls);
      proxies.push(gymProxy, poolProxy);
      const gymUrl = `https://localhost:${gymProxy.port}`;
      // Two sites, as gym.example and pool.example are: cookies and SameSite hold as they do for real.
    poolUrl = `https://127.0.0.1:${poolProxy.port}`;
      const clientSecret = randomBytes(32).toString('base64url');
      await rotateKeys(path.join(folder, 'keys'));
      gymEnv = {
        NODE_ENV: 'production',
        PORT: String(gymPort),
        PUBLIC_URL: gymUrl,
        TRUST_PROXY: 'loopback',
        SESSION_SECRET: randomBytes(32).toString('base64url'),
        KEYS_DIR: path.join(folder, 'keys'),
        DATABASE_URL: path.join(folder, 'keycard.sqlite'),
        OIDC_CLIENTS: `pool=${poolUrl}/callback`,
        OIDC_CLIENT_SECRETS: `pool=${clientSecret}`,
      };
      poolEnv = {
        NODE_ENV: 'production',
        POOL_PORT: String(poolPort),
        POOL_PUBLIC_URL: poolUrl,
        TRUST_PROXY: 'loopback',
        GYM_URL: gymUrl,
        GYM_CLIENT_SECRET: clientSecret,
        POOL_SESSION_SECRET: randomBytes(32).toString('base64url'),
        POOL_DATABASE_URL: path.join(folder, 'pool.sqlite'),
      };
      // Not production settings, and why each is here:
      // - SEED_DEMO: a new production gym has no member with a membership to sign in with; the demo members are one.
      // - NODE_EXTRA_CA_CERTS: the pool must trust the test proxy's self-made certificate, where a real gym's comes
      //   from a public authority every Node trusts already.
      services.push(await startShipped('gym', { cwd: folder, env: { ...gymEnv, SEED_DEMO: 'true' } }));
      services.push(await startShipped('pool', { cwd: folder, env: { ...poolEnv, NODE_EXTRA_CA_CERTS: path.join(folder, 'proxy-cert.pem') } }));
      // The browser takes the test proxy's certificate as a person's browser takes a real one.
      browser = await launchChromium({ args: ['--ignore-certificate-errors'] });
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      for (const service of services.reverse()) await service.stop();
      for (const proxy of proxies) await proxy.close();
      rmSync(folder, { recursive: true, force: true });
    });

    it("sets exactly the variables the README's production section lists, for each service", () => {
      const listed = readmeProductionVariables();
      expect(Object.keys(gymEnv)).toEqual(listed.gym);
      expect(Object.keys(poolEnv)).toEqual(listed.pool);
    });

    it('signs a member in at the pool with the confidential client, over HTTPS, with Secure __Host- cookies', async () => {
      const context = await browser.newContext();
      // A sign-in that goes wrong shows its page at once; no need for the 30 s Playwright would wait for a button.
      context.setDefaultTimeout(10_000);
      try {
        const page = await context.newPage();
        await signInAtThePool(page, `${poolUrl}/`, 'alice');
        await expect.poll(() => page.locator('.swimmer').textContent()).toBe('Alice Member');
        await page.getByRole('button', { name: 'Swim' }).click();
        await expect.poll(() => page.getByRole('status').textContent()).toContain('Enjoy your swim');
        const cookies = await context.cookies();
        expect(cookies.length).toBeGreaterThan(0);
        for (const cookie of cookies) {
          expect(cookie.secure).toBe(true);
          expect(cookie.httpOnly).toBe(true);
          expect(cookie.name).toMatch(/^__(Host|Secure)-/);
        }
      } finally {
        await context.close();
      }
    });

    it('started without an error in either log', () => {
      for (const service of services) expect(service.output()).not.toMatch(/"level":(50|60)/);
    });
  });
}
