import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { sessionClient, type Client } from '../helpers/client.js';

describe('lists: pages, search and query counts', () => {
  let app: TestApp;
  let staff: Client;
  beforeAll(async () => {
    app = await startTestApp();
    staff = await sessionClient(app.url, 'staff');
  });
  afterAll(() => app.close());

  /** Runs a query and returns its data with the number of SQL statements it took. */
  async function measured(query: string) {
    app.queries.length = 0;
    const res = await staff.gql(query);
    expect(res.errors).toBeUndefined();
    return { data: res.data, statements: app.queries.length };
  }

  it('pages through every member with cursors, oldest first, without repeats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await staff.gql(`query($after: String) { members(first: 3, after: $after) { edges { cursor node { email } } pageInfo { hasNextPage endCursor } } }`, { after });
      seen.push(...res.data.members.edges.map((e: any) => e.node.email));
      if (!res.data.members.pageInfo.hasNextPage) break;
      after = res.data.members.pageInfo.endCursor;
    }
    expect(seen).toEqual(['admin@keycard.test', 'staff@keycard.test', 'alice@keycard.test', 'bob@keycard.test']);
  });

  it('searches names and emails in any case, treating % and _ literally', async () => {
    const search = async (text: string) =>
      (await staff.gql(`query($s: String) { members(search: $s) { edges { node { name } } } }`, { s: text })).data.members.edges.map((e: any) => e.node.name);
    expect(await search('ALICE')).toEqual(['Alice Member']);
    expect(await search('member')).toEqual(['Alice Member', 'Bob Member']);
    expect(await search('%')).toEqual([]);
    expect(await search('_')).toEqual([]);
    // The escape character and a backslash are ordinary characters too.
    expect(await search('!')).toEqual([]);
    expect(await search('\\')).toEqual([]);
    expect(await search('!%')).toEqual([]);
  });

  it('shows the access sheet newest first and pages it without overlap', async () => {
    const page = async (after: string | null) =>
      (await staff.gql(`query($a: String) { checkIns(first: 10, after: $a) { edges { node { id at } } pageInfo { endCursor hasNextPage } } }`, { a: after })).data.checkIns;
    const first = await page(null);
    const second = await page(first.pageInfo.endCursor);
    const times = [...first.edges, ...second.edges].map((e: any) => new Date(e.node.at).getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const ids = [...first.edges, ...second.edges].map((e: any) => e.node.id);
    expect(new Set(ids).size).toBe(20);
    expect(second.pageInfo.hasNextPage).toBe(true);
  });

  it('loads a page of 50 check-ins with member names in the same few statements as a page of 5 (no N+1)', async () => {
    const q = (n: number) => `{ checkIns(first: ${n}) { edges { node { at member { name email membership { status plan { code } } } } } } }`;
    const small = await measured(q(5));
    const large = await measured(q(50));
    expect(large.data.checkIns.edges).toHaveLength(50);
    expect(new Set(large.data.checkIns.edges.map((e: any) => e.node.member.name)).size).toBeGreaterThan(1);
    expect(large.statements).toBe(small.statements);
    expect(large.statements).toBeLessThanOrEqual(8);
  });

  it('batches each member’s own check-ins across a page of members', async () => {
    const q = (n: number) => `{ members(first: ${n}) { edges { node { name checkIns(first: 3) { edges { node { at door } } pageInfo { hasNextPage } } } } } }`;
    const one = await measured(q(1));
    const four = await measured(q(4));
    const pages = four.data.members.edges.map((e: any) => e.node.checkIns.edges.length);
    expect(pages).toEqual([3, 3, 3, 3]);
    expect(four.statements).toBe(one.statements);
  });
});
