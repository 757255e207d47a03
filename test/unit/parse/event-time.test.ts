import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NO_ZONE,
  NOT_INTEGER,
  OUT_OF_RANGE,
  parseIsoMillis,
  timeFromNumber,
  timeFromText,
} from '../../../lib/parse/index.ts';
import { MAX_EVENT_TIME_MS } from './factories.ts';

// docs/DESIGN.md section 2: an event time is an integer in EVENT_TIME_UNIT or an ISO-8601 time
// with a zone; one without a zone names no instant and is refused.

const INSTANT = Date.parse('2026-12-02T02:48:00.123Z');

describe('parseIsoMillis', () => {
  it.each([
    { text: '1970-01-01T00:00:01Z', ms: 1000 },
    { text: '1970-01-01T00:00:01.000Z', ms: 1000 },
    { text: '2026-12-02T02:48:00.123Z', ms: INSTANT },
    { text: '2026-12-02T03:48:00.123+01:00', ms: INSTANT },
    { text: '2026-12-01T21:48:00.123-0500', ms: INSTANT },
    { text: '2026-12-02T07:48:00.123+05', ms: INSTANT },
    { text: '2026-12-02T02:48:00.123-00:00', ms: INSTANT },
    { text: '2026-12-02t02:48:00.123z', ms: INSTANT },
    { text: '2026-12-02 02:48:00.123Z', ms: INSTANT },
    { text: '2026-12-02T02:48:00.123456789Z', ms: INSTANT },
    { text: '2026-12-02T02:48:00.1Z', ms: INSTANT - 23 },
    { text: '2026-12-02T02:48:00.12Z', ms: INSTANT - 3 },
    { text: '2026-12-02T02:48Z', ms: INSTANT - 123 },
    { text: '2024-02-29T00:00:00Z', ms: Date.parse('2024-02-29T00:00:00Z') },
    { text: '2000-02-29T23:59:59.999+23:59', ms: Date.parse('2000-02-29T00:00:59.999Z') },
    { text: '9999-12-31T23:59:59.999Z', ms: 253402300799999 },
  ])('reads $text', ({ text, ms }) => {
    // Act
    const result = parseIsoMillis(text);

    // Assess
    expect(result).toBe(ms);
  });

  it.each(['2026-12-02T02:48:00.123', '2026-12-02T02:48:00', '2026-12-02T02:48'])(
    'says NO_ZONE for %s',
    (text) => {
      expect(parseIsoMillis(text)).toBe(NO_ZONE);
    },
  );

  it.each([
    '2026-02-30T00:00Z',
    '2025-02-29T00:00Z',
    '1900-02-29T00:00Z',
    '2026-13-01T00:00Z',
    '2026-00-01T00:00Z',
    '2026-12-00T00:00Z',
    '2026-12-02T24:00Z',
    '2026-12-02T02:60Z',
    '2026-12-02T02:48:60Z',
    '2026-12-02',
    '2026-12-02T',
    '2026-12-02T02:48:00.Z',
    '2026-12-02T02:48:00.1234567890Z',
    '2026-12-02T02:48:00,123Z',
    '2026-12-02T02:48:00+1',
    '2026-12-02T02:48:00+01:0',
    '2026-12-02T02:48:00+24:00',
    '2026-12-02T02:48:00+01:60',
    '2026-12-02T02:48:00ZZ',
    '2026-12-02T02:48:00 Z',
    '2026/12/02T02:48:00Z',
    '26-12-02T02:48:00Z',
    '+2026-12-02T02:48:00Z',
    '2026-12-02X02:48:00Z',
    'abc',
    '',
  ])('says NOT_INTEGER (not such a time) for %j', (text) => {
    expect(parseIsoMillis(text)).toBe(NOT_INTEGER);
  });

  it('reads back every instant Date#toISOString writes, and the same instant at any offset (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_EVENT_TIME_MS }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (ms, offsetMinutes) => {
          // Prepare: the local time at that offset, written with it.
          const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
          const sign = offsetMinutes < 0 ? '-' : '+';
          const abs = Math.abs(offsetMinutes);
          const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;

          // Assess
          expect(parseIsoMillis(new Date(ms).toISOString())).toBe(ms);
          // Years past 9999 (a large offset past the limit) are not four digits: not read.
          if (local.length === 23 && !local.startsWith('+'))
            expect(parseIsoMillis(`${local}${offset}`)).toBe(ms);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('timeFromText and timeFromNumber', () => {
  it.each([
    { text: '1000', unit: 'ms', ms: 1000 },
    { text: '+1000', unit: 'ms', ms: 1000 },
    { text: '1732435200', unit: 's', ms: 1_732_435_200_000 },
    { text: '2026-12-02T02:48:00.123Z', unit: 'ms', ms: INSTANT },
    // An ISO time names its instant whatever the unit of numbers is.
    { text: '2026-12-02T02:48:00.123Z', unit: 's', ms: INSTANT },
    { text: '1000.5', unit: 'ms', ms: NOT_INTEGER },
    { text: '1e3', unit: 's', ms: NOT_INTEGER },
    { text: 'soon', unit: 'ms', ms: NOT_INTEGER },
    { text: '2026-12-02T02:48:00.123', unit: 'ms', ms: NO_ZONE },
    { text: '-5', unit: 'ms', ms: OUT_OF_RANGE },
    // Milliseconds sent to a job that reads seconds: far past year 9999, refused.
    { text: '1732435200123', unit: 's', ms: OUT_OF_RANGE },
    {
      text: `${Math.floor(MAX_EVENT_TIME_MS / 1000)}`,
      unit: 's',
      ms: Math.floor(MAX_EVENT_TIME_MS / 1000) * 1000,
    },
    { text: `${Math.floor(MAX_EVENT_TIME_MS / 1000) + 1}`, unit: 's', ms: OUT_OF_RANGE },
    { text: '1969-12-31T23:59:59.999Z', unit: 'ms', ms: OUT_OF_RANGE },
    { text: '9999-12-31T23:59:59.999-01:00', unit: 'ms', ms: OUT_OF_RANGE },
  ] as const)('reads $text in $unit as $ms', ({ text, unit, ms }) => {
    expect(timeFromText(text, unit, MAX_EVENT_TIME_MS)).toBe(ms);
  });

  it.each([
    { value: 1000, unit: 'ms', ms: 1000 },
    { value: 1_732_435_200, unit: 's', ms: 1_732_435_200_000 },
    { value: 1.5, unit: 's', ms: NOT_INTEGER },
    { value: -1, unit: 's', ms: OUT_OF_RANGE },
    { value: Number.POSITIVE_INFINITY, unit: 'ms', ms: OUT_OF_RANGE },
    { value: 1_732_435_200_123, unit: 's', ms: OUT_OF_RANGE },
  ] as const)('reads the number $value in $unit as $ms', ({ value, unit, ms }) => {
    expect(timeFromNumber(value, unit, MAX_EVENT_TIME_MS)).toBe(ms);
  });
});
