// The session client (./apollo-cookie.ts) as a front end runs it: bundled by esbuild, served from an origin of the
// gym's site listed in CORS_ORIGINS, in a real headless Chromium that keeps the cookie. Nothing is mocked.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForBrowser, htmlPage, inPage, launchChromium, onHost, serveStatic, type StaticSite } from '../browser/helpers.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DEMO } from '../helpers/client.js';

/** The front end's code: the client, and what its pages would do with it, for the test to call. */
const APP = `
  import { CombinedGraphQLErrors, gql } from '@apollo/client';
  import { createGymClient, signIn, signOut } from './apollo-cookie.ts';

  declare const GYM: string;
  const client = createGymClient(GYM + '/graphql');
  const ME = gql\`{ me { name } }\`;

  (globalThis as any).app = {
    signIn: (email: string, password: string) => signIn(client, email, password),
    signOut: () => signOut(client),
    async me() {
      try {
        const { data } = await client.query({ query: ME });
        return { name: data.me?.name };
      } catch (error) {
        if (CombinedGraphQLErrors.is(error)) return { codes: error.errors.map((e) => e.extensions?.code) };
        throw error;
      }
    },
  };
`;

interface App {
  signIn(email: string, password: string): Promise<{ id: string; name: string }>;
  signOut(): Promise<void>;
  me(): Promise<{ name?: string; codes?: string[] }>;
}

let browser: Browser;
let gym: TestApp;
let frontEnd: StaticSite;

beforeAll(async () => {
  let script;
  [browser, frontEnd, script] = await Promise.all([launchChromium(), serveStatic(), bundleForBrowser(APP, import.meta.dirname)]);
  // The front end is another port of localhost: another origin of the gym's site, allowed by CORS_ORIGINS.
  gym = await startTestApp({ env: { CORS_ORIGINS: onHost(frontEnd.url, 'localhost') } });
  const gymUrl = JSON.stringify(onHost(gym.url, 'localhost'));
  frontEnd.files['/'] = htmlPage('Gym front end', `<script>window.GYM = ${gymUrl};</script><script src="/app.js"></script>`);
  frontEnd.files['/app.js'] = script;
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([gym?.close(), frontEnd?.close()]);
});

describe('Apollo Client with the session cookie, in Chromium', () => {
  it('signs in with mode SESSION, reads me with the cookie, and after logout me is UNAUTHENTICATED', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors: Error[] = [];
      page.on('pageerror', (error) => errors.push(error));
      // Loaded: the app's script has run.
      await page.goto(`${onHost(frontEnd.url, 'localhost')}/`);
      expect(errors).toEqual([]);
      /** Calls the front end's app in the page. */
      const app = <K extends keyof App>(name: K, ...args: Parameters<App[K]>) =>
        inPage(
          page,
          ([n, a]) => (globalThis as unknown as { app: Record<string, (...args: unknown[]) => unknown> }).app[n]!(...a),
          [name, args] as const,
        ) as ReturnType<App[K]>;

      const member = await app('signIn', DEMO.alice.email, DEMO.alice.password);
      expect(member.name).toBe('Alice Member');
      const cookies = await context.cookies(onHost(gym.url, 'localhost'));
      expect(cookies.find((c) => c.name === 'keycard.sid')).toMatchObject({ httpOnly: true, sameSite: 'Lax' });

      expect(await app('me')).toEqual({ name: 'Alice Member' });

      await app('signOut');
      expect((await context.cookies(onHost(gym.url, 'localhost'))).map((c) => c.name)).not.toContain('keycard.sid');
      expect(await app('me')).toEqual({ codes: ['UNAUTHENTICATED'] });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
