import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { int8Array, varcharArray } from '../../../lib/sink/index.ts';

/** PostgreSQL's array_recv, for a one-dimensional array without NULLs: the element type and the elements' bytes. */
function readArray(bytes: Buffer): { type: number; elements: Buffer[] } {
  const ndim = bytes.readInt32BE(0);
  expect(bytes.readInt32BE(4)).toBe(0);
  const type = bytes.readInt32BE(8);
  if (ndim === 0) {
    expect(bytes.length).toBe(12);
    return { type, elements: [] };
  }
  expect(ndim).toBe(1);
  const count = bytes.readInt32BE(12);
  expect(bytes.readInt32BE(16)).toBe(1);
  const elements: Buffer[] = [];
  let at = 20;
  for (let i = 0; i < count; i++) {
    const length = bytes.readInt32BE(at);
    elements.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  expect(at).toBe(bytes.length);
  return { type, elements };
}

describe('binary array parameters', () => {
  it('write a bigint[] as int8 elements of eight big-endian bytes, two’s complement', () => {
    // Act and assess
    fc.assert(
      fc.property(fc.array(fc.maxSafeInteger()), (values) => {
        const { type, elements } = readArray(int8Array(values));
        expect(type).toBe(20);
        expect(elements.map((e) => Number(e.readBigInt64BE(0)))).toEqual(values);
        expect(elements.every((e) => e.length === 8)).toBe(true);
      }),
    );
    expect(
      readArray(int8Array([-1, 0, 2 ** 32, 1_700_000_000_007])).elements.map((e) => e.toString('hex')),
    ).toEqual(['ffffffffffffffff', '0000000000000000', '0000000100000000', '0000018bcfe56807']);
  });

  it('write a varchar[] as each element’s UTF-8 bytes, ASCII or not, a lone surrogate as U+FFFD', () => {
    // Act and assess
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' })), (values) => {
        const { type, elements } = readArray(varcharArray(values));
        expect(type).toBe(1043);
        expect(elements.map((e) => e.toString('hex'))).toEqual(
          values.map((v) => Buffer.from(v).toString('hex')),
        );
      }),
    );
    expect(readArray(varcharArray(['a"b', '', 'ünï|cödé', '\ud800x'])).elements.map(String)).toEqual([
      'a"b',
      '',
      'ünï|cödé',
      '\ufffdx',
    ]);
  });

  it('write a slice of the column, and an empty array without a dimension', () => {
    // Act and assess
    expect(readArray(varcharArray(['a', 'b', 'c', 'd'], 1, 3)).elements.map(String)).toEqual(['b', 'c']);
    expect(readArray(int8Array([1, 2, 3], 2, 3)).elements.map((e) => Number(e.readBigInt64BE(0)))).toEqual([
      3,
    ]);
    expect(int8Array([]).toString('hex')).toBe('000000000000000000000014');
    expect(varcharArray(['x'], 1, 1).toString('hex')).toBe('000000000000000000000413');
  });

  it('refuse a bigint that is not a safe integer with a RangeError naming it', () => {
    // Act and assess
    for (const value of [0.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY]) {
      expect(() => int8Array([1, value])).toThrow(
        new RangeError(`a bigint column got ${value}, which is not a safe integer`),
      );
    }
  });
});
