import fc from 'fast-check';
import {
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLNamedInputType,
} from 'graphql';

/**
 * Argument values for the fuzzer, derived from a GraphQL input type: mostly well-typed and often valid (seeded ids,
 * demo emails and passwords, dates a membership may end on), so requests get past validation into the resolvers,
 * mixed with nulls where non-null is required, values of the wrong type, huge strings, deep nesting and odd Unicode.
 */

/** Real values from the running server, so that some generated requests name things that exist. */
export interface Samples {
  memberIds: string[];
  checkInIds: string[];
  planIds: string[];
  emails: string[];
  passwords: string[];
  /** Email and password pairs that sign in. */
  accounts: { email: string; password: string }[];
  cursors: string[];
}

/** Characters that break naive code: NUL, lone surrogates, bidi overrides, zero-width and combining marks, separators. */
const ODD_CHARACTERS = [
  '\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\uD800', '\uDBFF', '\uDFFF', '\uDBFF\uDFFF', '\u202E', '\u202D',
  '\u2066', '\u2069', '\u200B', '\u200D', '\uFEFF', '\u0301', '\u1160', '\u3164', '\uFFFD', '\uFFFF', '\u2028', '\u2029',
  '𝕏', '👩‍👩‍👧', 'İ', 'ß', 'ﬃ', '\r\n', '\\', '"', "'", '`', '${x}', '%s', '%n', '<script>', "' OR 1=1 --", '../', '\\u0000',
];

const unit = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_CHARACTERS) },
);

/** A short string of anything, odd Unicode included (lone surrogates travel as JSON escapes). */
export const weirdString = fc.string({ unit, maxLength: 40 });

/**
 * A long string: some fit in the 100 kB body limit, some pass it (escaping makes NUL and lone surrogates six bytes
 * each in JSON). Built by repetition: generating 100 kB character by character would cost more than the request.
 */
export const hugeString = fc
  .tuple(fc.constantFrom(2_000, 20_000, 60_000, 95_000, 101_000, 300_000), fc.constantFrom('a', 'é', '\u0000', '😀', '\uD800', '\\"', 'a,'))
  .map(([size, piece]) => piece.repeat(Math.ceil(size / piece.length)));

/**
 * Arrays or objects nested deep. As values they stay within what JSON.stringify itself can print; far deeper
 * nesting is sent as text (see the raw bodies).
 */
export const deepNesting = fc.tuple(fc.constantFrom(10, 100, 800), fc.boolean()).map(([depth, arrays]) => {
  let value: unknown = arrays ? [] : {};
  for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value };
  return value;
});

/** A value of no particular type: whatever position it lands in, it is usually the wrong type there. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(''),
  weirdString,
  fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53, 1e308, -0, 0.5),
  fc.constant({}),
  fc.constant([]),
  fc.dictionary(fc.string({ maxLength: 6 }), weirdString, { maxKeys: 3 }),
  fc.array(weirdString, { maxLength: 3 }),
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: deepNesting },
);

/**
 * Control characters (C0, DEL, C1; NUL is one PostgreSQL's text cannot hold): every free-text argument refuses them
 * as bad input, and no argument, free text or secret, answers them with a fault.
 */
const CONTROL_CHARACTERS = ['\u0000', '\u0001', '\u0007', '\b', '\t', '\n', '\r', '\u000b', '\u001b', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f'];

/** Mostly `values` as they are, now and then with a control character slipped in at the start, inside or at the end. */
function sometimesControl(values: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const spoiled = fc.tuple(values, fc.constantFrom(...CONTROL_CHARACTERS), fc.nat()).map(([text, control, at]) => {
    const i = at % (text.length + 1);
    return `${text.slice(0, i)}${control}${text.slice(i)}`;
  });
  return fc.oneof({ weight: 3, arbitrary: values }, { weight: 1, arbitrary: spoiled });
}

const base64url = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''));
const DAY = 86_400_000;

/** Valid-looking values by the name of the argument or input field they are for. */
function byName(name: string, samples: Samples): fc.Arbitrary<unknown> | undefined {
  switch (name) {
    case 'email':
      return sometimesControl(
        fc.oneof(
          fc.constantFrom(...samples.emails),
          fc.constantFrom(...samples.emails).map((e) => ` ${e.toUpperCase()} `),
          fc.uuid().map((u) => `fuzz-${u}@keycard.test`),
          fc.constantFrom('no-at-sign', 'a@', '@b.c', 'a@b', `${'x'.repeat(250)}@keycard.test`, 'a@b.c\u0000', 'ä@ü.de'),
        ),
      );
    case 'password':
    case 'currentPassword':
    case 'newPassword':
      return sometimesControl(
        fc.oneof(
          fc.constantFrom(...samples.passwords),
          fc.string({ unit: 'grapheme-ascii', minLength: 12, maxLength: 40 }),
          fc.constantFrom('password1234', '123456789012', 'short', 'x'.repeat(129), 'correct horse battery', '\u0000'.repeat(12), '🔑'.repeat(12)),
        ),
      );
    case 'name':
      return sometimesControl(
        fc.oneof(
          fc.constantFrom('Ada Lovelace', 'Zoë Ça', '李小龍', '  ', '', 'a'.repeat(101), 'Bob\u202Eevil', 'Eve\u200B', 'Al\u0000ice'),
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
        ),
      );
    case 'id':
      return ids(samples, [...samples.memberIds, ...samples.checkInIds, ...samples.planIds]);
    case 'memberId':
      return ids(samples, samples.memberIds);
    case 'refreshToken':
      return sometimesControl(fc.oneof(fc.string({ unit: base64url, minLength: 40, maxLength: 90 }), fc.constantFrom('', 'null', 'a.b.c')));
    case 'audience':
      return sometimesControl(fc.constantFrom('pool', 'keycard', 'spa', 'POOL', '', ' pool', 'pool\u0000'));
    case 'first':
      return fc.oneof(fc.integer({ min: -2, max: 105 }), fc.constantFrom(0, 100, 101, 2 ** 31 - 1, -(2 ** 31)));
    case 'after':
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...samples.cursors) },
        fc.constantFrom('cursor:-1', 'cursor:1e3', 'cursor:99999999999999999999', 'nothing', '').map((c) => Buffer.from(c).toString('base64url')),
        weirdString,
      );
    case 'door':
      return sometimesControl(fc.constantFrom('main', 'side door', '', '   ', 'x'.repeat(65), 'back\u0000', 'front\u202E'));
    case 'search':
      return sometimesControl(fc.constantFrom('alice', '%', '_', "'", '\\', '%_%', 'ADMIN', '@keycard.test', ''));
    case 'validUntil':
      return dates;
    default:
      return undefined;
  }
}

/**
 * Global ids: real ones (`preferred` mostly, any type now and then), ids of rows that do not exist, and other
 * spellings of real ones.
 */
function ids(samples: Samples, preferred: string[]): fc.Arbitrary<string> {
  const real = [...samples.memberIds, ...samples.checkInIds, ...samples.planIds];
  const encode = (text: string) => Buffer.from(text).toString('base64url');
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...preferred) },
    { weight: 2, arbitrary: fc.constantFrom(...real) },
    { weight: 1, arbitrary: fc.constantFrom('Member:0', 'Member:999999', 'Member:01', 'Member:1 ', 'Member:9007199254740993', 'Plan:1:2', 'Nope:1', 'Member:-1').map(encode) },
    { weight: 1, arbitrary: fc.constantFrom(...real).map((id) => `${id}==`) },
    { weight: 1, arbitrary: fc.constantFrom(...real).map((id) => ` ${id}`) },
    { weight: 1, arbitrary: fc.constantFrom(...real).map((id) => Buffer.from(id, 'base64url').toString()) },
    { weight: 1, arbitrary: weirdString },
  );
}

/** DateTime values: instants a membership may end on, the edges of what is accepted, and strings that are not dates. */
const dates: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -400, max: 4_000 }).map((days) => new Date(Date.now() + days * DAY).toISOString()) },
  fc.constantFrom(
    '1970-01-01T00:00:00.000Z',
    '1969-12-31T23:59:59.999Z',
    '9999-12-31T23:59:59.999Z',
    '+275760-09-13T00:00:00.000Z',
    '2026-02-30T00:00:00Z',
    '2026-11-26',
    '2026-11-26T04:00:00+14:00',
    'now',
    '',
  ),
  fc.constantFrom(0, -1, 8.64e15, 1e20),
);

/** A well-typed value of a named type (a scalar by its name, an enum by its values, an input object field by field). */
function ofNamedType(type: GraphQLNamedInputType, name: string, samples: Samples, depth: number): fc.Arbitrary<unknown> {
  const hinted = byName(name, samples);
  if (hinted) return hinted;
  if (isEnumType(type)) {
    return fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)) },
      { weight: 1, arbitrary: fc.constantFrom('GOLD', 'member', 'ACTIVE ', '') },
    );
  }
  if (isInputObjectType(type)) return inputObject(type, samples, depth);
  if (!isScalarType(type)) return junk;
  switch (type.name) {
    case 'String':
      return fc.oneof({ weight: 4, arbitrary: weirdString }, { weight: 1, arbitrary: fc.constantFrom(...samples.emails) }, { weight: 1, arbitrary: hugeString });
    case 'ID':
      return ids(samples, samples.memberIds);
    case 'Int':
      return fc.oneof(fc.integer({ min: -5, max: 120 }), fc.integer());
    case 'Float':
      return fc.double({ noNaN: true });
    case 'Boolean':
      return fc.boolean();
    case 'DateTime':
      return dates;
    default:
      // A scalar added later: nothing is known of it, so anything goes.
      return junk;
  }
}

/** Keys that poison naive object handling, as extra input fields. */
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

function inputObject(type: GraphQLInputObjectType, samples: Samples, depth: number): fc.Arbitrary<unknown> {
  if (depth > 4) return fc.constant({});
  const fields = Object.values(type.getFields());
  const present = fields.map((field) =>
    fc.oneof(
      // Required fields are usually there, optional ones often left out; either may be missing.
      { weight: isNonNullType(field.type) ? 25 : 3, arbitrary: inputValue(field.type, field.name, samples, depth + 1).map((v) => [field.name, v] as const) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
  );
  const extra = fc.oneof(
    { weight: 8, arbitrary: fc.constant([] as (readonly [string, unknown])[]) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ minLength: 1, maxLength: 8 })), junk), { maxLength: 3 }) },
    // Many unknown fields, one error each: as a literal, up to tens of thousands of tokens (long lists in a hundred
    // fields); as a variable, thousands of coercion errors, each of which graphql-js words with the whole value.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom([20, 300], [100, 1], [100, 300], [2_000, 1])
        .map(([fieldCount, listLength]) => Array.from({ length: fieldCount! }, (_, i) => [`f${i}`, new Array<number>(listLength!).fill(0)] as const)),
    },
  );
  // Half the time an input with an email and a password carries a pair that signs in, so sign-in really happens.
  const signsIn = 'email' in type.getFields() && 'password' in type.getFields();
  const account = signsIn ? fc.option(fc.constantFrom(...samples.accounts), { freq: 2, nil: undefined }) : fc.constant(undefined);
  return fc.tuple(fc.tuple(...present), extra, account).map(([entries, extras, pair]) => {
    const value: Record<string, unknown> = {};
    if (pair) entries = entries.map((e) => (e && (e[0] === 'email' || e[0] === 'password') ? [e[0], pair[e[0]]] : e));
    // defineProperty, so that `__proto__` becomes a key that JSON carries rather than the object's prototype.
    for (const entry of [...entries, ...extras]) {
      if (entry) Object.defineProperty(value, entry[0], { value: entry[1], enumerable: true, writable: true, configurable: true });
    }
    return value;
  });
}

/** A value for an argument or input field of `type` named `name`: mostly well-typed, sometimes null or junk. */
export function inputValue(type: GraphQLInputType, name: string, samples: Samples, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 20, arbitrary: wellTyped(type, name, samples, depth) },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: junk },
  );
}

function wellTyped(type: GraphQLInputType, name: string, samples: Samples, depth: number): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return wellTyped(type.ofType, name, samples, depth);
  if (isListType(type)) {
    // A bare value where a list is expected is legal GraphQL (a list of one), so both are tried.
    return fc.oneof(fc.array(inputValue(type.ofType, name, samples, depth + 1), { maxLength: 3 }), inputValue(type.ofType, name, samples, depth + 1));
  }
  return ofNamedType(type, name, samples, depth);
}
