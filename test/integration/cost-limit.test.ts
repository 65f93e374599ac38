import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HIDDEN_LIMIT_MESSAGE, OPERATION_COST_BUDGET } from '../../src/shared/limits.js';
import { bearer, Client, DEMO, signInWithKeycard, type DemoName, type GqlResponse } from '../helpers/client.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { gymWithPool } from '../helpers/pool.js';

/**
 * The cost limit (schema/README.md, "Authorization"): an operation that would fetch more than the budget is refused before it runs,
 * with list sizes read from `first` (literal or variable) and the default page when it is absent.
 */

/** Alice's own check-ins, each leading back to alice and her check-ins again: 100 x 100 objects from one member. */
const NESTED_PAGES = `me { checkIns(first: 100) { edges { node { member { checkIns(first: 100) { edges { node { at door } } } } } } } }`;

/** STAFF: a page of members, each with a page of check-ins. */
const NESTED_MEMBERS = (first: string) => `members(first: ${first}) { edges { node { checkIns(first: ${first}) { edges { node { member { name } } } } } } }`;

async function signIn(app: TestApp, who: DemoName): Promise<Client> {
  const client = new Client(app.url);
  client.headers = bearer((await signInWithKeycard(app.url, who)).accessToken);
  return client;
}

/** Enough check-ins that every nested page above is full: 150 for alice, 150 spread over everyone. */
async function seedCheckIns(app: TestApp): Promise<void> {
  const alice = (await app.database.data.members.byEmail(DEMO.alice.email))!.id;
  const ids = (await app.database.sql.all<{ id: number }>('select id from members')).map((m) => m.id);
  const at = (i: number) => new Date(Date.now() - i * 60_000);
  await app.database.data.checkIns.insertMany([
    ...Array.from({ length: 150 }, (_, i) => ({ memberId: alice, at: at(i), door: 'main', method: 'TOKEN' as const })),
    ...Array.from({ length: 150 }, (_, i) => ({ memberId: ids[i % ids.length]!, at: at(i + 150), door: 'main', method: 'TOKEN' as const })),
  ]);
}

function expectRefused(res: GqlResponse): void {
  expect(res.status).toBe(400);
  expect(res.data ?? null).toBeNull();
  expect(res.errors).toHaveLength(1);
  expect(res.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
}

describe('the cost limit', () => {
  let app: TestApp;
  let alice: Client;
  let staff: Client;
  beforeAll(async () => {
    app = await startTestApp();
    await seedCheckIns(app);
    [alice, staff] = await Promise.all([signIn(app, 'alice'), signIn(app, 'staff')]);
  });
  afterAll(() => app.close());

  it('refuses a member’s nested pages before running them: no data, no row read, the cost and the budget named', async () => {
    app.queries.length = 0;
    const started = performance.now();
    const res = await alice.gql(`{ ${NESTED_PAGES} }`);
    const elapsedMs = performance.now() - started;
    expectRefused(res);
    // 1 (me) + 1 + 100 x (edge, check-in, member, 1 + 100 x (edge, check-in)).
    expect(res.errors![0]!.message).toBe(
      `Cost limit of ${OPERATION_COST_BUDGET} exceeded, found 20402: each object costs 1, and a field taking \`first\` ` +
        'costs its page size (20 when absent) times one item.',
    );
    expect(app.queries.filter((sql) => /check_ins|members/.test(sql))).toEqual([]);
    expect(elapsedMs).toBeLessThan(1000);
  });

  it('refuses aliases that multiply nested pages, as STAFF too', async () => {
    const aliased = await staff.gql(`{ ${Array.from({ length: 3 }, (_, i) => `a${i}: ${NESTED_MEMBERS('100')}`).join(' ')} }`);
    expectRefused(aliased);
    // 3 x (1 + 100 x (edge, member, 1 + 100 x (edge, check-in, member))).
    expect(aliased.errors![0]!.message).toMatch(/^Cost limit of 5000 exceeded, found 90903:/);
    // One page of 100 check-ins with their plans fits (cost 502); fifteen aliases of it do not.
    const page = 'me { checkIns(first: 100) { edges { node { member { membership { plan { code } } } } } } }';
    expect((await alice.gql(`{ ${page} }`)).errors).toBeUndefined();
    expectRefused(await alice.gql(`{ ${Array.from({ length: 15 }, (_, i) => `a${i}: ${page}`).join(' ')} }`));
  });

  it('reads `first` from variables: the same document is refused with 100 and answered with 3', async () => {
    const document = `query Nested($n: Int) { ${NESTED_MEMBERS('$n')} }`;
    app.queries.length = 0;
    const refused = await staff.gql(document, { n: 100 });
    expectRefused(refused);
    expect(app.queries.filter((sql) => /check_ins|members/.test(sql))).toEqual([]);
    const answered = await staff.gql(document, { n: 3 });
    expect(answered.errors).toBeUndefined();
    expect(answered.data.members.edges).toHaveLength(3);
    // A variable that is not an Int is bad input, as it always was, not a cost refusal.
    const bad = await staff.gql(document, { n: 'ten' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('judges bad variables at the cost of one error: thousands of unknown fields are bad input, answered at once', async () => {
    const unknown = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`f${i}`, [0]]));
    const started = performance.now();
    const res = await new Client(app.url).gql('mutation ($input: LoginInput!) { login(input: $input) { method } }', {
      input: { ...DEMO.alice, ...unknown },
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('counts a list without `first` at the default page of 20', async () => {
    const nested = (first: string) =>
      `{ members(first: 100) { edges { node { name checkIns${first} { edges { node { at door } } pageInfo { hasNextPage } } } } } }`;
    const byDefault = await staff.gql(nested(''));
    expectRefused(byDefault);
    expect(byDefault.errors![0]!.message).toMatch(/found 6301:/);
    const ten = await staff.gql(nested('(first: 10)'));
    expect(ten.errors).toBeUndefined();
  });

  it('lets the big legitimate operations through, side by side with refused ones', async () => {
    const accessSheet = `{ checkIns(first: 100) { edges { cursor node { id at door method member { name email membership { status validUntil plan { code name } } } } }
      pageInfo { hasNextPage endCursor } } }`;
    const memberList = `{ members(first: 100) { edges { cursor node { id name email role status createdAt membership { status plan { code } }
      checkIns(first: 10) { edges { node { at door } } pageInfo { hasNextPage } } } } pageInfo { hasNextPage endCursor } } }`;
    const [sheet, members, introspection, refused] = await Promise.all([
      staff.gql(accessSheet),
      staff.gql(memberList),
      new Client(app.url).gql(getIntrospectionQuery()),
      alice.gql(`{ ${NESTED_PAGES} }`),
    ]);
    expect(sheet.errors).toBeUndefined();
    expect(sheet.data.checkIns.edges).toHaveLength(100);
    expect(sheet.data.checkIns.edges.every((e: any) => e.node.member.name)).toBe(true);
    expect(members.errors).toBeUndefined();
    expect(members.data.members.edges.length).toBeGreaterThanOrEqual(4);
    expect(members.data.members.edges.some((e: any) => e.node.checkIns.edges.length === 10)).toBe(true);
    // The standard introspection query (Sandbox, codegen) is exempt where introspection is on, as from every limit.
    expect(introspection.errors).toBeUndefined();
    expect(introspection.data.__schema.queryType.name).toBe('Query');
    expectRefused(refused);
  });

  it('counts hand-written introspection by the lengths of this schema’s lists', async () => {
    // Aliased, so not the exempt introspection query: each costs 2965 here, so one passes and two do not.
    const everyArgument = '__schema { types { fields { args { type { name } } } } }';
    expect((await new Client(app.url).gql(`{ a: ${everyArgument} }`)).errors).toBeUndefined();
    const twice = await new Client(app.url).gql(`{ a: ${everyArgument} b: ${everyArgument} }`);
    expectRefused(twice);
    expect(twice.errors![0]!.message).toMatch(/^Cost limit of 5000 exceeded, found 5930:/);
  });

  it('refuses, at once, fragments that would take exponential time to cost', async () => {
    const fragments = Array.from({ length: 24 }, (_, i) => `fragment F${i} on Member { ...F${i + 1} ...F${i + 1} }`).join(' ');
    const document = `query Bomb($show: Boolean!) { me @include(if: $show) { ...F0 } } ${fragments} fragment F24 on Member { name }`;
    const started = performance.now();
    const res = await alice.gql(document, { show: true });
    expectRefused(res);
    expect(res.errors![0]!.message).toMatch(/^Cost limit of 5000 exceeded: more than 2000 selections/);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('the cost limit in production', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { NODE_ENV: 'production' } });
    await seedCheckIns(app);
  });
  afterAll(() => app.close());

  it('refuses as before, without saying which limit or the numbers', async () => {
    const alice = await signIn(app, 'alice');
    const res = await alice.gql(`{ ${NESTED_PAGES} }`);
    expectRefused(res);
    expect(res.errors![0]!.message).toBe(HIDDEN_LIMIT_MESSAGE);
    expect(JSON.stringify(res.errors)).not.toMatch(/cost|budget|first|\d/i);
    const page = await alice.gql('{ me { checkIns(first: 100) { edges { node { at } } } } }');
    expect(page.errors).toBeUndefined();
    expect(page.data.me.checkIns.edges).toHaveLength(100);
  });
});

describe('the cost limit at the pool', () => {
  const servers = gymWithPool();

  it('holds there too: the introspection query passes, aliases that multiply its lists do not', async () => {
    const standard = await new Client(servers.pool.url).gql(getIntrospectionQuery());
    expect(standard.errors).toBeUndefined();
    const nestedTypes = '__schema { types { fields { type { fields { name } } } } }';
    expect((await new Client(servers.pool.url).gql(`{ a: ${nestedTypes} }`)).errors).toBeUndefined();
    const aliased = await new Client(servers.pool.url).gql(`{ a: ${nestedTypes} b: ${nestedTypes} c: ${nestedTypes} }`);
    expectRefused(aliased);
    expect(aliased.errors![0]!.message).toMatch(/^Cost limit of 5000 exceeded/);
  });
});
