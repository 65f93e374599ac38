// What the browser tests share: a real headless Chromium (never a skipped test when it is missing), a tiny static
// server for the pages of other origins, and esbuild to bundle client code for those pages.
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where Debian and Ubuntu put Chromium (`apt-get install chromium`; Ubuntu's older package says chromium-browser). */
const USUAL_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium to run: CHROMIUM_PATH when set, else the first of the usual paths that exists. */
export function findChromium(): string | undefined {
  const configured = process.env.CHROMIUM_PATH?.trim();
  if (configured) return configured;
  return USUAL_PATHS.find((file) => existsSync(file));
}

/** Why there is no Chromium to run, and what to do about it. */
function missingChromium(): string {
  const configured = process.env.CHROMIUM_PATH?.trim();
  if (configured) return `CHROMIUM_PATH is ${configured}, and there is no file there.`;
  const looked = `Looked for ${USUAL_PATHS.join(' and ')}; set CHROMIUM_PATH to use another Chromium or Chrome.`;
  return process.env.CI
    ? `Chromium is missing on this CI machine, so the browser tests cannot run (.ci/run installs it before npm test). ${looked}`
    : `The browser tests need Chromium and none was found. Install it (Debian/Ubuntu: sudo apt-get install chromium). ${looked}`;
}

/**
 * Launches headless Chromium through playwright-core (which never downloads a browser). Throws, failing the test,
 * when there is none: a browser test that skips itself quietly would hide the very protections it checks.
 */
export async function launchChromium(options: { loopbackOnly?: boolean; args?: string[] } = {}): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath || !existsSync(executablePath)) throw new Error(missingChromium());
  const args: string[] = [];
  // Chromium will not run as root with its sandbox on, and tests in a container often run as root; anyone else keeps it.
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  // Tests reach only this machine (`localhost` and IP literals): nothing depends on the network, nor waits for it
  // (Sandbox's page loads its script from Apollo's CDN). Pass loopbackOnly: false for pages that need the internet.
  if (options.loopbackOnly ?? true) args.push('--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1');
  args.push(...(options.args ?? []));
  return chromium.launch({ executablePath, headless: true, args });
}

/**
 * page.evaluate, with an error thrown in the page reported by its message alone: the page's stack frames name
 * `http://` URLs, which vitest would take for files of this project when it prints the failure. `arg` is plain data
 * (what Playwright calls unboxed: no element handles), so the page function gets it as it is.
 */
export async function inPage<A, R>(page: Page, fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> {
  try {
    return await page.evaluate<R, A>(fn as never, arg);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    throw new Error(error.message.replace(/\n\s+at .*/g, ''));
  }
}

/** The same server under another host name: `http://127.0.0.1:4000` as `http://localhost:4000` (another site). */
export function onHost(url: string, host: 'localhost' | '127.0.0.1'): string {
  const parsed = new URL(url);
  parsed.hostname = host;
  return parsed.origin + (parsed.pathname === '/' ? '' : parsed.pathname);
}

export interface StaticFile {
  body: string;
  type: string;
}

export interface StaticSite {
  port: number;
  /** `http://127.0.0.1:<port>`; see onHost for the same site as `localhost`. */
  url: string;
  /** What the site serves, by path; read at each request, so pages naming a server started later can be added. */
  files: Record<string, string | StaticFile>;
  close(): Promise<void>;
}

/**
 * Serves a few fixed files (a string is HTML) on 127.0.0.1, port 0: the page of a front end or of "another site".
 * Anything else is 404.
 */
export async function serveStatic(files: Record<string, string | StaticFile> = {}): Promise<StaticSite> {
  const server = http.createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (file === undefined || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const { body, type } = typeof file === 'string' ? { body: file, type: 'text/html; charset=utf-8' } : file;
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    files,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** A minimal HTML page around `body` (scripts included). */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
}

/**
 * Bundles TypeScript for a page, in memory: `source` is the entry's code, its imports resolved from `resolveDir`
 * (packages from node_modules, as a front end's bundler would). One classic script (IIFE), for a `<script src>`.
 */
export async function bundleForBrowser(source: string, resolveDir: string): Promise<StaticFile> {
  const result = await build({
    stdin: { contents: source, resolveDir, loader: 'ts', sourcefile: 'page-entry.ts' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"development"' },
  });
  return { body: result.outputFiles[0]!.text, type: 'text/javascript; charset=utf-8' };
}

/** The page's `document.cookie`: what its scripts can read (an HttpOnly cookie never shows up here). */
export function documentCookie(page: Page): Promise<string> {
  return page.evaluate('document.cookie') as Promise<string>;
}
