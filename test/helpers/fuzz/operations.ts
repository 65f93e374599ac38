import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { inputValue, weirdString, type Samples } from './values.js';

/**
 * GraphQL operations generated from the built schema itself: every field of Query and Mutation, with arguments of
 * each argument's type (as variables or literals) and selections walked through the types they return. A field
 * added to the schema is fuzzed the day it lands, without touching the fuzzer.
 */

export type OperationKind = 'query' | 'mutation';

/** One root field: what a client can call. */
export interface RootField {
  kind: OperationKind;
  field: GraphQLField<unknown, unknown>;
}

/** Every field of the schema's Query and Mutation types. */
export function rootFields(schema: GraphQLSchema): RootField[] {
  const kinds = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const;
  return kinds.flatMap(([kind, type]) => Object.values(type?.getFields() ?? {}).map((field) => ({ kind, field })));
}

/** What the generator made: the text sent (perhaps mangled), its variables, and what the body names. */
export interface GeneratedOperation {
  kind: OperationKind;
  document: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * A value as a GraphQL literal, printed for the type it stands in (an enum value bare, an input object's fields by
 * their types). Values of the wrong type print as what they are: the server must refuse them, not the printer.
 */
export function printLiteral(value: unknown, type: GraphQLInputType | undefined, depth = 0): string {
  // The parser stops at 1,000 tokens; nothing deeper than that can matter.
  if (depth > 600 || value === null || value === undefined) return 'null';
  const nullable = type && isNonNullType(type) ? type.ofType : type;
  const listOf = nullable && isListType(nullable) ? nullable.ofType : undefined;
  if (Array.isArray(value)) return `[${value.map((v) => printLiteral(v, listOf, depth + 1)).join(', ')}]`;
  if (listOf) return printLiteral(value, listOf, depth + 1);
  switch (typeof value) {
    case 'string':
      return nullable && isEnumType(nullable) && NAME.test(value) ? value : JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : '0';
    case 'boolean':
      return String(value);
    case 'object': {
      const fields = nullable && isInputObjectType(nullable) ? nullable.getFields() : {};
      const entries = Object.entries(value as Record<string, unknown>).filter(([key]) => NAME.test(key));
      return `{${entries.map(([key, v]) => `${key}: ${printLiteral(v, fields[key]?.type, depth + 1)}`).join(', ')}}`;
    }
    default:
      return 'null';
  }
}

/** One argument as text, with the variable it declares (if any) and that variable's value (if sent). */
interface ArgumentPiece {
  text?: string;
  definition?: string;
  variable?: [string, unknown];
}

/** Declared types that do not match the argument, so that variable validation is exercised too. */
const WRONG_DECLARATIONS = ['String', 'Int!', 'ID', '[String!]!', 'Boolean', 'NoSuchType', 'LoginInput'];

function argumentArb(argument: GraphQLArgument, samples: Samples, prefix: string | null): fc.Arbitrary<ArgumentPiece> {
  const literal = inputValue(argument.type, argument.name, samples).map((v): ArgumentPiece => ({ text: `${argument.name}: ${printLiteral(v, argument.type)}` }));
  const omitted = fc.constant<ArgumentPiece>({});
  if (prefix === null) return fc.oneof({ weight: 3, arbitrary: literal }, { weight: 1, arbitrary: omitted });
  const name = `${prefix}${argument.name}`;
  const declared = fc.oneof({ weight: 25, arbitrary: fc.constant(String(argument.type)) }, { weight: 1, arbitrary: fc.constantFrom(...WRONG_DECLARATIONS) });
  const variable = fc
    .tuple(declared, fc.option(inputValue(argument.type, argument.name, samples), { freq: 12, nil: undefined }))
    .map(([type, value]): ArgumentPiece => ({
      text: `${argument.name}: $${name}`,
      definition: `$${name}: ${type}`,
      ...(value === undefined ? {} : { variable: [name, value] }),
    }));
  const undeclared = fc.constant<ArgumentPiece>({ text: `${argument.name}: $undeclared` });
  return fc.oneof({ weight: 24, arbitrary: variable }, { weight: 16, arbitrary: literal }, { weight: 1, arbitrary: omitted }, { weight: 1, arbitrary: undeclared });
}

function argumentsArb(args: readonly GraphQLArgument[], samples: Samples, prefix: string | null): fc.Arbitrary<ArgumentPiece[]> {
  return args.length === 0 ? fc.constant([]) : fc.tuple(...args.map((a) => argumentArb(a, samples, prefix)));
}

const argumentText = (pieces: ArgumentPiece[]) => {
  const texts = pieces.flatMap((p) => (p.text ? [p.text] : []));
  return texts.length ? `(${texts.join(', ')})` : '';
};

/** A field to select somewhere below the root; `deep` when it leads further down (an object, not a leaf). */
interface Candidate {
  deep: boolean;
  make: () => fc.Arbitrary<string>;
}

/**
 * A selection set for `type`, `depth` levels deep at most. Candidates are built only when picked: a cyclic schema
 * (a member's check-ins' member...) would otherwise build its whole tree up front. Past four levels one field is
 * picked per level, preferring those that go deeper, so that some operations reach the depth limit.
 */
function selectionArb(type: GraphQLOutputType, depth: number, schema: GraphQLSchema, samples: Samples): fc.Arbitrary<string> {
  const named = getNamedType(type);
  if (isLeafType(named)) return fc.constant('');
  if (depth <= 0) return fc.constant(' { __typename }');
  const candidates: Candidate[] = [{ deep: false, make: () => fc.constant('__typename') }];
  if (isObjectType(named) || isInterfaceType(named)) {
    for (const field of Object.values(named.getFields())) {
      candidates.push({
        deep: !isLeafType(getNamedType(field.type)),
        make: () =>
          fc
            .tuple(argumentsArb(field.args, samples, null), selectionArb(field.type, depth - 1, schema, samples))
            .map(([args, selection]) => `${field.name}${argumentText(args)}${selection}`),
      });
    }
  }
  if (isInterfaceType(named) || isUnionType(named)) {
    for (const possible of schema.getPossibleTypes(named)) {
      candidates.push({ deep: true, make: () => selectionArb(possible, depth, schema, samples).map((s) => `... on ${possible.name}${s}`) });
    }
  }
  const deepOnes = candidates.filter((c) => c.deep);
  const pool = depth > 4 && deepOnes.length ? deepOnes : candidates;
  return fc
    .subarray(pool, { minLength: 1, maxLength: Math.min(pool.length, depth > 4 ? 1 : 4) })
    .chain((picked) => fc.tuple(...picked.map((c) => c.make())))
    .map((parts) => ` { ${parts.join(' ')} }`);
}

/** How deep selections go: mostly shallow, sometimes past the depth limit of 10. */
const selectionDepth = fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.constant(12) });

/** A root field with its arguments (variables prefixed, so that several root fields can sit in one operation). */
interface RootSelection {
  text: string;
  definitions: string[];
  variables: [string, unknown][];
}

function rootSelectionArb(root: RootField, schema: GraphQLSchema, samples: Samples, prefix: string): fc.Arbitrary<RootSelection> {
  return fc
    .tuple(argumentsArb(root.field.args, samples, prefix), selectionDepth.chain((d) => selectionArb(root.field.type, d, schema, samples)), wrongSelection)
    .map(([args, selection, wrong]) => ({
      // Now and then a selection where none may be, or none where one must be: a validation error.
      text: `${root.field.name}${argumentText(args)}${wrong ? (selection ? '' : ' { __typename }') : selection}`,
      definitions: args.flatMap((a) => (a.definition ? [a.definition] : [])),
      variables: args.flatMap((a) => (a.variable ? [a.variable] : [])),
    }));
}

const wrongSelection = fc.oneof({ weight: 50, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

/** How many times the field is asked for under aliases: once, a few times, or past the alias limit of 15. */
const copies = fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 16, max: 20 }) });

/** What happens to the text on its way: mostly nothing; sometimes it is cut, spliced or given a stray token. */
const mangling = fc.oneof(
  { weight: 40, arbitrary: fc.constant((text: string) => text) },
  { weight: 1, arbitrary: fc.nat().map((n) => (text: string) => text.slice(0, n % (text.length + 1))) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(), weirdString).map(([n, insert]) => (text: string) => {
      const at = n % (text.length + 1);
      return text.slice(0, at) + insert + text.slice(at);
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom('{', '(', '"', '"""', ' @include(if: true)', ' ...', '#', ' $', ' fragment F on Query { plans }').map((tail) => (text: string) => text + tail) },
);

/** One operation over one or more root fields of the same kind (query or mutation), chosen among all of them. */
export function operationArb(schema: GraphQLSchema, samples: Samples): fc.Arbitrary<GeneratedOperation> {
  const roots = rootFields(schema);
  return fc.constantFrom(...roots).chain((root) => {
    const sameKind = roots.filter((r) => r.kind === root.kind);
    const extras: fc.Arbitrary<RootSelection[]> = fc.oneof(
      { weight: 5, arbitrary: fc.constant<RootSelection[]>([]) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom(...sameKind), { minLength: 1, maxLength: 2 }).chain((rs) => fc.tuple(...rs.map((r, i) => rootSelectionArb(r, schema, samples, `b${i}_`)))) },
    );
    const keyword = fc.oneof({ weight: 40, arbitrary: fc.constant<string>(root.kind) }, { weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('query', 'mutation', 'subscription') });
    const name = fc.option(fc.constantFrom('Fuzz', 'Op', `Q${'x'.repeat(2_000)}`), { freq: 2, nil: undefined });
    return fc
      .record({ main: rootSelectionArb(root, schema, samples, 'a_'), copies, extras, keyword, name, otherName: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }), mangle: mangling })
      .map(({ main, copies: n, extras: more, keyword: word, name: opName, otherName, mangle }): GeneratedOperation => {
        const fields = n === 1 ? [main.text] : Array.from({ length: n }, (_, i) => `a${i}: ${main.text}`);
        fields.push(...more.map((m, i) => `b${i}: ${m.text}`));
        const definitions = [main, ...more].flatMap((m) => m.definitions);
        const variables = Object.fromEntries([main, ...more].flatMap((m) => m.variables));
        // The shorthand `{ ... }` cannot carry a name or variables; a name and variables need the keyword.
        const head = word || (opName || definitions.length ? root.kind : '');
        const signature = `${opName ? ` ${opName}` : ''}${definitions.length ? `(${definitions.join(', ')})` : ''}`;
        const document = mangle(`${head}${signature} { ${fields.join(' ')} }`);
        return {
          kind: root.kind,
          document,
          ...(Object.keys(variables).length ? { variables } : {}),
          ...(opName ? { operationName: otherName ? 'Other' : opName } : {}),
        };
      });
  });
}
