import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../src/shared/paths.js';
import { freePort } from '../helpers/app.js';

/** Runs the real entry point (src/main.ts under tsx) and collects what it says before it exits or is stopped. */
function start(env: Record<string, string>, stopAfterMs = 15_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', PORT: '0', ...env },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), stopAfterMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('starting the server', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'keycard-start-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops at once on bad configuration, naming every bad variable', async () => {
    const { code, output } = await start({ ACCESS_TOKEN_TTL: 'abc', PORT: '-1', DATABASE_URL: ':memory:' });
    expect(code).toBe(1);
    expect(output).toMatch(/ACCESS_TOKEN_TTL/);
    expect(output).toMatch(/PORT/);
  });

  it('refuses to start in production without a session secret or a signing key', async () => {
    const noSecret = await start({ NODE_ENV: 'production', DATABASE_URL: ':memory:', KEYS_DIR: path.join(dir, 'keys') });
    expect(noSecret.code).toBe(1);
    expect(noSecret.output).toMatch(/SESSION_SECRET: is required in production/);
    const noKey = await start({ NODE_ENV: 'production', DATABASE_URL: ':memory:', SESSION_SECRET: 'x'.repeat(40), KEYS_DIR: path.join(dir, 'keys') });
    expect(noKey.code).toBe(1);
    expect(noKey.output).toMatch(/no signing key/);
  });

  it('serves, then drains and exits cleanly on SIGTERM', async () => {
    const { code, output } = await start(
      { DATABASE_URL: path.join(dir, 'keycard.sqlite'), KEYS_DIR: path.join(dir, 'dev-keys'), SESSION_SECRET: 'y'.repeat(40) },
      10_000,
    );
    expect(output).toMatch(/Keycard is serving/);
    expect(output).toMatch(/seeded the demo members/);
    expect(output).toMatch(/draining and shutting down/);
    expect(code).toBe(0);
  });

  it("writes each request's log line to standard output within about a second, even on a quiet server", async () => {
    const port = await freePort();
    // Its own process group, so the server (under tsx's wrapper) is stopped as a whole, whatever happens.
    const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/main.ts'], {
      cwd: ROOT,
      detached: true,
      env: {
        PATH: process.env.PATH ?? '',
        LOG_LEVEL: 'info',
        PORT: String(port),
        DATABASE_URL: path.join(dir, 'quiet.sqlite'),
        KEYS_DIR: path.join(dir, 'quiet-keys'),
        SESSION_SECRET: 'z'.repeat(40),
      },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    try {
      await until(() => output.includes('Keycard is serving'), 15_000);
      const sent = Date.now();
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'quiet-server-line' },
        body: JSON.stringify({ query: '{ plans { code } }' }),
      });
      expect(res.status).toBe(200);
      await until(() => output.includes('"reqId":"quiet-server-line"'), 3_000);
      expect(Date.now() - sent).toBeLessThan(2_500);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid!, 'SIGTERM');
      const gone = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 12_000))]);
      if (!gone) process.kill(-child.pid!, 'SIGKILL');
    }
  }, 30_000);
});

/** Resolves once `check` holds, polling; rejects after `ms`. */
async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

