import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NOT_INTEGER,
  OUT_OF_RANGE,
  parseMillis,
  trimField,
  UNSTORABLE,
  userIdLength,
} from '../../../lib/parse/index.ts';
import { MAX_EVENT_TIME_MS } from './factories.ts';

/** What parseMillis must answer, computed exactly with BigInt. */
function referenceMillis(text: string, maxMs: number): number {
  if (!/^[+-]?[0-9]+$/.test(text)) return NOT_INTEGER;
  const value = BigInt(text);
  return value < 0n || value > BigInt(maxMs) ? OUT_OF_RANGE : Number(value);
}

describe('parseMillis', () => {
  it('agrees with exact BigInt parsing on digit strings of any length (property)', () => {
    const text = fc
      .tuple(
        fc.constantFrom('', '+', '-'),
        fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 30 }),
      )
      .map(([sign, digits]) => sign + digits);
    fc.assert(
      fc.property(text, (t) => {
        expect(parseMillis(t, MAX_EVENT_TIME_MS)).toBe(referenceMillis(t, MAX_EVENT_TIME_MS));
      }),
    );
  });

  it('agrees with exact BigInt parsing on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 25 }), (t) => {
        expect(parseMillis(t, MAX_EVENT_TIME_MS)).toBe(referenceMillis(t, MAX_EVENT_TIME_MS));
      }),
    );
  });

  it.each([
    { text: '9007199254740991', max: Number.MAX_SAFE_INTEGER, expected: Number.MAX_SAFE_INTEGER },
    { text: '9007199254740992', max: Number.MAX_SAFE_INTEGER, expected: OUT_OF_RANGE },
    { text: '9007199254740993', max: Number.MAX_SAFE_INTEGER, expected: OUT_OF_RANGE },
    { text: '-0', max: 10, expected: 0 },
  ])('$text with limit $max is $expected', ({ text, max, expected }) => {
    // Act
    const result = parseMillis(text, max);

    // Assess
    expect(result).toBe(expected);
  });
});

describe('trimField', () => {
  it('strips what Java String.trim() strips: code units up to U+0020 (property)', () => {
    // Java: "the substring from the first to the last code unit greater than U+0020".
    const javaTrim = (s: string) => {
      const units = Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));
      const first = units.findIndex((u) => u > 0x20);
      return first === -1 ? '' : s.slice(first, units.findLastIndex((u) => u > 0x20) + 1);
    };
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(' ', '\t', '\r', '\n', '\u0000', 'a', '\u00a0', '\u3000', ',') }),
        (s) => {
          expect(trimField(s)).toBe(javaTrim(s));
        },
      ),
    );
  });

  it('keeps non-ASCII spaces, as Java does', () => {
    // Act
    const result = trimField('\u00a0user_A\u3000');

    // Assess
    expect(result).toBe('\u00a0user_A\u3000');
  });
});

describe('userIdLength', () => {
  it('counts code points, as PostgreSQL VARCHAR(n) does (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
        fc.pre(!s.includes('\u0000'));
        expect(userIdLength(s)).toBe([...s].length);
      }),
    );
  });

  it.each([
    { name: 'NUL', userId: 'a\u0000b' },
    { name: 'a lone high surrogate at the end', userId: 'a\ud83d' },
    { name: 'a lone high surrogate inside', userId: '\ud83dx' },
    { name: 'a lone low surrogate', userId: '\ude00' },
  ])('flags $name as unstorable', ({ userId }) => {
    // Act
    const result = userIdLength(userId);

    // Assess
    expect(result).toBe(UNSTORABLE);
  });
});
