import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { integerArray, textArray } from '../../../lib/sink/index.ts';

// node-postgres's own conversion of a JavaScript array: what the sink sent before it built the
// literals itself, and what PostgreSQL is known to parse back into the same elements.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue: (value: unknown) => unknown;
};
const pgLiteral = (values: readonly unknown[]): string => prepareValue(values) as string;

describe('array literals', () => {
  it('quote every text element and escape quotes and backslashes exactly as node-postgres does', () => {
    // Act and assess
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' })), (values) => {
        expect(textArray(values)).toBe(pgLiteral(values));
      }),
    );
    expect(textArray(['a"b', 'c\\d', '', 'NULL', '{x}, y'])).toBe('{"a\\"b","c\\\\d","","NULL","{x}, y"}');
  });

  it('write integers as their decimal text, an empty array as {}', () => {
    // Act and assess
    expect(integerArray([0, 1, 253402300799999, 42])).toBe('{0,1,253402300799999,42}');
    expect(integerArray([])).toBe('{}');
    expect(textArray([])).toBe('{}');
    fc.assert(
      fc.property(fc.array(fc.maxSafeInteger()), (values) => {
        // pg quotes each number; PostgreSQL reads "1" and 1 alike in a bigint[].
        expect(integerArray(values)).toBe(pgLiteral(values).replaceAll('"', ''));
      }),
    );
    // Event times (written in two parts) and the numbers around that range, as join() writes them.
    expect(integerArray([1e9, 1e15 - 1, 1e15, 999_999_999, 1_700_000_000_007, 1_700_000_001_000])).toBe(
      '{1000000000,999999999999999,1000000000000000,999999999,1700000000007,1700000001000}',
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 1e9, max: 1e15 }), fc.double({ min: 1e9, max: 1e15 }))),
        (values) => {
          expect(integerArray(values)).toBe(`{${values.join(',')}}`);
        },
      ),
    );
  });
});
