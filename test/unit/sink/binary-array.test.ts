import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_EVENT_TIME_MS } from '../../../lib/engine/index.ts';
import { int8Array, timestampArray, varcharArray } from '../../../lib/sink/index.ts';

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

  it('write event times as timestamptz[] and timestamp[] of microseconds since 2000-01-01, exactly up to 9999-12-31', () => {
    // Act and assess
    const micros = (bytes: Buffer) => readArray(bytes).elements.map((e) => e.readBigInt64BE(0));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: MAX_EVENT_TIME_MS })), (values) => {
        const expected = values.map((ms) => (BigInt(ms) - 946_684_800_000n) * 1000n);
        expect(readArray(timestampArray(values, 'tz')).type).toBe(1184);
        expect(readArray(timestampArray(values, 'local')).type).toBe(1114);
        expect(micros(timestampArray(values, 'tz'))).toEqual(expected);
        expect(micros(timestampArray(values, 'local'))).toEqual(expected);
      }),
    );
    expect(micros(timestampArray([0, 946_684_800_000, 946_684_800_001, MAX_EVENT_TIME_MS], 'local'))).toEqual(
      [-946_684_800_000_000n, 0n, 1000n, 252_455_615_999_999_000n],
    );
    expect(micros(timestampArray([1, 2, 3], 'tz', 1, 2))).toEqual([2000n - 946_684_800_000_000n]);
  });

  it('refuse a timestamp that is not an event time in milliseconds with a RangeError naming it', () => {
    // Act and assess
    for (const value of [-1, MAX_EVENT_TIME_MS + 1, 0.5, Number.NaN]) {
      expect(() => timestampArray([1, value], 'tz')).toThrow(
        new RangeError(`a timestamp column got ${value}, which is not an event time in milliseconds`),
      );
    }
  });
});
