import {
  isInterfaceType,
  isObjectType,
  isUnionType,
  type GraphQLField,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLUnionType,
} from 'graphql';
import { isPublic, ruleImplies, ruleOf, type AuthRule } from '../../shared/directive.js';

/** Who may read one field, as the guard enforces it. */
export interface FieldAccess {
  /** `Type.field`. */
  coordinate: string;
  /** The effective requirement, in words; for an interface field, one per implementing type. */
  requirement: string;
  /** Where the requirement comes from: the directives on the field, its type, and the interface fields it implements. */
  guards: string;
}

/** One type of the report: its fields, or for a union its member types. */
export interface TypeAccess {
  name: string;
  kind: 'root' | 'object' | 'interface' | 'union';
  /** The interfaces an object implements, or the member types of a union. */
  related: string[];
  fields: FieldAccess[];
}

const ROOTS = ['Query', 'Mutation', 'Subscription'] as const;

/** `@auth(...)` as it would be written in the SDL, defaults left out. */
function directiveText(rule: AuthRule): string {
  const args = [
    ...(rule.requires !== 'MEMBER' ? [`requires: ${rule.requires}`] : []),
    ...(rule.self !== undefined ? [`self: "${rule.self}"`] : []),
    ...(rule.scopes.length > 0 ? [`scopes: [${rule.scopes.map((s) => `"${s}"`).join(', ')}]`] : []),
  ];
  return args.length > 0 ? `@auth(${args.join(', ')})` : '@auth';
}

function describeRule(rule: AuthRule): string {
  const who = rule.self !== undefined ? `the member themself (\`${rule.self}\`), or ${rule.requires}` : rule.requires;
  if (rule.scopes.length === 0) return who;
  return `${who}, with scope${rule.scopes.length > 1 ? 's' : ''} ${rule.scopes.map((s) => `\`${s}\``).join(', ')}`;
}

/** All of `rules` must pass; a rule that another one already implies says nothing more, so it is left out. */
function describeAll(rules: AuthRule[]): string {
  const kept = rules.filter((rule, i) => !rules.some((other, j) => j !== i && ruleImplies(other, rule) && (!ruleImplies(rule, other) || j < i)));
  return kept.map(describeRule).join(' and ');
}

/** The rules the guard checks on an object's field: its type's `@auth`, then its own. */
function objectFieldRules(schema: GraphQLSchema, type: GraphQLObjectType, field: GraphQLField<unknown, unknown>): AuthRule[] {
  return [ruleOf(schema, type), ruleOf(schema, field)].filter((r): r is AuthRule => r !== undefined);
}

function requirementOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>, rules: AuthRule[]): string {
  if (rules.length > 0) return describeAll(rules);
  return isPublic(schema, field) ? 'public' : 'none';
}

/** What an interface field declares for itself: its `@auth`, `@public`, or nothing (each implementation decides). */
function ownGuardOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): string {
  const rule = ruleOf(schema, field);
  if (rule) return `\`${directiveText(rule)}\``;
  return isPublic(schema, field) ? '`@public`' : 'none of its own';
}

function objectFieldAccess(schema: GraphQLSchema, type: GraphQLObjectType, field: GraphQLField<unknown, unknown>): FieldAccess {
  const typeRule = ruleOf(schema, type);
  const fieldRule = ruleOf(schema, field);
  const guards = [
    ...(typeRule ? [`\`${directiveText(typeRule)}\` on ${type.name}`] : []),
    ...(fieldRule ? [`\`${directiveText(fieldRule)}\` on the field`] : []),
    ...(isPublic(schema, field) ? ['`@public` on the field'] : []),
    ...type
      .getInterfaces()
      .filter((iface) => iface.getFields()[field.name])
      .map((iface) => `through ${iface.name}.${field.name}: ${ownGuardOf(schema, iface.getFields()[field.name]!)}`),
  ];
  return {
    coordinate: `${type.name}.${field.name}`,
    requirement: requirementOf(schema, field, objectFieldRules(schema, type, field)),
    guards: guards.length > 0 ? guards.join('; ') : 'none',
  };
}

/**
 * An interface field is resolved on the object's own type, so what applies is each implementation's guard (which the
 * build holds to the interface field's own, where it declares one): listed by type, never summed up as one.
 */
function interfaceFieldAccess(schema: GraphQLSchema, iface: GraphQLInterfaceType, field: GraphQLField<unknown, unknown>): FieldAccess {
  const byType = [...schema.getPossibleTypes(iface)]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((type) => {
      const implementation = type.getFields()[field.name]!;
      return `on ${type.name}: ${requirementOf(schema, implementation, objectFieldRules(schema, type, implementation))}`;
    });
  return {
    coordinate: `${iface.name}.${field.name}`,
    requirement: byType.length > 0 ? byType.join('; ') : 'none (no type implements it)',
    guards: `${ownGuardOf(schema, field)} on the interface field; each implementation's guard applies`,
  };
}

/**
 * Every field coordinate of a built schema with its effective requirement, read from the same `@auth` and `@public`
 * the guard enforces: root types first (Query, Mutation, Subscription), then every other object, interface and
 * union by name, fields by name, so the order never depends on how the SDL is split into files.
 */
export function describeAuthorization(schema: GraphQLSchema): TypeAccess[] {
  const types = Object.values(schema.getTypeMap()).filter(
    (t): t is GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType =>
      !t.name.startsWith('__') && (isObjectType(t) || isInterfaceType(t) || isUnionType(t)),
  );
  const rank = (name: string) => {
    const i = (ROOTS as readonly string[]).indexOf(name);
    return i === -1 ? ROOTS.length : i;
  };
  types.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].map((t) => t?.name));
  return types.map((type): TypeAccess => {
    if (isUnionType(type)) {
      // A union has no fields of its own: each member type's guard holds on its fields, listed under that type.
      const members = [...type.getTypes()].sort((a, b) => a.name.localeCompare(b.name));
      return {
        name: type.name,
        kind: 'union',
        related: members.map((m) => m.name),
        fields: members.map((member) => {
          const rule = ruleOf(schema, member);
          return {
            coordinate: member.name,
            requirement: rule ? describeRule(rule) : 'none',
            guards: rule ? `\`${directiveText(rule)}\` on ${member.name}, on each of its fields` : `none on ${member.name}; see its fields`,
          };
        }),
      };
    }
    const fields = Object.values(type.getFields()).sort((a, b) => a.name.localeCompare(b.name));
    if (isInterfaceType(type)) {
      return { name: type.name, kind: 'interface', related: [], fields: fields.map((f) => interfaceFieldAccess(schema, type, f)) };
    }
    return {
      name: type.name,
      kind: roots.has(type.name) ? 'root' : 'object',
      related: type.getInterfaces().map((i) => i.name),
      fields: fields.map((f) => objectFieldAccess(schema, type, f)),
    };
  });
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

function heading(type: TypeAccess): string {
  if (type.kind === 'interface') return `${type.name} (interface)`;
  if (type.kind === 'union') return `${type.name} (union of ${type.related.join(', ')})`;
  if (type.related.length > 0) return `${type.name} (implements ${type.related.join(', ')})`;
  return type.name;
}

const LEGEND = `Requirements: **public** (\`@public\`: anyone, signed in or not); **MEMBER**, **STAFF**, **ADMIN** (signed in with
that role or a higher one: MEMBER < STAFF < ADMIN); **the member themself (\`x\`), or STAFF** (\`self\`: the member whose
id is in \`x\`, an argument of a root field or a property of the object, or anyone with that role); **with scope**
(the credential must carry it); **none** (no guard on the field or its type: whoever reaches it through the fields
above it reads it). Where several guards apply, all must pass; the column on the right says where each comes from.
An interface field is resolved on the object's own type, so its row lists the requirement on each type that
implements it.`;

/** The Markdown report: a header saying what it is and how it is made, then one table per type of each schema. */
export function renderAuthorizationMarkdown(parts: { title: string; schema: GraphQLSchema }[]): string {
  const out = [
    '# Authorization',
    '',
    'Who may read each field, generated from the schemas the servers build (SDL and `@auth`). Do not edit it by hand:',
    'run `npm run auth:report` after changing a guard and commit the result; `npm test` fails while this file differs',
    'from the schema, so every change of access shows in the diff.',
    '',
    LEGEND,
  ];
  for (const { title, schema } of parts) {
    out.push('', `## ${title}`);
    for (const type of describeAuthorization(schema)) {
      const first = type.kind === 'union' ? 'Member type' : 'Field';
      out.push('', `### ${heading(type)}`, '', `| ${first} | Requirement | Guards |`, '| --- | --- | --- |');
      for (const f of type.fields) out.push(`| \`${f.coordinate}\` | ${cell(f.requirement)} | ${cell(f.guards)} |`);
    }
  }
  return out.join('\n') + '\n';
}

/** The same report as plain lines for a terminal: `coordinate  requirement`, one a line. */
export function renderAuthorizationText(parts: { title: string; schema: GraphQLSchema }[]): string {
  const lines: string[] = [];
  for (const { title, schema } of parts) {
    const rows = describeAuthorization(schema).flatMap((type) =>
      type.fields.map((f) => [type.kind === 'union' ? `${type.name} > ${f.coordinate}` : f.coordinate, f.requirement.replaceAll('`', '')] as const),
    );
    const width = Math.max(...rows.map(([c]) => c.length));
    lines.push(`${title}:`, ...rows.map(([c, r]) => `  ${c.padEnd(width)}  ${r}`), '');
  }
  return lines.join('\n');
}
