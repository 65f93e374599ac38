/**
 * `npm run bench` (`-- --quick` for the short run CI does): builds a fresh database of realistic size, starts the
 * servers from the compiled build (the gym in stateless and in strict mode, and the bare Apollo baseline), each on
 * its own copy of the database, mints one credential per member for a thousand members, warms every scenario up
 * while checking every answer, then loads the scenarios in turn with autocannon, interleaved over several rounds so
 * that drift hits them all alike.
 *
 * When BENCH_DATABASE_URL (else TEST_DATABASE_URL) names a PostgreSQL server, the same rows are copied into a database
 * of the benchmark's own there, and `me` is measured again on it: by token and by session on one gym process, by
 * token on a gym of two workers on one port, against a baseline on that database.
 *
 * Prints a table, writes test/bench/results/latest.json (its format: test/bench/README.md) and, on a full run, test/bench/chart.svg.
 * BENCH_ROUNDS, BENCH_DURATION (seconds per run) and BENCH_CONNECTIONS override the defaults (3, 10, 32).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { ROOT } from '../../src/shared/paths.js';
import { isPostgresUrl } from '../../src/shared/postgres.js';
import { renderChart, type ChartGroup } from './chart.js';
import { ClusterProcess } from './cluster.js';
import { loginSessions, postGraphql, type Presented } from './credentials.js';
import { BENCH_PASSWORD, copyDatabase, generateDatabase, type BenchData, type BenchMember } from './data.js';
import { gymEnvironment } from './environment.js';
import { ServerProcess, type BenchServer, type ServerOptions } from './ipc.js';
import { run, type RunResult, type Target } from './load.js';
import { createBenchDatabase, fillFromSqlite, type BenchPgDatabase } from './postgres.js';
import {
  describeMachine,
  describeVersions,
  explainPostgres,
  formatTable,
  median,
  summarize,
  writeReport,
  type BenchReport,
  type Sample,
} from './report.js';
import { buildPostgresScenarios, buildScenarios, type PostgresInputs, type Scenario, type ScenarioInputs } from './scenarios.js';
import { HOW_TO_RUN_PG, readSettings, type BenchSettings } from './settings.js';

const SERVER_SCRIPT = fileURLToPath(new URL('./server.js', import.meta.url));
const RESULTS_FILE = path.join(ROOT, 'test', 'bench', 'results', 'latest.json');
const CHART_FILE = path.join(ROOT, 'test', 'bench', 'chart.svg');
/** Requests sent one at a time to count the SQL statements of one. */
const SQL_SAMPLE = 20;

/** Progress goes to stderr, so that stdout carries the results alone. */
const progress = (message: string) => process.stderr.write(`${message}\n`);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** Workers of the gym behind token-stateless-2w. */
const WORKERS = 2;

/**
 * Waits for every promise to settle before throwing the first failure, so that no server is still starting (and about
 * to be left running) when the caller stops those it has.
 */
async function allOf<T extends readonly unknown[] | []>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled: PromiseSettledResult<unknown>[] = await Promise.allSettled(promises as readonly unknown[]);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/**
 * Starts one of the benchmark's servers (server.ts) on its own copy of the SQLite file, or on the PostgreSQL database
 * the servers there share, and adds it to `running`, which the end of the run stops whatever happened.
 */
function serverStarter(source: string, running: BenchServer[]) {
  return async (name: string, options: ServerOptions): Promise<ServerProcess> => {
    if (!isPostgresUrl(options.databaseUrl)) copyDatabase(source, options.databaseUrl);
    const server = await ServerProcess.start(name, SERVER_SCRIPT, options);
    running.push(server);
    return server;
  };
}

/** Starts every server on SQLite. */
async function startServers(dir: string, source: string, running: BenchServer[]): Promise<ScenarioInputs['servers']> {
  const start = serverStarter(source, running);
  const gym = (revocation: 'stateless' | 'strict') =>
    start(`gym-${revocation}`, { kind: 'gym', revocation, databaseUrl: path.join(dir, `gym-${revocation}.sqlite`), keysDir: path.join(dir, `keys-${revocation}`) });
  const [stateless, strict, baseline] = await allOf([gym('stateless'), gym('strict'), start('baseline', { kind: 'baseline', databaseUrl: path.join(dir, 'baseline.sqlite') })]);
  return { stateless, strict, baseline };
}

/** The members whose credentials the scenarios cycle through. */
function identitiesOf(settings: BenchSettings, data: BenchData): BenchMember[] {
  const identities = data.members.slice(0, settings.identities);
  if (identities.length < settings.identities) throw new Error(`only ${identities.length} members to sign in, ${settings.identities} wanted`);
  return identities;
}

/** One credential per member: access tokens minted by each gym, session cookies by real logins. */
async function prepareCredentials(settings: BenchSettings, servers: ScenarioInputs['servers'], data: ScenarioInputs['data']): Promise<ScenarioInputs> {
  const identities = identitiesOf(settings, data);
  const memberIds = identities.map((m) => m.id);
  const [statelessTokens, strictTokens, [staffToken], sessionCookies] = await Promise.all([
    servers.stateless.call('issue-tokens', { memberIds }),
    servers.strict.call('issue-tokens', { memberIds }),
    servers.stateless.call('issue-tokens', { memberIds: [data.staff.id] }),
    loginSessions(servers.stateless.url, identities, BENCH_PASSWORD),
  ]);
  return { settings, data, servers, identities, statelessTokens, strictTokens, sessionCookies, staffToken: staffToken! };
}

/**
 * The PostgreSQL scenarios' servers and credentials, made while the SQLite side gets ready (each side's logins hash
 * on a core of its own): the database filled from the same SQLite file, a gym and the baseline on it; then, at once,
 * the gym of two workers (sharing the first gym's keys, which it made at start, its issuer and its database, so that
 * the first gym's tokens verify there), that gym's tokens, and its sessions by real logins, as on SQLite.
 */
async function preparePostgres(settings: BenchSettings, dir: string, source: string, data: BenchData, database: BenchPgDatabase, running: BenchServer[]): Promise<PostgresInputs> {
  // A copy of its own: opening a SQLite file leaves a write-ahead log beside it, which the other copies refuse.
  const copy = path.join(dir, 'postgres-source.sqlite');
  copyDatabase(source, copy);
  await fillFromSqlite(copy, database.url);
  const start = serverStarter(source, running);
  const keysDir = path.join(dir, 'keys-pg');
  const [stateless, baseline] = await allOf([
    start('gym-pg', { kind: 'gym', revocation: 'stateless', databaseUrl: database.url, keysDir }),
    start('baseline-pg', { kind: 'baseline', databaseUrl: database.url }),
  ]);
  const identities = identitiesOf(settings, data);
  const environment = gymEnvironment({ databaseUrl: database.url, keysDir, revocation: 'stateless' });
  const [twoWorkers, statelessTokens, sessionCookies] = await allOf([
    ClusterProcess.start(`gym-${WORKERS}w`, { workers: WORKERS, environment, cwd: dir, logFile: path.join(dir, `gym-${WORKERS}w.log`) }).then((cluster) => {
      running.push(cluster);
      return cluster;
    }),
    stateless.call('issue-tokens', { memberIds: identities.map((m) => m.id) }),
    loginSessions(stateless.url, identities, BENCH_PASSWORD),
  ]);
  return { servers: { stateless, baseline, twoWorkers }, statelessTokens, sessionCookies };
}

function targetOf(scenario: Scenario): Target {
  const rotation = scenario.rotation?.();
  return {
    url: scenario.server.url,
    body: scenario.body,
    ...(scenario.headers ? { headers: scenario.headers } : {}),
    ...(rotation ? { vary: () => ({ headers: rotation.next().headers }) } : {}),
  };
}

/** Sends one request as the scenario would and checks the answer itself, not only its status. */
async function checkSample(scenario: Scenario): Promise<void> {
  const presented: Presented | undefined = scenario.rotation?.().next();
  const res = await postGraphql(scenario.server.url, scenario.body, { ...scenario.headers, ...presented?.headers });
  const problem =
    res.status !== 200 || !res.json?.data || res.json.errors
      ? `HTTP ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`
      : scenario.check(presented?.member ?? null)(res.json.data);
  if (problem) throw new Error(`${scenario.name}: the sample answer is wrong (${problem}); refusing to measure it`);
  const alongside = scenario.alongside;
  if (alongside) {
    const body = alongside.target.vary?.().body ?? alongside.target.body;
    const side = await postGraphql(alongside.target.url, body);
    const sideProblem = side.status !== 200 || !side.json?.data ? `HTTP ${side.status}` : alongside.check(side.json.data);
    if (sideProblem) throw new Error(`${scenario.name}: a sample ${alongside.name} answer is wrong (${sideProblem})`);
  }
}

/** Best rate each scenario has reached so far: token-cold mints enough fresh tokens from it. */
class Observed {
  private readonly best = new Map<string, number>();
  note(name: string, rps: number) {
    this.best.set(name, Math.max(rps, this.best.get(name) ?? 0));
  }
  get = (name: string) => this.best.get(name) ?? 0;
}

/** One run of a scenario, already prepared, with its alongside load if any, and what the gym counted during it. */
async function runScenario(scenario: Scenario, settings: BenchSettings, seconds: number, observed: Observed, checkResponses: boolean): Promise<Sample> {
  if (scenario.gym) await scenario.server.call('reset-counters', {});
  const options = { connections: settings.connections, durationSeconds: seconds, checkResponses };
  const alongside = scenario.alongside;
  const [main, side] = await Promise.all([
    run(scenario.name, targetOf(scenario), options),
    alongside
      ? run(`${scenario.name} (${alongside.name})`, alongside.target, { ...options, connections: alongside.connections, overallRate: alongside.rate })
      : Promise.resolve(undefined),
  ]);
  const counters = scenario.gym ? await scenario.server.call('read-counters', {}) : undefined;
  observed.note(scenario.name, main.rps);
  const reused = scenario.rotation?.().reused ?? 0;
  if (scenario.freshCredentials && reused > 0) progress(`  warning: ${scenario.name} ran out of fresh credentials and started over ${reused} time(s)`);
  return { ...main, ...(counters ? { eventLoopP99Ms: counters.eventLoopP99Ms } : {}), ...(side ? { alongside: side } : {}) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the server has run no SQL for a moment: requests still in flight when a load run stops (a login
 * hashing on the thread pool) would otherwise be counted against the next measurement.
 */
async function quiesce(server: BenchServer): Promise<void> {
  for (let attempt = 0; attempt < 25; attempt++) {
    await server.call('reset-counters', {});
    await sleep(200);
    if ((await server.call('read-counters', {})).sqlStatements === 0) return;
  }
  throw new Error(`${server.name} never went quiet: cannot count the SQL statements of a request`);
}

/** Sends requests one at a time and divides the statements the gym ran by them: authentication included. */
async function sqlPerRequest(scenario: Scenario, observed: Observed): Promise<number> {
  await scenario.prepare?.(0, observed.get);
  const target = targetOf(scenario);
  const sample = Array.from({ length: SQL_SAMPLE }, () => ({ ...target.headers, ...target.vary?.().headers }));
  const send = async (headers: Record<string, string>) => {
    const res = await postGraphql(target.url, target.body, headers);
    if (res.status !== 200) throw new Error(`${scenario.name}: HTTP ${res.status} while counting SQL statements`);
  };
  // A session not seen for a minute records its activity on its next request: a write once a minute, not per request,
  // which the count would take for one when the setup ran long. Sending the sample once first makes that write then.
  // (Fresh credentials have no such write, and must not be sent twice.)
  if (!scenario.freshCredentials) for (const headers of sample) await send(headers);
  await quiesce(scenario.server);
  await scenario.server.call('reset-counters', {});
  for (const headers of sample) await send(headers);
  const { sqlStatements } = await scenario.server.call('read-counters', {});
  return sqlStatements / SQL_SAMPLE;
}

/** The rounds: every scenario once per round, each round starting one scenario later, so no one always goes first. */
async function measure(scenarios: Scenario[], settings: BenchSettings, observed: Observed): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>(scenarios.map((s) => [s.name, []]));
  for (let round = 0; round < settings.rounds; round++) {
    progress(`round ${round + 1}/${settings.rounds}`);
    for (let i = 0; i < scenarios.length; i++) {
      const scenario = scenarios[(i + round) % scenarios.length]!;
      await scenario.prepare?.(settings.durationSeconds, observed.get);
      const sample = await runScenario(scenario, settings, settings.durationSeconds, observed, false);
      samples.get(scenario.name)!.push(sample);
      const side = sample.alongside ? `, ${sample.alongside.rps.toFixed(1)} logins/s` : '';
      progress(`  ${scenario.name.padEnd(20)} ${Math.round(sample.rps).toString().padStart(6)} req/s  p99 ${sample.p99Ms} ms${side}`);
    }
  }
  return samples;
}

/** The table's order: the baselines first, then the paths from the cheapest guarantee to the dearest. */
const REPORT_ORDER = [
  'baseline',
  'baseline-plans',
  'baseline-staff-page',
  'public',
  'token-stateless',
  'token-cold',
  'token-strict',
  'session',
  'staff-page',
  'token-during-logins',
  // The same operation on PostgreSQL, its own baseline first, under the SQLite rows.
  'baseline-pg',
  'token-stateless-pg',
  'session-pg',
  'token-stateless-2w',
];

function buildReport(
  settings: BenchSettings,
  scenarios: Scenario[],
  samples: Map<string, Sample[]>,
  sql: Map<string, number>,
  database: BenchPgDatabase | undefined,
): BenchReport {
  return {
    machine: describeMachine(),
    versions: { ...describeVersions(), ...(database ? { postgresql: database.serverVersion } : {}) },
    run: {
      at: new Date().toISOString(),
      quick: settings.quick,
      rounds: settings.rounds,
      durationSeconds: settings.durationSeconds,
      connections: settings.connections,
      members: settings.memberCount,
      checkIns: settings.checkInCount,
      identities: settings.identities,
    },
    scenarios: [...scenarios]
      .sort((a, b) => REPORT_ORDER.indexOf(a.name) - REPORT_ORDER.indexOf(b.name))
      .map((s) => summarize(s.name, samples.get(s.name)!, samples.get(s.baseline)!, sql.get(s.name))),
  };
}

/** Failures over all rounds, per scenario, and the logins that ran alongside, for the table and its footnote. */
function failuresOf(samples: Map<string, Sample[]>): { failures: Map<string, number>; notes: string[] } {
  const failures = new Map<string, number>();
  const notes: string[] = [];
  for (const [name, list] of samples) {
    failures.set(name, list.reduce((n, s) => n + s.failures, 0));
    const side = list.flatMap((s) => (s.alongside ? [s.alongside] : [])) as RunResult[];
    if (side.length > 0) {
      const failed = side.reduce((n, s) => n + s.failures, 0);
      notes.push(`${name}: logins alongside ran at ${median(side.map((s) => s.rps)).toFixed(1)}/s (median), ${failed} failed`);
    }
  }
  return { failures, notes };
}

/** The chart's sections: the scenarios of each operation, its baseline first. */
function chartGroups(scenarios: Scenario[]): ChartGroup[] {
  const groups = new Map<string, Scenario[]>();
  for (const s of scenarios) groups.set(s.operation, [...(groups.get(s.operation) ?? []), s]);
  const baselineFirst = (a: Scenario, b: Scenario) => Number(b.name === b.baseline) - Number(a.name === a.baseline);
  return [...groups].map(([operation, list]) => ({ operation, names: list.sort(baselineFirst).map((s) => s.name) }));
}

async function main(): Promise<void> {
  const settings = readSettings(process.argv.slice(2), process.env);
  if (!existsSync(SERVER_SCRIPT)) throw new Error(`${SERVER_SCRIPT} is missing: run the benchmark with npm run bench, which builds it`);
  const started = performance.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'keycard-bench-'));
  const running: BenchServer[] = [];
  let database: BenchPgDatabase | undefined;
  let postgresReady: Promise<PostgresInputs | undefined> = Promise.resolve(undefined);
  try {
    progress(`generating ${settings.memberCount} members and ${settings.checkInCount} check-ins...`);
    const source = path.join(dir, 'source.sqlite');
    const data = await generateDatabase(source, settings);
    if (settings.postgresUrl) {
      database = await createBenchDatabase(settings.postgresUrl);
      progress(`copying them into PostgreSQL ${database.serverVersion} too, and signing in there, meanwhile...`);
      postgresReady = preparePostgres(settings, dir, source, data, database, running);
      // Awaited below, or in `finally` when the SQLite side fails first: never an unhandled rejection meanwhile.
      postgresReady.catch(() => undefined);
    }
    const servers = await startServers(dir, source, running);
    progress(`data and servers ready after ${seconds(started)}; minting ${settings.identities} tokens per gym and signing ${settings.identities} sessions in...`);
    const scenarios = buildScenarios(await prepareCredentials(settings, servers, data));

    // The PostgreSQL side may still be signing in while the first scenarios warm up: a warm-up measures nothing, it
    // checks answers and sees what rate a scenario reaches. Logins alongside must answer within theirs, though, which
    // they cannot while the other gym hashes a thousand passwords: that warm-up waits. Nothing is measured until then.
    progress(`credentials ready after ${seconds(started)}; warming up ${scenarios.length} scenarios, checking every answer...`);
    const observed = new Observed();
    const warmUp = async (scenario: Scenario) => {
      if (scenario.alongside) await postgresReady;
      await scenario.prepare?.(settings.warmupSeconds, observed.get);
      await checkSample(scenario);
      await runScenario(scenario, settings, settings.warmupSeconds, observed, true);
    };
    for (const scenario of scenarios) await warmUp(scenario);
    const postgres = await postgresReady;
    if (postgres) {
      const onPostgres = buildPostgresScenarios(identitiesOf(settings, data), postgres);
      progress(`PostgreSQL ready after ${seconds(started)}; warming up ${onPostgres.length} more scenarios...`);
      for (const scenario of onPostgres) await warmUp(scenario);
      scenarios.push(...onPostgres);
    }
    const sql = new Map<string, number>();
    for (const scenario of scenarios.filter((s) => s.gym && s.countSql)) sql.set(scenario.name, await sqlPerRequest(scenario, observed));

    const samples = await measure(scenarios, settings, observed);
    const report = buildReport(settings, scenarios, samples, sql, database);
    const { failures, notes } = failuresOf(samples);
    console.log(`\n${formatTable(report.scenarios, failures)}\n`);
    for (const note of notes) console.log(note);
    console.log(`ratio: req/s over the baseline answering the same operation; rounds: ${settings.rounds} × ${settings.durationSeconds} s, ${settings.connections} connections`);
    if (database) {
      // The pool the gyms were given: DATABASE_POOL_SIZE as their environment leaves it.
      const poolSize = loadConfig(gymEnvironment({ databaseUrl: database.url, keysDir: dir, revocation: 'stateless' })).databasePoolSize;
      const run = { serverVersion: database.serverVersion, poolSize, workers: WORKERS, connections: settings.connections, cores: os.cpus().length };
      console.log(`\n${explainPostgres(report.scenarios, run).join('\n')}`);
    } else {
      console.log(
        `PostgreSQL and ${WORKERS}-worker scenarios (token-stateless-pg, session-pg, token-stateless-${WORKERS}w) skipped: neither BENCH_DATABASE_URL ` +
          `nor TEST_DATABASE_URL names a PostgreSQL server; run them with ${HOW_TO_RUN_PG}`,
      );
    }
    writeReport(RESULTS_FILE, report);
    progress(`written ${path.relative(ROOT, RESULTS_FILE)}`);
    // A quick run is a smoke test: it must not rewrite the committed chart (nor dirty a CI checkout).
    if (!settings.quick) {
      writeFileSync(CHART_FILE, renderChart(report, chartGroups(scenarios)));
      progress(`written ${path.relative(ROOT, CHART_FILE)}`);
    }
    const totalFailures = [...failures.values()].reduce((a, b) => a + b, 0);
    if (totalFailures > 0) progress(`warning: ${totalFailures} requests failed during the measured runs (see "failed")`);
    progress(`done in ${seconds(started)} (after the build)`);
  } finally {
    // Whatever failed, nothing may still be starting when the servers are stopped.
    await postgresReady.catch(() => undefined);
    await Promise.all(running.map((s) => s.stop()));
    await database?.drop().catch((err: unknown) => progress(`warning: the benchmark's PostgreSQL database was not dropped: ${err instanceof Error ? err.message : String(err)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`benchmark failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
