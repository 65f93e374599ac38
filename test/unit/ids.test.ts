import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadUserInputError } from '../../src/shared/errors.js';
import { fromGlobalId, idOf, MAX_ROW_ID, requireIdOf, toGlobalId, type NodeType } from '../../src/ids.js';

const TYPES: NodeType[] = ['Member', 'CheckIn', 'Plan'];
const b64url = (text: string) => Buffer.from(text).toString('base64url');
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 8;

describe('global ids', () => {
  it('decode every id the server makes back to its type and row', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), fc.integer({ min: 1, max: MAX_ROW_ID }), (type, id) => {
        expect(fromGlobalId(toGlobalId(type, id))).toEqual({ type, id });
      }),
      { seed },
    );
  });

  it('decode nothing but the exact strings the server makes: one object, one id', () => {
    // Real ids with a little added around them, where a loose decoder gives in; and arbitrary text.
    const nearlyCanonical = fc
      .tuple(
        fc.constantFrom(...TYPES),
        fc.integer({ min: 1, max: MAX_ROW_ID }),
        fc.string({ unit: fc.constantFrom('', ' ', '\n', '\t'), maxLength: 2 }),
        fc.string({ unit: fc.constantFrom('=', ' ', '\n', 'A', 'g', '_', '-', '!', '.'), maxLength: 4 }),
      )
      .map(([type, id, before, after]) => `${before}${toGlobalId(type, id)}${after}`);
    fc.assert(
      fc.property(fc.oneof(nearlyCanonical, fc.string({ maxLength: 40 }), fc.base64String({ maxLength: 40 })), (text) => {
        const decoded = fromGlobalId(text);
        if (decoded) expect(toGlobalId(decoded.type, decoded.id)).toBe(text);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('refuse every other spelling of a real id', () => {
    const canonical = toGlobalId('Member', 3);
    for (const [label, id] of [
      ['standard base64 with padding', Buffer.from('Member:3').toString('base64')],
      ['padding appended', `${canonical}=`],
      ['junk after padding', `${canonical}=junk`],
      ['junk appended', `${canonical}!!`],
      ['a trailing space', `${canonical} `],
      ['a leading space', ` ${canonical}`],
      ['a space inside', `${canonical.slice(0, 3)} ${canonical.slice(3)}`],
      ['a trailing newline', `${canonical}\n`],
      ['a leading zero', b64url('Member:03')],
      ['zero', b64url('Member:0')],
      ['a negative number', b64url('Member:-3')],
      ['a plus sign', b64url('Member:+3')],
      ['a decimal point', b64url('Member:3.0')],
      ['an exponent', b64url('Member:3e0')],
      ['hexadecimal', b64url('Member:0x3')],
      ['a space after the colon', b64url('Member: 3')],
      ['a trailing NUL', b64url('Member:3\0')],
      ['the type in lower case', b64url('member:3')],
      ['an unknown type', b64url('Secret:3')],
      ['2^31, past the largest row id either engine holds', b64url('Member:2147483648')],
      ['2^53, past the last safe integer', b64url('Member:9007199254740992')],
      ['2^53 + 1, which rounds to 2^53', b64url('Member:9007199254740993')],
      ['sixteen nines', b64url('Member:9999999999999999')],
      ['seventeen digits', b64url('Member:12345678901234567')],
      ['the last character with other unused bits', `${canonical.slice(0, -1)}${canonical.at(-1) === 'M' ? 'N' : 'M'}`],
      ['nothing', ''],
      ['a very long string', 'A'.repeat(10_000)],
    ] as const) {
      expect(fromGlobalId(id), label).toBeNull();
    }
    expect(fromGlobalId(canonical)).toEqual({ type: 'Member', id: 3 });
    expect(fromGlobalId(toGlobalId('CheckIn', MAX_ROW_ID))).toEqual({ type: 'CheckIn', id: MAX_ROW_ID });
  });

  it('are null for a lookup of the wrong type, and BAD_USER_INPUT naming the argument for a mutation', () => {
    expect(idOf('Member', toGlobalId('Plan', 1))).toBeNull();
    expect(idOf('Member', `${toGlobalId('Member', 1)}=`)).toBeNull();
    const refused = (() => {
      try {
        requireIdOf('Member', `${toGlobalId('Member', 1)}=`, 'memberId');
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(refused).toBeInstanceOf(BadUserInputError);
    expect((refused as BadUserInputError).extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'memberId' });
  });
});
