import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ParseOptions, parseRecord, type RejectReason, rejectLate } from '../../../lib/parse/index.ts';
import { kafkaRecord, MAX_EVENT_TIME_MS, MAX_USER_ID_LENGTH, recordWithValue } from './factories.ts';

const fromPayload: ParseOptions = {
  eventTimeSource: 'payload',
  maxUserIdLength: MAX_USER_ID_LENGTH,
  maxEventTimeMs: MAX_EVENT_TIME_MS,
};
const fromKafka: ParseOptions = { ...fromPayload, eventTimeSource: 'kafka' };

const REASONS: readonly RejectReason[] = [
  'not_utf8',
  'empty',
  'wrong_field_count',
  'bad_json',
  'empty_user_id',
  'bad_user_id',
  'user_id_too_long',
  'timestamp_not_integer',
  'timestamp_out_of_range',
  'timestamp_without_zone',
  'missing_field',
  'wrong_field_type',
];

describe('parseRecord: accepted values', () => {
  it.each([
    { name: 'the plain form', value: 'user_A,1000', userId: 'user_A', eventTime: 1000 },
    { name: 'spaces around the fields', value: '  user_A ,  1000 ', userId: 'user_A', eventTime: 1000 },
    { name: 'a console producer line end', value: 'user_A,1000\r\n', userId: 'user_A', eventTime: 1000 },
    { name: 'tabs', value: '\tuser_A\t,\t2000\t', userId: 'user_A', eventTime: 2000 },
    { name: 'inner spaces kept', value: 'user A,1', userId: 'user A', eventTime: 1 },
    { name: 'a leading BOM', value: '\ufeffuser_A,1000', userId: 'user_A', eventTime: 1000 },
    { name: 'an explicit plus sign', value: 'user_A,+1000', userId: 'user_A', eventTime: 1000 },
    { name: 'leading zeros', value: 'user_A,0001000', userId: 'user_A', eventTime: 1000 },
    { name: 'time zero', value: 'user_A,0', userId: 'user_A', eventTime: 0 },
    {
      name: 'the latest time',
      value: `user_A,${MAX_EVENT_TIME_MS}`,
      userId: 'user_A',
      eventTime: MAX_EVENT_TIME_MS,
    },
    { name: 'a non-ASCII user id', value: 'ユーザー😀,5', userId: 'ユーザー😀', eventTime: 5 },
    {
      name: 'a JSON object',
      value: '{"userId": "user_A", "timestamp": 1000}',
      userId: 'user_A',
      eventTime: 1000,
    },
    {
      name: 'JSON over lines',
      value: ' {\n  "timestamp": 7,\n  "userId": "u"\n}\n',
      userId: 'u',
      eventTime: 7,
    },
    {
      name: 'JSON with extra fields',
      value: '{"userId":"u","timestamp":7,"page":"/"}',
      userId: 'u',
      eventTime: 7,
    },
    {
      name: 'JSON with a quoted timestamp',
      value: '{"userId":"u","timestamp":" 1000 "}',
      userId: 'u',
      eventTime: 1000,
    },
    {
      name: 'JSON with a padded user id',
      value: '{"userId":" user_A ","timestamp":1}',
      userId: 'user_A',
      eventTime: 1,
    },
  ])('parses $name', ({ value, userId, eventTime }) => {
    // Prepare
    const record = recordWithValue(value, { offset: 17 });

    // Act
    const result = parseRecord(record, fromPayload);

    // Assess
    expect(result).toEqual({ ok: true, event: { offset: 17, userId, eventTime, timestamp: 1732435200123 } });
  });

  it.each([
    { name: 'ASCII', unit: 'x' },
    { name: 'astral (2 UTF-16 units each)', unit: '😀' },
  ])('accepts a user id of exactly the limit in code points: $name', ({ unit }) => {
    // Prepare
    const userId = unit.repeat(MAX_USER_ID_LENGTH);

    // Act
    const result = parseRecord(recordWithValue(`${userId},1`), fromPayload);

    // Assess
    expect(result).toEqual({
      ok: true,
      event: { offset: 42, userId, eventTime: 1, timestamp: 1732435200123 },
    });
  });

  it('accepts any storable, untrimmed, comma-free user id and in-range time (property)', () => {
    const userIds = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
      .map((s) => s.replaceAll(',', ';').replaceAll('\u0000', '0'))
      .filter((s) => s.trim() === s && s !== '' && !s.startsWith('{') && s.charCodeAt(0) > 0x20);
    fc.assert(
      fc.property(userIds, fc.integer({ min: 0, max: MAX_EVENT_TIME_MS }), (userId, eventTime) => {
        const result = parseRecord(recordWithValue(`${userId},${eventTime}`), fromPayload);
        expect(result).toEqual({
          ok: true,
          event: { offset: 42, userId, eventTime, timestamp: 1732435200123 },
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe('parseRecord: rejections', () => {
  const tooLong = 'x'.repeat(MAX_USER_ID_LENGTH + 1);
  it.each([
    {
      reason: 'not_utf8',
      value: Uint8Array.from([0x75, 0xff, 0x2c, 0x31]),
      detail: /4 bytes\) is not valid UTF-8/,
    },
    { reason: 'not_utf8', value: Uint8Array.from([0xed, 0xa0, 0x80]), detail: /not valid UTF-8/ }, // encoded surrogate
    { reason: 'not_utf8', value: Uint8Array.from([0xc0, 0xaf]), detail: /not valid UTF-8/ }, // overlong "/"
    { reason: 'empty', value: null, detail: /null \(a tombstone\)/ },
    { reason: 'empty', value: '', detail: /is empty/ },
    { reason: 'empty', value: '  \r\n', detail: /only whitespace/ },
    {
      reason: 'wrong_field_count',
      value: 'user_A',
      detail: /expected "<userId>,<eventTimeMillis>" \(2 fields\), got 1 comma-separated field$/,
    },
    { reason: 'wrong_field_count', value: 'user_A,1000,extra', detail: /got 3 comma-separated fields/ },
    { reason: 'wrong_field_count', value: 'user_A,1000,', detail: /got 3 comma-separated fields/ },
    {
      reason: 'bad_json',
      value: '{"userId": "user_A", ',
      detail: /starts with "\{" but is not valid JSON: /,
    },
    {
      reason: 'wrong_field_type',
      value: '{"userId": 42, "timestamp": 1000}',
      detail: /^field "userId": the user id is a number \(42\), expected a string$/,
    },
    { reason: 'empty_user_id', value: ',1000', detail: /the user id is empty/ },
    { reason: 'empty_user_id', value: '   ,1000', detail: /the user id is empty/ },
    {
      reason: 'missing_field',
      value: '{"timestamp": 1000}',
      detail: /^field "userId": "userId" is missing, so the value has no user id$/,
    },
    {
      reason: 'missing_field',
      value: '{"userId": null, "timestamp": 1000}',
      detail: /^field "userId": "userId" is null, so the value has no user id$/,
    },
    {
      reason: 'empty_user_id',
      value: '{"userId": " ", "timestamp": 1000}',
      detail: /^field "userId": the user id is empty$/,
    },
    {
      reason: 'bad_user_id',
      value: 'user\u0000A,1000',
      detail: /"user\\u0000A" contains U\+0000 or a lone surrogate/,
    },
    { reason: 'bad_user_id', value: '{"userId": "a\\u0000b", "timestamp": 1}', detail: /contains U\+0000/ },
    {
      reason: 'bad_user_id',
      value: '{"userId": "\\ud800x", "timestamp": 1}',
      detail: /"\\ud800x" contains U\+0000 or a lone surrogate/,
    },
    { reason: 'bad_user_id', value: '{"userId": "\\udc00", "timestamp": 1}', detail: /lone surrogate/ },
    {
      reason: 'user_id_too_long',
      value: `${tooLong},1000`,
      detail: /has 231 characters; at most 230 fit the 255-character group_key/,
    },
    { reason: 'user_id_too_long', value: `${'😀'.repeat(231)},1`, detail: /has 231 characters/ },
    {
      reason: 'timestamp_not_integer',
      value: 'user_A,1000.5',
      detail: /the event time "1000.5" is not an integer number of milliseconds/,
    },
    { reason: 'timestamp_not_integer', value: 'user_A,1e3', detail: /"1e3" is not an integer/ },
    { reason: 'timestamp_not_integer', value: 'user_A,abc', detail: /"abc" is not an integer/ },
    { reason: 'timestamp_not_integer', value: 'user_A,', detail: /"" is not an integer/ },
    { reason: 'timestamp_not_integer', value: 'user_A, - ', detail: /"-" is not an integer/ },
    { reason: 'timestamp_not_integer', value: 'user_A,10 00', detail: /"10 00" is not an integer/ },
    { reason: 'timestamp_not_integer', value: 'user_A,0x10', detail: /"0x10" is not an integer/ },
    {
      reason: 'timestamp_not_integer',
      value: '{"userId":"u","timestamp":1000.5}',
      detail: /"1000.5" is not an integer/,
    },
    {
      reason: 'missing_field',
      value: '{"userId":"u"}',
      detail: /^field "timestamp": "timestamp" is missing, so the value has no event time$/,
    },
    {
      reason: 'wrong_field_type',
      value: '{"userId":"u","timestamp":true}',
      detail: /^field "timestamp": the event time is a boolean \(true\), expected epoch milliseconds/,
    },
    {
      reason: 'timestamp_out_of_range',
      value: 'user_A,-5',
      detail: /the event time "-5" is outside 0\.\.253402300799999 ms/,
    },
    {
      reason: 'timestamp_out_of_range',
      value: 'user_A,99999999999999999999',
      detail: /"99999999999999999999" is outside/,
    },
    { reason: 'timestamp_out_of_range', value: `user_A,${MAX_EVENT_TIME_MS + 1}`, detail: /is outside/ },
    { reason: 'timestamp_out_of_range', value: `user_A,${'9'.repeat(400)}`, detail: /is outside/ },
    { reason: 'timestamp_out_of_range', value: '{"userId":"u","timestamp":-1}', detail: /"-1" is outside/ },
    {
      reason: 'timestamp_out_of_range',
      value: '{"userId":"u","timestamp":1e400}',
      detail: /"Infinity" is outside/,
    },
    {
      reason: 'timestamp_out_of_range',
      value: '{"userId":"u","timestamp":99999999999999999999}',
      detail: /"100000000000000000000" is outside/,
    },
  ] satisfies Array<{ reason: RejectReason; value: string | Uint8Array | null; detail: RegExp }>)(
    'rejects $value as $reason',
    ({ reason, value, detail }) => {
      // Prepare
      const record = recordWithValue(value, { topic: 'user_activity', partition: 3, offset: 99 });

      // Act
      const result = parseRecord(record, fromPayload);

      // Assess
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.rejection).toMatchObject({ topic: 'user_activity', partition: 3, offset: 99, reason });
      expect(result.rejection.kafkaTimestamp).toBe(record.timestamp);
      expect(result.rejection.detail).toMatch(detail);
      expect(result.rejection.detail).not.toContain('\u0000');
    },
  );

  it.each([
    { name: 'valid UTF-8 text', value: 'user_A,1000.5', rawValue: 'user_A,1000.5', rawEncoding: 'utf8' },
    {
      name: 'text with a trailing newline, as received',
      value: 'user_A\n',
      rawValue: 'user_A\n',
      rawEncoding: 'utf8',
    },
    {
      name: 'text with a BOM, as received',
      value: '\ufeffuser_A',
      rawValue: '\ufeffuser_A',
      rawEncoding: 'utf8',
    },
    {
      name: 'text holding NUL',
      value: 'a\u0000b,1',
      rawValue: Buffer.from('a\u0000b,1').toString('base64'),
      rawEncoding: 'base64',
    },
    { name: 'invalid UTF-8', value: Uint8Array.from([0xff, 0x00]), rawValue: '/wA=', rawEncoding: 'base64' },
    { name: 'a tombstone', value: null, rawValue: '', rawEncoding: 'utf8' },
  ])('stores the raw value of $name', ({ value, rawValue, rawEncoding }) => {
    // Prepare
    const record = recordWithValue(value);

    // Act
    const result = parseRecord(record, fromPayload);

    // Assess
    expect(result).toMatchObject({ ok: false, rejection: { rawValue, rawEncoding } });
  });

  it('never throws, and keeps the raw bytes recoverable, for any value (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.string({ unit: 'binary' }).map((s) => Buffer.from(s)),
        ),
        fc.constantFrom(fromPayload, fromKafka),
        (bytes, options) => {
          const value = Buffer.from(bytes);
          const result = parseRecord(recordWithValue(value), options);
          if (result.ok) return;
          const { rawValue, rawEncoding, reason, detail } = result.rejection;
          expect(REASONS).toContain(reason);
          expect(detail).not.toBe('');
          expect(detail).not.toContain('\u0000');
          expect(rawValue).not.toContain('\u0000');
          // As base64 text: a deep equality of two Buffers costs about a millisecond each.
          const recovered = Buffer.from(rawValue, rawEncoding === 'utf8' ? 'utf8' : 'base64');
          expect(recovered.toString('base64')).toBe(value.toString('base64'));
        },
      ),
      // About 1 s here; the unit project's timeout leaves room for a machine several times slower.
      { numRuns: 100 },
    );
  });
});

describe('parseRecord: event time from the Kafka record timestamp', () => {
  it.each([
    { name: 'a bare user id', value: 'user_A' },
    { name: 'a bare user id from a console producer', value: ' user_A\r\n' },
    { name: 'a second field that is not a time', value: 'user_A,clicked' },
    { name: 'a payload time, ignored', value: 'user_A,1000' },
    { name: 'an empty second field', value: 'user_A,' },
    { name: 'JSON without a timestamp', value: '{"userId":"user_A"}' },
    { name: 'JSON with a bad timestamp, ignored', value: '{"userId":"user_A","timestamp":"soon"}' },
  ])('takes the time from Kafka for $name', ({ value }) => {
    // Prepare
    const record = recordWithValue(value, { timestamp: 1732435200123 });

    // Act
    const result = parseRecord(record, fromKafka);

    // Assess
    expect(result).toEqual({
      ok: true,
      event: { offset: 42, userId: 'user_A', eventTime: 1732435200123, timestamp: 1732435200123 },
    });
  });

  it.each([
    {
      name: 'a missing Kafka timestamp (-1)',
      value: 'user_A',
      timestamp: -1,
      reason: 'timestamp_out_of_range',
      detail: /Kafka record timestamp -1 is outside/,
    },
    {
      name: 'three fields',
      value: 'user_A,1,2',
      timestamp: 1,
      reason: 'wrong_field_count',
      detail: /expected "<userId>" or "<userId>,<anything>", got 3/,
    },
    { name: 'an empty user id', value: ',1000', timestamp: 1, reason: 'empty_user_id', detail: /empty/ },
  ])('rejects $name', ({ value, timestamp, reason, detail }) => {
    // Prepare
    const record = recordWithValue(value, { timestamp });

    // Act
    const result = parseRecord(record, fromKafka);

    // Assess
    expect(result).toMatchObject({ ok: false, rejection: { reason, kafkaTimestamp: timestamp } });
    expect(result.ok ? '' : result.rejection.detail).toMatch(detail);
  });
});

describe('rejectLate', () => {
  it('builds a late rejection carrying the record coordinates and raw value', () => {
    // Prepare
    const record = kafkaRecord({
      topic: 'user_activity',
      partition: 1,
      offset: 8,
      value: Buffer.from('user_A,7000'),
    });

    // Act
    const rejection = rejectLate(record, 'session of user_A ending 12000 already fired at watermark 12999');

    // Assess
    expect(rejection).toEqual({
      topic: 'user_activity',
      partition: 1,
      offset: 8,
      kafkaTimestamp: record.timestamp,
      rawValue: 'user_A,7000',
      rawEncoding: 'utf8',
      reason: 'late',
      detail: 'session of user_A ending 12000 already fired at watermark 12999',
    });
  });

  it('escapes NUL in a detail so PostgreSQL text can hold it', () => {
    // Act
    const rejection = rejectLate(kafkaRecord(), 'odd\u0000detail');

    // Assess
    expect(rejection.detail).toBe('odd\\u0000detail');
  });
});
