import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../helpers/client.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** What the security reviews found, each reproduced here against the real server. */

describe('a large bad operation never stalls the server', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('answers the worst literal-error payload under 100 kB quickly, and /healthz stays fast beside it', async () => {
    // A login whose input holds 100 unknown fields (one validation error each, every one a bad literal), each a list
    // of hundreds of tokens: tens of thousands of tokens in all.
    const fields = Array.from({ length: 100 }, (_, i) => `f${i}: [${'0,'.repeat(300)}]`).join(', ');
    const query = `mutation { login(input: { email: "a@b.c", password: "p", ${fields} }) { method } }`;
    expect(query.length).toBeLessThan(100_000);
    const started = Date.now();
    const attack = new Client(app.url).gql(query);
    // While it is being answered, the health check must not wait behind it.
    await new Promise((r) => setTimeout(r, 5));
    const healthStarted = Date.now();
    const health = await fetch(`${app.url}/healthz`);
    const healthMs = Date.now() - healthStarted;
    const res = await attack;
    const elapsed = Date.now() - started;
    expect(health.status).toBe(200);
    expect(res.errors?.length).toBeGreaterThan(0);
    expect(res.errors?.[0]?.extensions?.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    expect(elapsed).toBeLessThan(500);
    expect(healthMs).toBeLessThan(250);
  });
});
