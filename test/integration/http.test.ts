import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, codes, DEMO, LOGIN, sessionClient } from '../helpers/client.js';

const post = (app: TestApp, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('the HTTP surface', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { CORS_ORIGINS: 'https://app.example.com' } });
  });
  afterAll(() => app.close());

  it('marks every GraphQL response no-store and never says X-Powered-By', async () => {
    const res = await post(app, { query: '{ plans { code } }' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const refused = await post(app, { query: '{ me { name } }' });
    expect(refused.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a body over 100 kB with 413', async () => {
    const res = await post(app, { query: `{ plans { code } } # ${'x'.repeat(110_000)}` });
    expect(res.status).toBe(413);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('answers queries over GET but refuses a mutation over GET', async () => {
    const headers = { 'apollo-require-preflight': 'true' };
    const query = await fetch(`${app.url}/graphql?query=${encodeURIComponent('{ plans { code } }')}`, { headers });
    expect(query.status).toBe(200);
    expect(await query.json()).toEqual({ data: { plans: [{ code: 'BASIC' }, { code: 'ALL_HOURS' }] } });
    const mutation = await fetch(`${app.url}/graphql?query=${encodeURIComponent('mutation { logout }')}`, { headers });
    expect(mutation.status).toBe(405);
  });

  it('keeps CSRF prevention on: a simple GET without a preflight header is refused', async () => {
    const res = await fetch(`${app.url}/graphql?query=${encodeURIComponent('{ plans { code } }')}`);
    expect(res.status).toBe(400);
  });

  it('refuses batched requests', async () => {
    const res = await post(app, [{ query: '{ plans { code } }' }, { query: '{ plans { code } }' }]);
    expect(res.status).toBe(400);
  });

  it('allows credentials from configured origins only, never with *', async () => {
    const allowed = await post(app, { query: '{ plans { code } }' }, { origin: 'https://app.example.com' });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await post(app, { query: '{ plans { code } }' }, { origin: 'https://evil.example.net' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('reports health while the database answers', async () => {
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('serves Apollo Sandbox to a browser in development', async () => {
    const res = await fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('embeddable-sandbox');
    expect(html).toContain('includeCookies');
  });

  it('writes one log line per request with the operation and who, and never a password or a cookie', async () => {
    const client = new Client(app.url);
    await client.gql(LOGIN.replace('mutation Login', 'mutation SignInForLogs'), { input: { ...DEMO.alice, mode: 'SESSION' } });
    const cookie = client.cookies.get('keycard.sid')!;
    await client.gql('query WhoForLogs { me { name } }', undefined, { 'x-request-id': 'trace-42' });
    const line = app.logs.find((l) => l.reqId === 'trace-42');
    expect(line).toMatchObject({ method: 'POST', path: '/graphql', status: 200, operation: 'WhoForLogs', auth: 'SESSION', outcome: 'ok' });
    expect(typeof line?.memberId).toBe('number');
    expect(typeof line?.durationMs).toBe('number');
    expect(app.logs.find((l) => l.operation === 'SignInForLogs')).toMatchObject({ auth: 'SESSION' });
    const raw = app.rawLogs();
    expect(raw).not.toContain(DEMO.alice.password);
    expect(raw).not.toContain(decodeURIComponent(cookie).slice(2, 34));
  });
});

describe('operation limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  const nested = (depth: number) => {
    // viewer(1) > member(2) > checkIns(3) > edges(4) > node(5) > member(6) > checkIns(7) > edges(8) > node(9) > ...
    let selection = 'id';
    const chain = ['viewer', 'member', 'checkIns', 'edges', 'node', 'member', 'checkIns', 'edges', 'node', 'member', 'checkIns', 'edges', 'node'];
    for (let i = depth - 2; i >= 0; i--) selection = `${chain[i]} { ${selection} }`;
    return `{ ${selection} }`;
  };

  it('runs an operation 10 levels deep and refuses one 11 levels deep before execution', async () => {
    const alice = await sessionClient(app.url, 'alice');
    expect((await alice.gql(nested(10))).errors).toBeUndefined();
    const deep = await alice.gql(nested(11));
    expect(codes(deep)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(deep.data).toBeUndefined();
  });

  it('refuses more than 15 aliases', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: plans { code }`).join(' ')} }`;
    expect((await post(app, { query: aliases(15) })).status).toBe(200);
    const res = await new Client(app.url).gql(aliases(16));
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('refuses more than 10 directives', async () => {
    // Two directives on each of Plan's five fields: 10. One more on `plans` itself: 11.
    const fields = ['id', 'code', 'name', 'allHours', 'monthlyPriceCents'].map((f) => `${f} @include(if: true) @skip(if: false)`).join(' ');
    expect((await new Client(app.url).gql(`{ plans { ${fields} } }`)).errors).toBeUndefined();
    expect(codes(await new Client(app.url).gql(`{ plans @include(if: true) { ${fields} } }`))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('refuses more than 1,000 tokens', async () => {
    const at = (n: number) => `{ plans { ${Array(n).fill('code').join(' ')} } }`;
    // `{ plans { ` + n fields + ` } }` is n + 5 tokens.
    // (graphql-js may still refuse 995 copies of one field for its own overlap check, but not for the token count.)
    expect(JSON.stringify((await new Client(app.url).gql(at(995))).errors ?? [])).not.toMatch(/Token limit/);
    const res = await new Client(app.url).gql(at(996));
    expect(new Set(codes(res))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    expect(res.errors![0]!.message).toMatch(/Token limit of 1000/);
    expect(res.data).toBeUndefined();
  });

  it('lets the introspection query itself through while introspection is on', async () => {
    const res = await new Client(app.url).gql(getIntrospectionQuery());
    expect(res.errors).toBeUndefined();
    expect(res.data.__schema.queryType.name).toBe('Query');
  });
});

describe('production mode', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { NODE_ENV: 'production', TRUST_PROXY: 'loopback' } });
  });
  afterAll(() => app.close());

  it('sets a Secure __Host- cookie behind a TLS-terminating proxy', async () => {
    const client = new Client(app.url);
    const res = await client.gql(LOGIN, { input: { ...DEMO.alice, mode: 'SESSION' } }, { 'x-forwarded-proto': 'https' });
    expect(res.errors).toBeUndefined();
    expect(res.setCookies[0]).toMatch(/^__Host-keycard\.sid=.*; Path=\/;.*HttpOnly; Secure; SameSite=Lax/);
    const me = await client.gql('{ me { name } }', undefined, { 'x-forwarded-proto': 'https' });
    expect(me.data.me.name).toBe('Alice Member');
  });

  it('turns introspection off and gives no field suggestions', async () => {
    expect(codes(await new Client(app.url).gql(getIntrospectionQuery()))).toContain('GRAPHQL_VALIDATION_FAILED');
    const typo = await new Client(app.url).gql('{ plan { code } }');
    expect(JSON.stringify(typo.errors)).not.toMatch(/Did you mean/);
  });

  it('refuses oversized operations without saying which limit', async () => {
    const res = await new Client(app.url).gql(`{ ${Array.from({ length: 16 }, (_, i) => `a${i}: plans { code }`).join(' ')} }`);
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.errors![0]!.message).not.toMatch(/alias|15|16/i);
  });

  it('serves no Sandbox', async () => {
    const res = await fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await res.text()).not.toContain('embeddable-sandbox');
  });
});

describe('when the database fails', () => {
  it('answers 503 on /healthz, and masks the failure as INTERNAL_SERVER_ERROR while logging it in full', async () => {
    const app = await startTestApp({ seed: false });
    // Closed under the server's feet: a fault of the server's own, not an outage of the database (that is
    // SERVICE_UNAVAILABLE, see processes.test.ts).
    await app.database.data.close();
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(503);
    const res = await new Client(app.url).gql('{ plans { code } }');
    expect(res.errors).toEqual([expect.objectContaining({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } })]);
    expect(JSON.stringify(res)).not.toMatch(/database|sqlite|stack/i);
    const closed = app.database.engine === 'sqlite' ? 'database connection is not open' : 'Cannot use a pool after calling end';
    expect(app.logs.some((l) => l.level === 50 && JSON.stringify(l.err).includes(closed))).toBe(true);
    await app.keycard.close();
    await app.database.close();
  });
});
