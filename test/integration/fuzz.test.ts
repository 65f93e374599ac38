import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toGlobalId } from '../../src/ids.js';
import { buildSchema } from '../../src/schema.js';
import { Client, DEMO, LOGIN } from '../helpers/client.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Credentials, credentialArb, type Credential } from '../helpers/fuzz/credentials.js';
import { closeConnections, operationRequestArb, rawRequestArb, send, type FuzzRequest, type FuzzResponse } from '../helpers/fuzz/http.js';
import { LoopWatch } from '../helpers/fuzz/loop-watch.js';
import { operationArb, rootFields } from '../helpers/fuzz/operations.js';
import type { Samples } from '../helpers/fuzz/values.js';
import { bodyOf, DatabaseFingerprint, didSomething, mustLeaveDatabaseUnchanged, problemsWith, ran } from '../helpers/fuzz/verdict.js';

/**
 * The fuzzer: thousands of generated requests against the real server (real HTTP, real SQLite through the real
 * migrations, the demo data), from every operation of the schema to random bytes, each signed in one of several
 * ways, in development (stateless keycards) and in production (strict revocation, behind a TLS proxy). Every answer
 * must be a clean GraphQL answer with a known code, never a 5xx, a stack or an internal message; the event loop never
 * stalls; a refused request changes nothing; and the server is healthy afterwards.
 *
 * The seed is fixed, so `npm test` is repeatable; `FUZZ_SEED=<n>` replays or varies it, `FUZZ_SEED=random` picks
 * one (`npm run fuzz`), and `FUZZ_RUNS=<factor>` runs more. A failure prints the seed, the path to replay it and the
 * shrunk counterexample.
 */

const DEFAULT_SEED = 20_261_126;
const seed = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? DEFAULT_SEED);
if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be a whole number or "random", not ${process.env.FUZZ_SEED}`);
const factor = Number(process.env.FUZZ_RUNS ?? 1);
if (!(factor > 0)) throw new Error(`FUZZ_RUNS must be a positive number, not ${process.env.FUZZ_RUNS}`);
const runs = (n: number) => Math.max(1, Math.round(n * factor));
console.log(`fuzz seed ${seed} (FUZZ_SEED=${seed} replays it)`);

/**
 * The longest the event loop may be held by one exchange. Generous: the longest seen on a quiet 2-core machine is
 * about 70 ms, while the stalls this guards against (re-parsing a document per error, an error per field of a huge
 * input each quoting all of it) cost seconds. Beside the rest of the suite a garbage collection or the other files on
 * the two cores have cost up to 550 ms now and then, so a stall over the limit counts only when it comes back as the
 * same requests are sent again: one a request causes does, one the machine causes does not.
 */
const STALL_LIMIT_MS = 500;

/** Counters that refused sign-ins are meant to move, and a session's activity, which reading it slides. */
const FINGERPRINT = { ignoreTables: ['login_failures', 'rate_limits'], ignoreColumns: { sessions: ['data', 'expires_at'] } };

/**
 * Limits raised so that thousands of requests from one address, signed in as the same few members, do not turn every
 * later one into RATE_LIMITED (which would stop them reaching the code behind the limits) or cap away the families
 * the fuzzer's own keycards belong to. Only errors are logged: the log is searched for them after each request.
 */
const MANY = '1000000';
const FUZZ_ENV = {
  LOG_LEVEL: 'warn',
  LOGIN_MAX_FAILURES_PER_EMAIL: MANY,
  LOGIN_MAX_FAILURES_PER_ADDRESS: MANY,
  LOGIN_MAX_PER_MEMBER: MANY,
  SIGNUP_MAX_PER_ADDRESS: MANY,
  REFRESH_MAX_PER_MEMBER: MANY,
  REFRESH_MAX_FAMILIES_PER_MEMBER: MANY,
  CHECKIN_MAX_PER_MEMBER: MANY,
};

/** A way the server runs, fuzzed on its own server. */
interface Profile {
  name: string;
  env: Record<string, string>;
  /** Sent with every request: what a TLS-terminating proxy adds (production's cookies are Secure). */
  proxyHeaders?: Record<string, string>;
  runs: { operations: number; raw: number; batches: number };
}

const PROFILES: Profile[] = [
  { name: 'development, stateless keycards', env: {}, runs: { operations: 3_500, raw: 1_200, batches: 200 } },
  {
    name: 'production, strict revocation, behind a proxy',
    env: { NODE_ENV: 'production', TOKEN_REVOCATION: 'strict', TRUST_PROXY: 'loopback' },
    proxyHeaders: { 'x-forwarded-proto': 'https' },
    runs: { operations: 1_200, raw: 500, batches: 80 },
  },
];

const schema = buildSchema();

interface Exchange {
  credential: Credential;
  request: FuzzRequest;
}

/** One server under fuzz, with what judging its answers needs. */
class Target {
  readonly loop = new LoopWatch();
  private readonly seen = { outcomes: new Map<string, number>(), statuses: new Map<string, number>(), codes: new Map<string, number>(), longestStallMs: 0 };

  private constructor(
    readonly app: TestApp,
    readonly credentials: Credentials,
    readonly fingerprint: DatabaseFingerprint,
    readonly samples: Samples,
  ) {}

  static async start(profile: Profile): Promise<Target> {
    // SQLite whatever the run: the fingerprint of "nothing changed" reads SQLite's own catalog.
    const app = await startTestApp({ engine: 'sqlite', env: { ...FUZZ_ENV, ...profile.env } });
    const credentials = new Credentials(app, profile.proxyHeaders);
    await credentials.signIn();
    return new Target(app, credentials, new DatabaseFingerprint(app.database.sqlite(), FINGERPRINT), await gatherSamples(app, credentials));
  }

  /**
   * Sends the requests together and judges every answer, the event loop meanwhile, the error log, and the database
   * when every request must have left it alone. Throws with everything found, so fast-check shrinks and reports it.
   */
  async exchange(batch: Exchange[]): Promise<void> {
    const before = this.fingerprint.take();
    const logMark = this.app.rawLogs().length;
    const sent = batch.map(({ credential, request }) => ({ request, headers: this.credentials.headers(credential), secrets: this.credentials.secrets(credential) }));
    this.loop.take();
    const responses: FuzzResponse[] = await Promise.all(sent.map(({ request, headers }) => send(this.app.url, request, headers)));
    const stalledMs = this.loop.take();
    this.tally(responses, stalledMs);
    const problems = responses.flatMap((response, i) => {
      const { request, headers, secrets } = sent[i]!;
      return problemsWith(request, { ...request.headers, ...headers }, secrets, response).map((p) => `#${i}: ${p}`);
    });
    for (const line of this.app.rawLogs().slice(logMark).split('\n').filter(Boolean)) {
      const entry = JSON.parse(line) as { level: number; msg?: string; err?: { message?: string } };
      if (entry.level >= 50) problems.push(`the server logged an error: ${entry.msg} (${entry.err?.message ?? ''})`);
    }
    if (batch.every(({ request }, i) => mustLeaveDatabaseUnchanged(request, responses[i]!))) {
      const changes = DatabaseFingerprint.changes(before, this.fingerprint.take());
      if (changes.length) problems.push(`the database changed although every request was refused: ${changes.join('; ')}`);
    }
    // Whatever ran may have logged the staff session out or changed a demo member: put them back for the next request.
    for (const [i, response] of responses.entries()) if (ran(response)) await this.credentials.repair(batch[i]!.credential);
    if (stalledMs > STALL_LIMIT_MS) {
      // The same requests again, with the credentials as they are now (repaired, so they are judged as before).
      this.loop.take();
      const again = await Promise.all(batch.map(({ credential, request }) => send(this.app.url, request, this.credentials.headers(credential))));
      const againMs = this.loop.take();
      for (const [i, response] of again.entries()) if (ran(response)) await this.credentials.repair(batch[i]!.credential);
      if (againMs > STALL_LIMIT_MS) {
        problems.push(`the event loop was blocked for ${Math.round(stalledMs)} ms, and for ${Math.round(againMs)} ms when the same requests were sent again`);
      }
    }
    if (problems.length) {
      const answers = responses.map((r, i) => `#${i}: ${r.status} ${r.text.slice(0, 600)}`);
      throw new Error([...problems, 'answers:', ...answers].join('\n'));
    }
  }

  /** What came back, counted: printed at the end, so a run shows how much of it reached the resolvers. */
  private tally(responses: FuzzResponse[], stalledMs: number): void {
    const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    this.seen.longestStallMs = Math.max(this.seen.longestStallMs, stalledMs);
    for (const response of responses) {
      count(this.seen.outcomes, didSomething(response) ? 'answered with data' : ran(response) ? 'executed and refused' : 'refused before executing');
      count(this.seen.statuses, String(response.status));
      for (const e of (bodyOf(response)?.errors ?? []) as { extensions?: { code?: string } }[]) count(this.seen.codes, String(e.extensions?.code));
    }
  }

  summary(): string {
    const line = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    return [
      `outcomes: ${line(this.seen.outcomes)}`,
      `statuses: ${line(this.seen.statuses)}`,
      `error codes: ${line(this.seen.codes)}`,
      `longest event-loop stall: ${Math.round(this.seen.longestStallMs)} ms (limit ${STALL_LIMIT_MS} ms)`,
    ].join('\n');
  }

  async close(): Promise<void> {
    this.loop.stop();
    await this.app.close();
  }
}

/** Real ids and cursors, read through the API as staff, so generated arguments name things that exist. */
async function gatherSamples(app: TestApp, credentials: Credentials): Promise<Samples> {
  const staff = new Client(app.url);
  staff.headers = credentials.headers({ name: 'staff session' });
  const res = await staff.gql(`{
    plans { id }
    members(first: 100) { edges { cursor node { id } } }
    checkIns(first: 5) { edges { cursor node { id } } }
  }`);
  if (res.errors) throw new Error(`cannot gather samples: ${JSON.stringify(res.errors)}`);
  const { plans, members, checkIns } = res.data;
  return {
    memberIds: members.edges.map((e: { node: { id: string } }) => e.node.id),
    checkInIds: checkIns.edges.map((e: { node: { id: string } }) => e.node.id),
    planIds: plans.map((p: { id: string }) => p.id),
    cursors: [...members.edges, ...checkIns.edges].map((e: { cursor: string }) => e.cursor),
    emails: Object.values(DEMO).map((d) => d.email),
    passwords: Object.values(DEMO).map((d) => d.password),
    accounts: Object.values(DEMO),
  };
}

/** fast-check's options: the one seed, and an end to shrinking well before the test's own timeout. */
const options = (numRuns: number) => ({ seed, numRuns, interruptAfterTimeLimit: 60_000 * factor });
const timeout = 150_000 * factor;

afterAll(() => closeConnections());

describe.each(PROFILES)(`the fuzzer (seed ${seed}) in $name`, (profile) => {
  let target: Target;
  beforeAll(async () => {
    target = await Target.start(profile);
  });
  afterAll(async () => {
    console.log(`fuzz, ${profile.name}:\n${target?.summary()}`);
    await target?.close();
  });

  it('derives its operations from the built schema: every Query and Mutation field is called', () => {
    const names = rootFields(schema).map((r) => `${r.kind} ${r.field.name}`);
    expect(names).toEqual(expect.arrayContaining(['query node', 'query me', 'mutation login', 'mutation signUp', 'mutation setMembership', 'mutation issuePartnerToken']));
    const generated = fc.sample(operationArb(schema, target.samples), { seed, numRuns: 2_000 }).map((op) => op.document).join('\n');
    for (const { field } of rootFields(schema)) expect(generated, field.name).toMatch(new RegExp(`\\b${field.name}\\b`));
    // What "the database is unchanged" covers: every table but the throttle counters.
    expect(target.fingerprint.tableNames).toEqual(expect.arrayContaining(['members', 'memberships', 'check_ins', 'sessions', 'refresh_tokens', 'plans', 'app_secrets']));
  });

  it('answers every operation of the schema, with every credential, cleanly', { timeout }, async () => {
    const requests = operationRequestArb(operationArb(schema, target.samples));
    await fc.assert(
      fc.asyncProperty(credentialArb, requests, (credential, request) => target.exchange([{ credential, request }])),
      options(runs(profile.runs.operations)),
    );
  });

  it('answers malformed HTTP cleanly: random bytes, cut-off JSON, odd methods, paths, content types and encodings', { timeout }, async () => {
    const requests = rawRequestArb(operationArb(schema, target.samples).map((op) => op.document));
    await fc.assert(
      fc.asyncProperty(credentialArb, requests, (credential, request) => target.exchange([{ credential, request }])),
      options(runs(profile.runs.raw)),
    );
  });

  it('answers requests that arrive together as it answers them one by one', { timeout }, async () => {
    const one = fc.record({
      credential: credentialArb,
      request: fc.oneof({ weight: 3, arbitrary: operationRequestArb(operationArb(schema, target.samples)) }, { weight: 1, arbitrary: rawRequestArb(fc.constant('{ plans { code } }')) }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(one, { minLength: 2, maxLength: 6 }), (batch) => target.exchange(batch)),
      options(runs(profile.runs.batches)),
    );
  });

  it('is healthy afterwards: /healthz answers, queries run, members sign in', async () => {
    const health = await fetch(`${target.app.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const client = new Client(target.app.url);
    client.headers = { ...profile.proxyHeaders };
    const plans = await client.gql('{ plans { code } }');
    expect(plans.data.plans).toHaveLength(2);
    const login = await client.gql(LOGIN, { input: { ...DEMO.bob, mode: 'TOKEN' } });
    expect(login.errors).toBeUndefined();
    expect(login.data?.login.accessToken).toEqual(expect.any(String));
  });
});

describe('what the fuzzer found', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ engine: 'sqlite' });
  });
  afterAll(() => app.close());

  const errorsLogged = () => app.rawLogs().split('\n').filter((l) => l.includes('"level":50')).length;
  const post = async (body: unknown) => {
    const res = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, text, errors: (JSON.parse(text) as { errors?: { message: string; extensions?: { code?: string } }[] }).errors ?? [] };
  };

  it('answers a persisted-query hash that does not match its query, or an unknown version, as a bad request', async () => {
    const logged = errorsLogged();
    for (const persistedQuery of [{ version: 1, sha256Hash: 'abc' }, { version: 2, sha256Hash: 'abc' }, {}]) {
      const res = await post({ query: '{ plans { code } }', extensions: { persistedQuery } });
      expect(res.status, JSON.stringify(persistedQuery)).toBe(400);
      expect(res.errors, JSON.stringify(persistedQuery)).toEqual([{ message: expect.any(String), extensions: { code: 'BAD_REQUEST' } }]);
    }
    // A client's mistake is not the server's: nothing is logged as an unexpected error.
    expect(errorsLogged()).toBe(logged);
  });

  it('refuses a subscription over HTTP (they are served over graphql-ws) at validation, not as an internal error', async () => {
    const logged = errorsLogged();
    for (const query of ['subscription { plans { code } }', 'subscription { checkIns { id } }']) {
      const res = await post({ query });
      expect(res.status).toBe(400);
      expect(new Set(res.errors.map((e) => e.extensions?.code))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
      expect(res.errors.map((e) => e.message)).toContain('Subscriptions are served over WebSocket (graphql-ws) on this same path, not over HTTP.');
    }
    expect(errorsLogged()).toBe(logged);
  });

  it('refuses a variable with a thousand bad fields as bad input, in an answer of a few kilobytes', async () => {
    const logged = errorsLogged();
    const input: Record<string, unknown> = { memberId: toGlobalId('Member', 3), plan: 'BASIC', validUntil: new Date(Date.now() + 86_400_000).toISOString() };
    for (let i = 0; i < 1_200; i++) input[`f${i}`] = 0;
    const body = { query: 'mutation($input: SetMembershipInput!) { setMembership(input: $input) { validUntil } }', variables: { input } };
    // Unclipped, each of the 51 errors repeated this 10 kB value: half a megabyte back for ten kilobytes sent.
    expect(JSON.stringify(body).length).toBeGreaterThan(10_000);
    const res = await post(body);
    expect(res.status).toBe(400);
    // graphql-js reports 50 of them, then one error saying it stopped: all of them the client's bad input.
    expect(res.errors.length).toBeGreaterThan(50);
    expect(new Set(res.errors.map((e) => e.extensions?.code))).toEqual(new Set(['BAD_USER_INPUT']));
    // Each message names the variable and says what is wrong, without repeating the whole value 51 times.
    for (const error of res.errors) expect(error.message.length).toBeLessThanOrEqual(500);
    expect(res.errors[0]!.message).toMatch(/^Variable "\$input" got invalid value .*is not defined by type "SetMembershipInput"\.$/s);
    expect(res.text.length).toBeLessThan(40_000);
    expect(errorsLogged()).toBe(logged);
  });
});
