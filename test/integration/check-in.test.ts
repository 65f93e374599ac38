import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, codes, sessionClient } from '../helpers/client.js';

/** A real IANA zone (Etc/GMT±N) whose wall clock reads `hour` right now, so the real clock decides. */
function zoneWhereItIs(hour: number): string {
  const offset = ((hour - new Date().getUTCHours() + 36) % 24) - 12;
  if (offset === 0) return 'Etc/GMT';
  // POSIX-style names: Etc/GMT-5 is five hours *ahead* of UTC.
  return offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

const CHECK_IN = `mutation($door: String) { checkIn(door: $door) { id at door method member { name } } }`;

async function newMemberWithPlan(app: TestApp, plan: 'BASIC' | 'ALL_HOURS' | null, validDays = 30): Promise<Client> {
  const email = `m${Math.random().toString(36).slice(2)}@example.com`;
  const client = new Client(app.url);
  const signUp = await client.gql(`mutation($email: String!) { signUp(input: { email: $email, password: "a long and unusual passphrase", name: "New", mode: SESSION }) { member { id } } }`, { email });
  if (plan) {
    const staff = await sessionClient(app.url, 'staff');
    const set = await staff.gql(`mutation($input: SetMembershipInput!) { setMembership(input: $input) { status plan { code } } }`, {
      input: { memberId: signUp.data.signUp.member.id, plan, validUntil: new Date(Date.now() + validDays * 86_400_000).toISOString() },
    });
    expect(set.data.setMembership.plan.code).toBe(plan);
  }
  return client;
}

describe('checking in at night (outside staffed hours)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { GYM_TIMEZONE: zoneWhereItIs(3) } });
  });
  afterAll(() => app.close());

  it('admits an active ALL_HOURS member and writes the access sheet', async () => {
    const alice = await sessionClient(app.url, 'alice');
    const res = await alice.gql(CHECK_IN, { door: ' north ' });
    expect(res.errors).toBeUndefined();
    expect(res.data.checkIn).toMatchObject({ door: 'north', method: 'SESSION', member: { name: 'Alice Member' } });
    expect(Math.abs(new Date(res.data.checkIn.at).getTime() - Date.now())).toBeLessThan(5_000);
    const staff = await sessionClient(app.url, 'staff');
    const sheet = await staff.gql(`{ checkIns(first: 1) { edges { node { id door member { name } } } } }`);
    expect(sheet.data.checkIns.edges[0].node).toEqual({ id: res.data.checkIn.id, door: 'north', member: { name: 'Alice Member' } });
  });

  it('refuses an expired membership with MEMBERSHIP_INACTIVE before looking at the hour', async () => {
    const bob = await sessionClient(app.url, 'bob');
    const res = await bob.gql(CHECK_IN);
    expect(codes(res)).toEqual(['MEMBERSHIP_INACTIVE']);
    expect(res.data).toBeNull();
  });

  it('refuses a member with no membership at all with MEMBERSHIP_INACTIVE', async () => {
    expect(codes(await (await newMemberWithPlan(app, null)).gql(CHECK_IN))).toEqual(['MEMBERSHIP_INACTIVE']);
  });

  it('refuses an active BASIC member with OUTSIDE_PLAN_HOURS and writes nothing', async () => {
    const before = ((await app.database.sql.get('select count(*) n from check_ins')) as { n: number }).n;
    const res = await (await newMemberWithPlan(app, 'BASIC')).gql(CHECK_IN);
    expect(codes(res)).toEqual(['OUTSIDE_PLAN_HOURS']);
    expect(((await app.database.sql.get('select count(*) n from check_ins')) as { n: number }).n).toBe(before);
  });

  it('refuses a door name that is too long, naming the argument', async () => {
    const alice = await sessionClient(app.url, 'alice');
    const res = await alice.gql(CHECK_IN, { door: 'x'.repeat(65) });
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'door' });
  });

  it('refuses a door name with text-direction or invisible characters: it stands on the access sheet beside names', async () => {
    const alice = await sessionClient(app.url, 'alice');
    const before = ((await app.database.sql.get('select count(*) n from check_ins')) as { n: number }).n;
    for (const door of ['main\u202Eniam', 'ma\u200Bin']) {
      const res = await alice.gql(CHECK_IN, { door });
      expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'door' });
    }
    expect(((await app.database.sql.get('select count(*) n from check_ins')) as { n: number }).n).toBe(before);
  });
});

describe('checking in at noon (staffed hours)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { GYM_TIMEZONE: zoneWhereItIs(12) } });
  });
  afterAll(() => app.close());

  it('admits an active BASIC member', async () => {
    const res = await (await newMemberWithPlan(app, 'BASIC')).gql(CHECK_IN, { door: 'main' });
    expect(res.errors).toBeUndefined();
    expect(res.data.checkIn).toMatchObject({ door: 'main', method: 'SESSION' });
  });

  it('still refuses an expired membership', async () => {
    expect(codes(await (await sessionClient(app.url, 'bob')).gql(CHECK_IN))).toEqual(['MEMBERSHIP_INACTIVE']);
  });

  it('refuses a membership that ran out a moment ago', async () => {
    const client = await newMemberWithPlan(app, 'ALL_HOURS', -1 / 86_400);
    expect(codes(await client.gql(CHECK_IN))).toEqual(['MEMBERSHIP_INACTIVE']);
  });
});
