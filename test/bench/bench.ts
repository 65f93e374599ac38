/**
 * `npm run bench`: starts the servers it needs (the gym in stateless and strict mode, and a bare Apollo Server on
 * the same schema as the baseline), warms each scenario up, then loads the scenarios in turn over loopback with
 * autocannon, interleaved over several rounds so that drift hits them all alike. Prints a table (median req/s, p99
 * latency, ratio to the baseline) and writes it as JSON.
 *
 * BENCH_ROUNDS (3), BENCH_DURATION seconds per run (3), BENCH_CONNECTIONS (10), BENCH_OUT (bench-results.json).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { ROOT } from '../../src/paths.js';
import { startTestApp } from '../helpers/app.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const OUT = process.env.BENCH_OUT ?? 'bench-results.json';

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });

async function startServer(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['test/bench/server.ts', args[0]!, String(port), ...args.slice(1)], { cwd: ROOT });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
    child.stderr!.on('data', (d) => process.stderr.write(d));
    child.on('exit', (code) => reject(new Error(`bench server ${args[0]} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function gql(url: string, query: string, variables?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { json: (await res.json()) as any, cookie: res.headers.getSetCookie()[0]?.split(';')[0] };
}

const LOGIN = `mutation($e: String!, $p: String!, $m: AuthMethod) { login(input: { email: $e, password: $p, mode: $m }) { accessToken } }`;
const ME = '{ me { name email } }';
const PLANS = '{ plans { code name } }';
const SHEET = '{ checkIns(first: 50) { edges { node { at member { name } } } } }';

interface Scenario {
  name: string;
  url: string;
  body: string;
  headers?: Record<string, string>;
  /** Another load running at the same time (logins), whose rate is reported too. */
  alongside?: { body: string; connections: number };
}

function run(url: string, body: string, headers: Record<string, string>, connections: number, duration: number) {
  return autocannon({ url: `${url}/graphql`, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, connections, duration });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'keycard-bench-'));
  const children: ChildProcess[] = [];
  try {
    const [baseline, gym, strict] = await Promise.all([
      startServer(['baseline', dir]),
      startServer(['gym', dir, 'stateless']),
      startServer(['gym', dir, 'strict']),
    ]);
    children.push(baseline.child, gym.child, strict.child);

    const staffToken = (await gql(gym.url, LOGIN, { e: 'staff@keycard.test', p: 'keycard-staff-pass' })).json.data.login.accessToken;
    const aliceToken = (await gql(gym.url, LOGIN, { e: 'alice@keycard.test', p: 'keycard-alice-pass' })).json.data.login.accessToken;
    const aliceStrict = (await gql(strict.url, LOGIN, { e: 'alice@keycard.test', p: 'keycard-alice-pass' })).json.data.login.accessToken;
    const aliceCookie = (await gql(gym.url, LOGIN, { e: 'alice@keycard.test', p: 'keycard-alice-pass', m: 'SESSION' })).cookie!;
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const body = (query: string, variables?: unknown) => JSON.stringify({ query, variables });

    const scenarios: Scenario[] = [
      { name: 'baseline: bare Apollo, public query', url: baseline.url, body: body(PLANS) },
      { name: 'anonymous public query', url: gym.url, body: body(PLANS) },
      { name: 'me by token (stateless)', url: gym.url, body: body(ME), headers: bearer(aliceToken) },
      { name: 'me by token (strict)', url: strict.url, body: body(ME), headers: bearer(aliceStrict) },
      { name: 'me by session', url: gym.url, body: body(ME), headers: { cookie: aliceCookie } },
      { name: 'STAFF page of 50 check-ins with names', url: gym.url, body: body(SHEET), headers: bearer(staffToken) },
      {
        name: 'me by token while logins run',
        url: gym.url,
        body: body(ME),
        headers: bearer(aliceToken),
        alongside: { body: body(LOGIN, { e: 'bob@keycard.test', p: 'keycard-bob-pass' }), connections: 2 },
      },
    ];

    const statements = await statementsPerRequest(SHEET);

    console.log(`warming up (${scenarios.length} scenarios)...`);
    for (const s of scenarios) await run(s.url, s.body, s.headers ?? {}, CONNECTIONS, 1);

    const samples = new Map<string, { rps: number[]; p99: number[]; errors: number; alongside: number[] }>();
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round}/${ROUNDS}`);
      for (const s of scenarios) {
        const [main, side] = await Promise.all([
          run(s.url, s.body, s.headers ?? {}, CONNECTIONS, DURATION),
          s.alongside ? run(s.url, s.alongside.body, {}, s.alongside.connections, DURATION) : Promise.resolve(null),
        ]);
        const entry = samples.get(s.name) ?? { rps: [], p99: [], errors: 0, alongside: [] };
        entry.rps.push(main.requests.average);
        entry.p99.push(main.latency.p99);
        entry.errors += main.errors + main.non2xx;
        if (side) entry.alongside.push(side.requests.average);
        samples.set(s.name, entry);
      }
    }

    const base = median(samples.get(scenarios[0]!.name)!.rps);
    const rows = scenarios.map((s) => {
      const e = samples.get(s.name)!;
      return {
        scenario: s.name,
        medianRps: Math.round(median(e.rps)),
        p99Ms: median(e.p99),
        ratioToBaseline: Number((median(e.rps) / base).toFixed(2)),
        errors: e.errors,
        ...(s.name.startsWith('STAFF') ? { sqlStatementsPerRequest: statements } : {}),
        ...(e.alongside.length ? { loginsPerSecond: Number(median(e.alongside).toFixed(1)) } : {}),
      };
    });
    console.table(rows);
    const report = { at: new Date().toISOString(), node: process.version, rounds: ROUNDS, durationSeconds: DURATION, connections: CONNECTIONS, rows };
    writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
    console.log(`written to ${OUT}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The SQL statements one request costs (authentication included), counted by the gym's own query hook on an
 * in-process instance with the same seed: a number that must not grow with the page size.
 */
async function statementsPerRequest(query: string): Promise<number> {
  const app = await startTestApp();
  try {
    const token = (await gql(app.url, LOGIN, { e: 'staff@keycard.test', p: 'keycard-staff-pass' })).json.data.login.accessToken;
    app.queries.length = 0;
    const res = await gql(app.url, query, undefined, { authorization: `Bearer ${token}` });
    if (res.json.errors) throw new Error(JSON.stringify(res.json.errors));
    return app.queries.length;
  } finally {
    await app.close();
  }
}

await main();
