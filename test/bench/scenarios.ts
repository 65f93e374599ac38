/**
 * What the benchmark measures: each scenario is one operation, sent to one server with one kind of credential, and
 * compared with the baseline row that answers the same operation without any of Keycard's wiring.
 */
import { MEMBER_ID_HEADER } from './baseline.js';
import { bearer, Rotation } from './credentials.js';
import type { BenchData, BenchMember } from './data.js';
import { BENCH_PASSWORD } from './data.js';
import type { BenchServer, ServerProcess } from './ipc.js';
import type { Target } from './load.js';
import { checkLogin, checkMe, checkPlans, checkStaffPage, LOGIN, ME, PLANS, requestBody, STAFF_PAGE, type DataCheck } from './operations.js';
import type { BenchSettings } from './settings.js';

export interface Scenario {
  name: string;
  /** What is asked, for the chart's grouping: every scenario of one operation shares one baseline. */
  operation: string;
  /** The baseline row answering the same operation (a baseline row names itself). */
  baseline: string;
  server: BenchServer;
  /** A gym that counts SQL statements and event-loop delay; the baselines and the two-worker gym count nothing. */
  gym: boolean;
  body: string;
  /** Headers every request carries. */
  headers?: Record<string, string>;
  /** Credentials handed out one per request, in turn. */
  rotation?: () => Rotation;
  /** Every credential must be sent once only: a run that runs out and starts over is reported. */
  freshCredentials?: boolean;
  /** Checks one answer, given the member whose credential was presented (null when none was). */
  check: (member: BenchMember | null) => DataCheck;
  /** Whether to count the SQL statements of one request (not while logins run: theirs would be counted too). */
  countSql: boolean;
  /** Untimed work before each run; `observedRps` is the best rate a scenario has reached so far (0: not run yet). */
  prepare?: (runSeconds: number, observedRps: (name: string) => number) => Promise<void>;
  /** Another load during each run, at a fixed rate. */
  alongside?: { name: string; target: Target; rate: number; connections: number; check: DataCheck };
}

const OPERATIONS = {
  me: 'me { id name email role }, each request as another member',
  meOnPostgres: 'me { id name email role }, each request as another member, on PostgreSQL',
  plans: 'plans, anonymous',
  staffPage: 'checkIns(first: 50) with member, membership and plan, as STAFF',
};

/** Everything the scenarios are built from, made once per benchmark run. */
export interface ScenarioInputs {
  settings: BenchSettings;
  data: BenchData;
  servers: { stateless: ServerProcess; strict: ServerProcess; baseline: ServerProcess };
  /** The members whose credentials are cycled, and theirs, index for index. */
  identities: BenchMember[];
  statelessTokens: string[];
  strictTokens: string[];
  sessionCookies: string[];
  staffToken: string;
}

/** When a PostgreSQL server was named: the servers on the database filled with the same rows, and their credentials. */
export interface PostgresInputs {
  /** A gym (stateless) and the baseline on one PostgreSQL database, and a gym of two workers on the same database. */
  servers: { stateless: ServerProcess; baseline: ServerProcess; twoWorkers: BenchServer };
  /** Minted by `stateless`, which shares its keys and issuer with `twoWorkers`: they verify on both. */
  statelessTokens: string[];
  sessionCookies: string[];
}

/** One rotation of credentials, shared by every scenario given it (a later one carries on where an earlier left off). */
const sharedRotation = (identities: BenchMember[]) => (headersOf: (i: number) => Record<string, string>) => {
  const shared = new Rotation(identities, headersOf);
  return () => shared;
};

/** The baseline's unverified member header, one member after another. */
const memberHeader = (identities: BenchMember[]) => (i: number) => ({ [MEMBER_ID_HEADER]: String(identities[i]!.id) });

/**
 * The scenarios in the order they run within a round: each operation's baseline next to the scenarios it is the
 * baseline of (rounds rotate this order, keeping neighbours together), and token-stateless before token-cold, which
 * sizes its supply of fresh tokens from it. The PostgreSQL scenarios, when there are any, come after these, together.
 */
export function buildScenarios(inputs: ScenarioInputs): Scenario[] {
  const { servers, identities, staffToken } = inputs;
  const rotation = sharedRotation(identities);
  const tokens = rotation((i) => bearer(inputs.statelessTokens[i]!));
  const meCheck = (member: BenchMember | null) => checkMe(member!);
  const me = { operation: OPERATIONS.me, body: requestBody(ME), check: meCheck, countSql: true };
  const staffPage = { operation: OPERATIONS.staffPage, body: requestBody(STAFF_PAGE), headers: bearer(staffToken), check: () => checkStaffPage, countSql: true };
  const plans = { operation: OPERATIONS.plans, body: requestBody(PLANS), check: () => checkPlans, countSql: true };
  const onGym = { server: servers.stateless, gym: true };
  const onBaseline = { server: servers.baseline, gym: false };
  return [
    { name: 'baseline-plans', baseline: 'baseline-plans', ...onBaseline, ...plans },
    { name: 'public', baseline: 'baseline-plans', ...onGym, ...plans },
    { name: 'baseline', baseline: 'baseline', ...onBaseline, ...me, rotation: rotation(memberHeader(identities)) },
    { name: 'token-stateless', baseline: 'baseline', ...onGym, ...me, rotation: tokens },
    coldTokens(inputs),
    { name: 'session', baseline: 'baseline', ...onGym, ...me, rotation: rotation((i) => ({ cookie: inputs.sessionCookies[i]! })) },
    { name: 'token-strict', baseline: 'baseline', ...me, server: servers.strict, gym: true, rotation: rotation((i) => bearer(inputs.strictTokens[i]!)) },
    { name: 'token-during-logins', baseline: 'baseline', ...onGym, ...me, countSql: false, rotation: tokens, alongside: logins(inputs) },
    { name: 'baseline-staff-page', baseline: 'baseline-staff-page', ...onBaseline, ...staffPage },
    { name: 'staff-page', baseline: 'baseline-staff-page', ...onGym, ...staffPage },
  ];
}

/**
 * `me` on PostgreSQL, against the baseline reading the same database, so that the ratio isolates what Keycard adds
 * there as the SQLite rows do: by token and by session on one gym process, and by the same tokens on two workers.
 */
export function buildPostgresScenarios(identities: BenchMember[], { servers, statelessTokens, sessionCookies }: PostgresInputs): Scenario[] {
  const rotation = sharedRotation(identities);
  const tokens = rotation((i) => bearer(statelessTokens[i]!));
  const me = { operation: OPERATIONS.meOnPostgres, body: requestBody(ME), check: (member: BenchMember | null) => checkMe(member!), countSql: true };
  const onGym = { server: servers.stateless, gym: true };
  return [
    { name: 'baseline-pg', baseline: 'baseline-pg', server: servers.baseline, gym: false, ...me, rotation: rotation(memberHeader(identities)) },
    { name: 'token-stateless-pg', baseline: 'baseline-pg', ...onGym, ...me, rotation: tokens },
    { name: 'session-pg', baseline: 'baseline-pg', ...onGym, ...me, rotation: rotation((i) => ({ cookie: sessionCookies[i]! })) },
    { name: 'token-stateless-2w', baseline: 'baseline-pg', server: servers.twoWorkers, gym: false, ...me, rotation: tokens },
  ];
}

/**
 * `me` with a token never presented before on every request, minted ahead of each run, so that the price of
 * checking a signature stays visible whatever a cache in front of it does.
 */
function coldTokens({ servers, identities, settings }: ScenarioInputs): Scenario {
  let current: Rotation | null = null;
  return {
    name: 'token-cold',
    operation: OPERATIONS.me,
    baseline: 'baseline',
    server: servers.stateless,
    gym: true,
    body: requestBody(ME),
    check: (member) => checkMe(member!),
    countSql: true,
    freshCredentials: true,
    rotation: () => {
      if (!current) throw new Error('token-cold: no tokens minted yet');
      return current;
    },
    async prepare(runSeconds, observedRps) {
      // Enough for the fastest this operation has gone, with room to spare; a run that still runs out is reported.
      const expected = Math.max(observedRps('token-stateless'), observedRps('token-cold'), 3_000);
      const count = Math.ceil(expected * runSeconds * 1.5) + 100 * settings.connections;
      const minted = await servers.stateless.call('mint-tokens', { memberIds: identities.map((m) => m.id), count });
      current = new Rotation(identities, (i) => bearer(minted[i]!), minted.length);
    },
  };
}

/** About `loginsPerSecond` real password logins (mode TOKEN), by members other than those whose tokens are read. */
function logins({ servers, data, identities, settings }: ScenarioInputs): NonNullable<Scenario['alongside']> {
  const others = data.members.slice(identities.length);
  const rotation = new Rotation(others, () => ({}));
  const loginBody = (member: BenchMember) => requestBody(LOGIN, { email: member.email, password: BENCH_PASSWORD });
  return {
    name: 'logins',
    target: { url: servers.stateless.url, body: loginBody(others[0]!), vary: () => ({ body: loginBody(rotation.next().member) }) },
    rate: settings.loginsPerSecond,
    // A login takes tens of milliseconds of hashing: a few connections sustain the rate without queueing.
    connections: 4,
    check: checkLogin,
  };
}
