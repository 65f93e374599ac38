import { makeExecutableSchema } from '@graphql-tools/schema';
import { graphql } from 'graphql';
import { describe, expect, it } from 'vitest';
import { AuthSchemaError } from '../../src/shared/errors.js';
import { applyAuthDirective, type GuardContext } from '../../src/shared/directive.js';
import { SCHEMA_DIR } from '../../src/shared/paths.js';
import { loadTypeDefs } from '../../src/shared/type-defs.js';

const DIRECTIVES = /* GraphQL */ `
  enum Role { MEMBER STAFF ADMIN }
  directive @auth(requires: Role = MEMBER, self: String, scopes: [String!]) on OBJECT | FIELD_DEFINITION
  directive @public on FIELD_DEFINITION
`;

function build(sdl: string, resolvers: Record<string, unknown> = {}) {
  return applyAuthDirective(makeExecutableSchema({ typeDefs: [DIRECTIVES, sdl], resolvers: resolvers as never }));
}

const member = (role: 'MEMBER' | 'STAFF' | 'ADMIN', memberId = 1, scopes: string[] = []): GuardContext => ({
  viewer: { memberId, role, scopes },
  authFailure: null,
});
const anonymous: GuardContext = { viewer: null, authFailure: null };

describe('the @auth directive, at build time', () => {
  it('refuses a schema with an unguarded root field, naming every such field', () => {
    const attempt = () => build(`type Query { ok: Int @public, leaky: Int, alsoLeaky: Int } type Mutation { fine: Int @auth, open: Int }`);
    expect(attempt).toThrow(AuthSchemaError);
    expect(attempt).toThrow(/Query\.leaky[\s\S]*Query\.alsoLeaky[\s\S]*Mutation\.open/);
  });

  it('refuses @public inside a guarded type', () => {
    expect(() => build(`type Query { s: Secret @auth } type Secret @auth(requires: STAFF) { code: Int @public }`)).toThrow(
      /Secret\.code is @public inside Secret/,
    );
  });

  it('refuses @public and @auth on one field', () => {
    expect(() => build(`type Query { s: Int @public @auth }`)).toThrow(/Query\.s has both @public and @auth/);
  });

  it('refuses an implementation looser than its interface field', () => {
    const sdl = `
      type Query { thing: Thing @public }
      interface Thing { secret: Int @auth(requires: STAFF) }
      type Box implements Thing { secret: Int @auth(requires: MEMBER) }`;
    expect(() => build(sdl)).toThrow(/Box\.secret is looser than Thing\.secret/);
  });

  it('refuses an interface field looser than an implementation', () => {
    const sdl = `
      type Query { thing: Thing @public }
      interface Thing { secret: Int @auth(requires: STAFF) }
      type Box implements Thing @auth(requires: ADMIN) { secret: Int }`;
    expect(() => build(sdl)).toThrow(/Thing\.secret is looser than Box\.secret, which implements it/);
  });

  it('accepts implementations whose guards match the interface field, and leaves an unguarded one to each type', () => {
    const sdl = `
      type Query { thing: Thing @public }
      interface Thing { id: ID!, secret: Int @auth(requires: STAFF) }
      type Box implements Thing @auth(requires: STAFF) { id: ID!, secret: Int }
      type Bag implements Thing { id: ID!, secret: Int @auth(requires: STAFF) }`;
    expect(() => build(sdl)).not.toThrow();
  });

  it('accepts the gym schema as written', () => {
    expect(() => applyAuthDirective(makeExecutableSchema({ typeDefs: loadTypeDefs(SCHEMA_DIR) }))).not.toThrow();
  });
});

describe('the @auth directive, at run time', () => {
  const schema = build(
    `type Query {
       open: Int @public
       staffOnly: Int @auth(requires: STAFF)
       profile(id: ID!): Profile @auth(requires: STAFF, self: "id")
       swim: Int @auth(scopes: ["pool:swim"])
     }
     type Profile @auth { ownerId: Int, secret: Int @auth(requires: ADMIN), diary: String @auth(requires: STAFF, self: "ownerId") }`,
    {
      Query: { open: () => 1, staffOnly: () => 2, profile: (_: unknown, { id }: { id: string }) => ({ ownerId: Number(id), secret: 42, diary: 'dear' }), swim: () => 3 },
    },
  );
  const run = async (query: string, ctx: GuardContext) => {
    const result = await graphql({ schema, source: query, contextValue: ctx });
    return { data: result.data, codes: (result.errors ?? []).map((e) => e.extensions.code) };
  };

  it('lets anyone through @public and refuses anonymous callers elsewhere with UNAUTHENTICATED', async () => {
    expect(await run('{ open staffOnly }', anonymous)).toEqual({ data: { open: 1, staffOnly: null }, codes: ['UNAUTHENTICATED'] });
  });

  it('says why when the caller presented a bad token', async () => {
    const result = await graphql({ schema, source: '{ staffOnly }', contextValue: { viewer: null, authFailure: { reason: 'token_expired' } } });
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'token_expired' });
  });

  it('ranks roles so that each includes the ones below it', async () => {
    expect((await run('{ staffOnly }', member('MEMBER'))).codes).toEqual(['FORBIDDEN']);
    expect((await run('{ staffOnly }', member('STAFF'))).data).toEqual({ staffOnly: 2 });
    expect((await run('{ staffOnly }', member('ADMIN'))).data).toEqual({ staffOnly: 2 });
  });

  it('lets the member themself through a self rule on a root argument, and nobody else', async () => {
    expect((await run('{ profile(id: "7") { ownerId } }', member('MEMBER', 7))).data).toEqual({ profile: { ownerId: 7 } });
    expect((await run('{ profile(id: "7") { ownerId } }', member('MEMBER', 8))).codes).toEqual(['FORBIDDEN']);
  });

  it('makes a field guard add to its type guard: both must pass', async () => {
    // The owner passes the type's guard and the field's self rule, but not ADMIN on `secret`.
    expect(await run('{ profile(id: "7") { diary secret } }', member('MEMBER', 7))).toEqual({
      data: { profile: { diary: 'dear', secret: null } },
      codes: ['FORBIDDEN'],
    });
  });

  it('requires every scope a field names', async () => {
    expect((await run('{ swim }', member('MEMBER', 1))).codes).toEqual(['FORBIDDEN']);
    expect((await run('{ swim }', member('MEMBER', 1, ['pool:swim']))).data).toEqual({ swim: 3 });
  });
});
