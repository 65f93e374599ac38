import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { graphql, type GraphQLSchema } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { AUTHORIZATION_REPORT_PATH, authorizationReport } from '../../src/cli/auth-report/authorization-md.js';
import { AuthSchemaError } from '../../src/shared/errors.js';
import { describeAuthorization, renderAuthorizationMarkdown } from '../../src/cli/auth-report/describe.js';
import { applyAuthDirective, type GuardContext } from '../../src/shared/directive.js';
import { ROOT } from '../../src/shared/paths.js';

const DIRECTIVES = /* GraphQL */ `
  enum Role { MEMBER STAFF ADMIN }
  directive @auth(requires: Role = MEMBER, self: String, scopes: [String!]) on OBJECT | FIELD_DEFINITION
  directive @public on FIELD_DEFINITION
`;

function build(sdl: string, resolvers: Record<string, unknown> = {}): GraphQLSchema {
  return applyAuthDirective(makeExecutableSchema({ typeDefs: [DIRECTIVES, sdl], resolvers: resolvers as never }));
}

/** `coordinate → requirement` for every row of the report. */
function requirements(schema: GraphQLSchema): Record<string, string> {
  return Object.fromEntries(describeAuthorization(schema).flatMap((t) => t.fields.map((f) => [f.coordinate, f.requirement])));
}

function guards(schema: GraphQLSchema): Record<string, string> {
  return Object.fromEntries(describeAuthorization(schema).flatMap((t) => t.fields.map((f) => [f.coordinate, f.guards])));
}

describe('schema/AUTHORIZATION.md', () => {
  it('is what the schemas as served produce', () => {
    const committed = (() => {
      try {
        return readFileSync(AUTHORIZATION_REPORT_PATH, 'utf8');
      } catch {
        return '(missing)';
      }
    })();
    expect(committed, 'schema/AUTHORIZATION.md is out of date: run `npm run auth:report` and commit the file').toBe(authorizationReport());
  });

  it('shows the gym\'s Node.id with the guard each type gives it, not as unguarded', () => {
    const report = authorizationReport();
    const row = report.split('\n').find((line) => line.startsWith('| `Node.id` |'));
    expect(row).toMatch(/on CheckIn: the member themself \(`memberId`\), or STAFF/);
    expect(row).toMatch(/on Member: the member themself \(`id`\), or STAFF/);
    expect(row).toMatch(/on Plan: none/);
    expect(report).toMatch(/\| `Member\.id` \| the member themself \(`id`\), or STAFF \| .*through Node\.id: none of its own \|/);
  });
});

describe('npm run auth:report -- --check', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keycard-auth-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) =>
    promisify(execFile)(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli/auth-report.ts', ...args], { cwd: ROOT }).then(
      (r) => ({ code: 0, ...r }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
    );

  it('passes on an up-to-date report, fails on a stale one telling the developer what to run, and writes nothing', async () => {
    const fresh = path.join(dir, 'fresh.md');
    const stale = path.join(dir, 'stale.md');
    writeFileSync(fresh, authorizationReport());
    writeFileSync(stale, authorizationReport().replace('| `Mutation.setRole` | ADMIN |', '| `Mutation.setRole` | public |'));
    const [ok, refused, missing] = await Promise.all([run('--check', fresh), run('--check', stale), run('--check', path.join(dir, 'none.md'))]);
    expect(ok.code).toBe(0);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/does not match the schema: run `npm run auth:report`/);
    expect(missing.code).toBe(1);
    expect(readFileSync(stale, 'utf8')).toContain('| `Mutation.setRole` | public |');
  });

  it('writes the report where it is told, and prints every coordinate with its requirement', async () => {
    const out = path.join(dir, 'written.md');
    const result = await run(out);
    expect(result.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(authorizationReport());
    expect(result.stdout).toMatch(/Mutation\.setRole\s+ADMIN/);
    expect(result.stdout).toMatch(/Mutation\.swim\s+MEMBER, with scope pool:swim/);
  });
});

describe('the authorization report', () => {
  const profile = (fieldGuard: string) => `
    type Query { profile(id: ID!): Profile @auth(requires: STAFF, self: "id"), open: Int @public }
    type Profile @auth { ownerId: ID!, name: String, diary: String ${fieldGuard} }`;

  it('names each kind of requirement: public, role, the member themself or a role, scopes, and none', () => {
    const schema = build(`
      type Query { open: Int @public, mine(id: ID!): Box @auth(requires: STAFF, self: "id"), swim: Int @auth(scopes: ["pool:swim"]), admin: Int @auth(requires: ADMIN) }
      type Box { label: String }`);
    expect(requirements(schema)).toEqual({
      'Query.admin': 'ADMIN',
      'Query.mine': 'the member themself (`id`), or STAFF',
      'Query.open': 'public',
      'Query.swim': 'MEMBER, with scope `pool:swim`',
      'Box.label': 'none',
    });
  });

  it('shows a changed guard in the rows it changes and nowhere else', () => {
    const before = renderAuthorizationMarkdown([{ title: 'Gym', schema: build(profile('')) }]).split('\n');
    const after = renderAuthorizationMarkdown([{ title: 'Gym', schema: build(profile('@auth(requires: ADMIN)')) }]).split('\n');
    const changed = after.filter((line, i) => line !== before[i]);
    expect(before.length).toBe(after.length);
    expect(changed).toEqual(['| `Profile.diary` | ADMIN | `@auth` on Profile; `@auth(requires: ADMIN)` on the field |']);
    expect(before).toContain('| `Profile.diary` | MEMBER | `@auth` on Profile |');
  });

  it('combines a type guard and a field guard, leaving out what the stricter one already implies', () => {
    const schema = build(profile('@auth(requires: STAFF, self: "ownerId", scopes: ["diary:read"])'));
    expect(requirements(schema)['Profile.diary']).toBe('the member themself (`ownerId`), or STAFF, with scope `diary:read`');
    // Two guards neither of which implies the other are both shown: both must pass.
    const both = build(`type Query { p: P @public } type P @auth(requires: STAFF, self: "a") { x: Int @auth(requires: STAFF, self: "b") }`);
    expect(requirements(both)['P.x']).toBe('the member themself (`a`), or STAFF and the member themself (`b`), or STAFF');
  });

  it('lists, for an interface field without a guard of its own, the guard of each type that implements it', () => {
    const schema = build(`
      type Query { things: [Thing!]! @public }
      interface Thing { id: ID! }
      type Plan implements Thing { id: ID! }
      type Locker implements Thing @auth(requires: STAFF, self: "ownerId") { id: ID!, ownerId: ID! }`);
    expect(requirements(schema)['Thing.id']).toBe('on Locker: the member themself (`ownerId`), or STAFF; on Plan: none');
    expect(guards(schema)['Thing.id']).toBe("none of its own on the interface field; each implementation's guard applies");
    // Both guards on the implementation: its own and the interface field's.
    expect(guards(schema)['Locker.id']).toBe('`@auth(requires: STAFF, self: "ownerId")` on Locker; through Thing.id: none of its own');
  });

  it('keeps each member type\'s guard in a union, in the report and when the union is queried', async () => {
    const schema = build(
      `type Query { search: [Result!]! @public }
       union Result = Secret | Note
       type Secret @auth(requires: STAFF) { code: Int }
       type Note { text: String }`,
      {
        Query: { search: () => [{ __typename: 'Secret', code: 7 }, { __typename: 'Note', text: 'hi' }] },
        Result: { __resolveType: (obj: { __typename: string }) => obj.__typename },
      },
    );
    expect(describeAuthorization(schema).find((t) => t.name === 'Result')).toMatchObject({
      kind: 'union',
      related: ['Note', 'Secret'],
      fields: [
        { coordinate: 'Note', requirement: 'none' },
        { coordinate: 'Secret', requirement: 'STAFF' },
      ],
    });
    expect(requirements(schema)['Secret.code']).toBe('STAFF');
    const query = '{ search { ... on Secret { code } ... on Note { text } } }';
    const asMember: GuardContext = { viewer: { memberId: 1, role: 'MEMBER', scopes: [] }, authFailure: null };
    const asStaff: GuardContext = { viewer: { memberId: 2, role: 'STAFF', scopes: [] }, authFailure: null };
    const refused = await graphql({ schema, source: query, contextValue: asMember });
    expect(refused.data).toEqual({ search: [{ code: null }, { text: 'hi' }] });
    expect(refused.errors?.map((e) => e.extensions.code)).toEqual(['FORBIDDEN']);
    expect((await graphql({ schema, source: query, contextValue: asStaff })).data).toEqual({ search: [{ code: 7 }, { text: 'hi' }] });
  });

  it('applies each type\'s guard to a field selected on the interface itself', async () => {
    const schema = build(
      `type Query { things: [Thing!]! @public }
       interface Thing { id: ID! }
       type Plan implements Thing { id: ID! }
       type Locker implements Thing @auth(requires: STAFF) { id: ID! }`,
      {
        Query: { things: () => [{ __typename: 'Plan', id: 'p' }, { __typename: 'Locker', id: 'l' }] },
        Thing: { __resolveType: (obj: { __typename: string }) => obj.__typename },
      },
    );
    const anonymous = await graphql({ schema, source: '{ things { id } }', contextValue: { viewer: null, authFailure: null } });
    expect(anonymous.data).toBeNull(); // Locker.id is non-null: its refusal nulls the list, as it should.
    expect(anonymous.errors?.map((e) => [e.path, e.extensions.code])).toEqual([[['things', 1, 'id'], 'UNAUTHENTICATED']]);
  });
});

describe('interface fields at build time', () => {
  it('refuses @public on an interface field that an implementation guards', () => {
    const attempt = () =>
      build(`
        type Query { things: [Thing!]! @public }
        interface Thing { id: ID! @public }
        type Plan implements Thing { id: ID! }
        type Locker implements Thing @auth(requires: STAFF) { id: ID! }`);
    expect(attempt).toThrow(AuthSchemaError);
    expect(attempt).toThrow(/Thing\.id is looser than Locker\.id, which implements it/);
  });

  it('accepts @public on an interface field that no implementation guards', () => {
    expect(() => build(`type Query { things: [Thing!]! @public } interface Thing { id: ID! @public } type Plan implements Thing { id: ID! }`)).not.toThrow();
  });

  it('accepts an interface field guarded as "the member themself, or STAFF" on a type that is also signed-in only', () => {
    // The owner a self rule admits is signed in, so the type's plain @auth adds nothing: the guards match.
    expect(() =>
      build(`
        type Query { things: [Thing!]! @public }
        interface Thing { diary: String @auth(requires: STAFF, self: "ownerId") }
        type Locker implements Thing @auth { ownerId: ID!, diary: String @auth(requires: STAFF, self: "ownerId") }`),
    ).not.toThrow();
  });
});
