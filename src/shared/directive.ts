import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  isInterfaceType,
  isObjectType,
  type GraphQLFieldConfig,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { AuthSchemaError, ForbiddenError, UnauthenticatedError, type TokenFailureReason } from './errors.js';
import { roleAtLeast, roleRank, type RoleName } from './roles.js';

/** One `@auth` as written in the SDL. */
export interface AuthRule {
  requires: RoleName;
  /** Where the owning member's id is: an argument (root fields) or a property of the parent object. */
  self?: string;
  scopes: string[];
}

/** The little the directive needs to know about a request; the gym's and the pool's contexts both provide it. */
export interface GuardContext {
  viewer: { memberId: number | string; role: RoleName; scopes: readonly string[] } | null;
  authFailure: { reason: TokenFailureReason } | null;
}

export interface AuthDirectiveOptions {
  /** Turns the value of a root field's `self` argument (a global ID) into the id a viewer carries, or null. */
  memberIdFromArgument?: (value: unknown) => number | string | null;
}

/** The `@auth` on a type or field, or undefined; the same reading the guard and the authorization report use. */
export function ruleOf(schema: GraphQLSchema, node: Parameters<typeof getDirective>[1]): AuthRule | undefined {
  const found = getDirective(schema, node, 'auth')?.[0];
  if (!found) return undefined;
  return {
    requires: (found.requires ?? 'MEMBER') as RoleName,
    ...(found.self ? { self: found.self as string } : {}),
    scopes: (found.scopes ?? []) as string[],
  };
}

/** Whether a field carries `@public`. */
export function isPublic(schema: GraphQLSchema, node: Parameters<typeof getDirective>[1]): boolean {
  return Boolean(getDirective(schema, node, 'public')?.length);
}

function rootTypeNames(schema: GraphQLSchema): Set<string> {
  return new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((t) => (t ? [t.name] : [])));
}

/**
 * Whether every caller `strict` lets through (on one field of one object) `loose` lets through too. The owner a
 * `self` rule admits is a signed-in member, so that rule implies any rule of MEMBER, and one on the same property.
 */
export function ruleImplies(strict: AuthRule, loose: AuthRule): boolean {
  if (!loose.scopes.every((scope) => strict.scopes.includes(scope))) return false;
  if (roleRank(strict.requires) < roleRank(loose.requires)) return false;
  return strict.self === undefined || loose.requires === 'MEMBER' || strict.self === loose.self;
}

/** Is `strict` (all of its rules) at least as strict as `loose` (all of its rules); an empty list is open to anyone. */
function atLeastAsStrict(strict: AuthRule[], loose: AuthRule[]): boolean {
  return loose.every((l) => strict.some((s) => ruleImplies(s, l)));
}

/**
 * The rules the schema must satisfy before it is served, each failure naming the fields at fault:
 * - default deny: every field of Query, Mutation and Subscription carries @auth or @public;
 * - @public never inside a type with @auth, nor beside @auth on one field;
 * - where an interface field carries @auth or @public, each implementation's guard matches it: an implementation
 *   looser than its interface would serve what the interface promises to guard; an interface looser than an
 *   implementation would advertise access the type does not give. An interface field with neither declares no guard
 *   of its own: each implementation's applies where it is resolved, and the authorization report lists them by type
 *   (Node.id: a Plan's is public, a Member's and a CheckIn's are not), so no single declaration could be honest.
 */
function assertAuthCoverage(schema: GraphQLSchema): void {
  const problems: string[] = [];
  const roots = rootTypeNames(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    const typeRule = isObjectType(type) ? ruleOf(schema, type) : undefined;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const fieldRule = ruleOf(schema, field);
      const open = isPublic(schema, field);
      if (open && fieldRule) problems.push(`${coordinate} has both @public and @auth`);
      if (open && typeRule) problems.push(`${coordinate} is @public inside ${type.name}, which has @auth`);
      if (roots.has(type.name) && !open && !fieldRule) problems.push(`${coordinate} has neither @auth nor @public (default deny)`);
    }
    if (isObjectType(type)) {
      for (const iface of type.getInterfaces()) {
        for (const ifaceField of Object.values(iface.getFields())) {
          const required = ruleOf(schema, ifaceField);
          const field = type.getFields()[ifaceField.name];
          if (!field || (!required && !isPublic(schema, ifaceField))) continue;
          const declared = required ? [required] : [];
          const actual = [typeRule, ruleOf(schema, field)].filter((r): r is AuthRule => Boolean(r));
          if (!atLeastAsStrict(actual, declared)) {
            problems.push(`${type.name}.${field.name} is looser than ${iface.name}.${ifaceField.name} requires`);
          } else if (!atLeastAsStrict(declared, actual)) {
            problems.push(`${iface.name}.${ifaceField.name} is looser than ${type.name}.${field.name}, which implements it`);
          }
        }
      }
    }
  }
  if (problems.length > 0) throw new AuthSchemaError(`The schema's authorization is unsafe:\n  - ${problems.join('\n  - ')}`);
}

/**
 * Applies `@auth` to a built schema (graphql-tools' mapSchema + getDirective, applied last so it wraps the real
 * resolvers). Each guarded field's resolver first checks its type's rule and then its own: both must pass.
 * Anonymous callers get UNAUTHENTICATED (with the reason when they presented a bad token), signed-in callers
 * without the role or scope get FORBIDDEN; the field is null and the rest of the operation answers.
 *
 * Because execution always runs the concrete type's resolvers, a type's guard holds however the object is
 * reached: directly, through `node`, an interface, a union, an alias or a fragment.
 */
export function applyAuthDirective(schema: GraphQLSchema, options: AuthDirectiveOptions = {}): GraphQLSchema {
  assertAuthCoverage(schema);
  const roots = rootTypeNames(schema);
  const fromArgument = options.memberIdFromArgument ?? ((value: unknown) => (value === undefined || value === null ? null : String(value)));
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, _fieldName, typeName) => {
      const type = schema.getType(typeName) as GraphQLNamedType;
      const rules = [ruleOf(schema, type as never), ruleOf(schema, field as never)].filter((r): r is AuthRule => Boolean(r));
      if (rules.length === 0) return field;
      const onRoot = roots.has(typeName);
      return guard(field, rules, onRoot, fromArgument);
    },
  });
}

/** Where a guarded field keeps its check, for {@link stillPasses}. */
const GUARD = 'keycardGuard';

type GuardCheck = (viewer: GuardContext['viewer'], args: unknown, source: unknown) => boolean;

function guard(
  field: GraphQLFieldConfig<unknown, GuardContext>,
  rules: AuthRule[],
  onRoot: boolean,
  fromArgument: (value: unknown) => number | string | null,
): GraphQLFieldConfig<unknown, GuardContext> {
  const resolve: GraphQLFieldResolver<unknown, GuardContext> = field.resolve ?? defaultFieldResolver;
  const subscribe = field.subscribe;
  const allows = (viewer: NonNullable<GuardContext['viewer']>, args: unknown, source: unknown) =>
    rules.every((rule) => {
      const owner = rule.self === undefined ? null : onRoot ? fromArgument((args as Record<string, unknown>)[rule.self]) : ownerOf(rule, source);
      return passes(rule, viewer, owner);
    });
  const check = (source: unknown, args: unknown, { viewer, authFailure }: GuardContext) => {
    if (!viewer) throw new UnauthenticatedError(authFailure?.reason);
    if (!allows(viewer, args, source)) throw new ForbiddenError();
  };
  const stillAllows: GuardCheck = (viewer, args, source) => viewer !== null && allows(viewer, args, source);
  return {
    ...field,
    extensions: { ...field.extensions, [GUARD]: stillAllows },
    resolve(source, args, context, info) {
      check(source, args, context);
      return resolve(source, args, context, info);
    },
    // A subscription is guarded when it starts (its `subscribe`) and again for every event (its `resolve`), each time
    // with the viewer as it is then.
    ...(subscribe
      ? {
          subscribe(source, args, context, info) {
            check(source, args, context);
            return subscribe(source, args, context, info);
          },
        }
      : {}),
  };
}

/**
 * Whether `viewer` still passes the guard of the field being resolved (its type's `@auth` and its own), judged
 * exactly as the guard judges it; true for a field without one. For what outlives one execution: a subscription asks
 * again whenever its viewer is checked anew, between events.
 */
export function stillPasses(info: Pick<GraphQLResolveInfo, 'parentType' | 'fieldName'>, viewer: GuardContext['viewer'], args: unknown, source?: unknown): boolean {
  const check = info.parentType.getFields()[info.fieldName]?.extensions?.[GUARD] as GuardCheck | undefined;
  return check ? check(viewer, args, source) : true;
}

/** The member id a type's or field's `self` rule points at in its parent object, or null. */
function ownerOf(rule: AuthRule, source: unknown): unknown {
  return rule.self === undefined ? null : ((source as Record<string, unknown> | null)?.[rule.self] ?? null);
}

/** Whether a signed-in caller passes one rule; `owner` is the member id its `self` points at, or null. */
function passes(rule: AuthRule, viewer: NonNullable<GuardContext['viewer']>, owner: unknown): boolean {
  if (!rule.scopes.every((scope) => viewer.scopes.includes(scope))) return false;
  if (roleAtLeast(viewer.role, rule.requires)) return true;
  return rule.self !== undefined && owner !== null && owner !== undefined && String(owner) === String(viewer.memberId);
}

const typeRules = new WeakMap<GraphQLObjectType, AuthRule | null>();

/**
 * Whether the caller passes the guard of an object's type (its `@auth` on the type; true when it has none), judged
 * exactly as the guard on its fields judges it. For resolvers that must hide an object rather than refuse it:
 * `node(id:)` answers null for what the caller may not see, as for what does not exist, so ids cannot be probed.
 */
export function mayView(schema: GraphQLSchema, typeName: string, source: unknown, viewer: GuardContext['viewer']): boolean {
  const type = schema.getType(typeName);
  if (!isObjectType(type)) return false;
  let rule = typeRules.get(type);
  if (rule === undefined) {
    rule = ruleOf(schema, type) ?? null;
    typeRules.set(type, rule);
  }
  if (rule === null) return true;
  return viewer !== null && passes(rule, viewer, ownerOf(rule, source));
}
