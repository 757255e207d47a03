import { describe, expect, it } from 'vitest';
import {
  type DecodedValue,
  type FieldMapping,
  fieldOptions,
  fieldPathProblem,
  type ParseOptions,
  parseRecord,
  type RejectReason,
} from '../../../lib/parse/index.ts';
import { MAX_EVENT_TIME_MS, MAX_USER_ID_LENGTH, recordWithValue } from './factories.ts';

// docs/DESIGN.md section 2: real producers' values. The user id and the event time are found by
// paths (USER_ID_FIELD, EVENT_TIME_FIELD), a numeric time is in EVENT_TIME_UNIT, an ISO-8601 time
// with a zone is accepted in every form, and every failure names the path.

const options = (mapping: Partial<FieldMapping> = {}): ParseOptions => ({
  eventTimeSource: 'payload',
  maxUserIdLength: MAX_USER_ID_LENGTH,
  maxEventTimeMs: MAX_EVENT_TIME_MS,
  fields: fieldOptions({
    userIdField: 'userId',
    eventTimeField: 'timestamp',
    eventTimeUnit: 'ms',
    ...mapping,
  }),
});
const NESTED = options({ userIdField: 'user.id', eventTimeField: 'event_time' });
const SECONDS = options({ eventTimeUnit: 's' });
const INSTANT = Date.parse('2026-12-02T02:48:00.123Z');
const KAFKA_TIME = 1732435200123;

const accepted = (userId: string, eventTime: number) => ({
  ok: true,
  event: { offset: 42, userId, eventTime, timestamp: KAFKA_TIME },
});

describe('the field mapping: accepted values', () => {
  it.each([
    {
      name: 'an ISO time with Z in the text form',
      value: 'user_A,2026-12-02T02:48:00.123Z',
      options: options(),
      userId: 'user_A',
      eventTime: INSTANT,
    },
    {
      name: 'an ISO time with an offset in the text form',
      value: ' user_A , 2026-12-02T03:48:00.123+01:00 ',
      options: options(),
      userId: 'user_A',
      eventTime: INSTANT,
    },
    {
      name: 'an ISO time in JSON',
      value: '{"userId":"user_A","timestamp":"2026-12-02T02:48:00.123Z"}',
      options: options(),
      userId: 'user_A',
      eventTime: INSTANT,
    },
    {
      name: 'nested paths',
      value: '{"user":{"id":"user_A","plan":"pro"},"event_time":"2026-12-02T02:48:00.123Z","page":"/"}',
      options: NESTED,
      userId: 'user_A',
      eventTime: INSTANT,
    },
    {
      name: 'nested paths and a number in milliseconds',
      value: '{"user":{"id":" user_A "},"event_time":1000}',
      options: NESTED,
      userId: 'user_A',
      eventTime: 1000,
    },
    {
      name: 'seconds as a JSON number',
      value: '{"userId":"user_A","timestamp":1732435200}',
      options: SECONDS,
      userId: 'user_A',
      eventTime: 1_732_435_200_000,
    },
    {
      name: 'seconds as a quoted number',
      value: '{"userId":"user_A","timestamp":" 1732435200 "}',
      options: SECONDS,
      userId: 'user_A',
      eventTime: 1_732_435_200_000,
    },
    {
      name: 'seconds in the text form',
      value: 'user_A,1732435200',
      options: SECONDS,
      userId: 'user_A',
      eventTime: 1_732_435_200_000,
    },
    {
      name: 'an ISO time when numbers are seconds',
      value: 'user_A,2026-12-02T02:48:00.123Z',
      options: SECONDS,
      userId: 'user_A',
      eventTime: INSTANT,
    },
    {
      name: 'a path that is a single name other than the default',
      value: '{"uid":"user_A","ts":7}',
      options: options({ userIdField: 'uid', eventTimeField: 'ts' }),
      userId: 'user_A',
      eventTime: 7,
    },
  ])('reads $name', ({ value, options, userId, eventTime }) => {
    // Act
    const result = parseRecord(recordWithValue(value), options);

    // Assess
    expect(result).toEqual(accepted(userId, eventTime));
  });

  it('reads an object a schema decoder handed over, without reading the bytes as text', () => {
    // Prepare: the bytes are not the point (schema-values.test.ts decodes real ones).
    const decoded: DecodedValue = { ok: true, value: { user: { id: 'user_A' }, event_time: '1000' } };

    // Act
    const result = parseRecord(recordWithValue(Buffer.from([0, 0, 0, 0, 1, 2])), NESTED, decoded);

    // Assess
    expect(result).toEqual(accepted('user_A', 1000));
  });
});

describe('the field mapping: rejections name the path', () => {
  it.each([
    {
      value: '{"event_time":1000}',
      reason: 'missing_field',
      detail: /^field "user\.id": "user" is missing, so the value has no user id$/,
    },
    {
      value: '{"user":{},"event_time":1000}',
      reason: 'missing_field',
      detail: /^field "user\.id": "user\.id" is missing, so the value has no user id$/,
    },
    {
      value: '{"user":{"id":null},"event_time":1000}',
      reason: 'missing_field',
      detail: /^field "user\.id": "user\.id" is null/,
    },
    {
      value: '{"user":"user_A","event_time":1000}',
      reason: 'wrong_field_type',
      detail:
        /^field "user\.id": "user" is a string \("user_A"\), not an object holding "id", so the value has no user id$/,
    },
    {
      value: '{"user":[{"id":"user_A"}],"event_time":1000}',
      reason: 'wrong_field_type',
      detail: /^field "user\.id": "user" is an array, not an object holding "id"/,
    },
    {
      value: '{"user":{"id":["user_A"]},"event_time":1000}',
      reason: 'wrong_field_type',
      detail: /^field "user\.id": the user id is an array, expected a string$/,
    },
    {
      value: '{"user":{"id":""},"event_time":1000}',
      reason: 'empty_user_id',
      detail: /^field "user\.id": the user id is empty$/,
    },
    {
      value: '{"user":{"id":"user_A"}}',
      reason: 'missing_field',
      detail: /^field "event_time": "event_time" is missing, so the value has no event time$/,
    },
    {
      value: '{"user":{"id":"user_A"},"event_time":{"seconds":1}}',
      reason: 'wrong_field_type',
      detail: /^field "event_time": the event time is an object, expected epoch milliseconds/,
    },
    {
      value: '{"user":{"id":"user_A"},"event_time":"2026-12-02T02:48:00.123"}',
      reason: 'timestamp_without_zone',
      detail:
        /^field "event_time": the event time "2026-12-02T02:48:00\.123" has no zone, so it names no instant: add "Z"/,
    },
    {
      value: '{"user":{"id":"user_A"},"event_time":"2026-02-30T00:00:00Z"}',
      reason: 'timestamp_not_integer',
      detail:
        /^field "event_time": the event time "2026-02-30T00:00:00Z" is not an integer number of milliseconds nor an ISO-8601 time/,
    },
    {
      value: '{"user":{"id":"user_A"},"event_time":"1969-12-31T23:59:59Z"}',
      reason: 'timestamp_out_of_range',
      detail: /^field "event_time": the event time "1969-12-31T23:59:59Z" is outside 0\.\.253402300799999 ms/,
    },
    {
      value: '{"user":{"id":"user_A"},"event_time":10.5}',
      reason: 'timestamp_not_integer',
      detail: /^field "event_time": the event time "10\.5" is not an integer/,
    },
  ] satisfies { value: string; reason: RejectReason; detail: RegExp }[])(
    'rejects $value as $reason',
    ({ value, reason, detail }) => {
      // Act
      const result = parseRecord(recordWithValue(value), NESTED);

      // Assess
      expect(result).toMatchObject({
        ok: false,
        rejection: { reason, rawValue: value, rawEncoding: 'utf8' },
      });
      expect(result.ok ? '' : result.rejection.detail).toMatch(detail);
    },
  );

  it.each([
    {
      value: 'user_A,2026-12-02T02:48:00',
      reason: 'timestamp_without_zone',
      detail: /"2026-12-02T02:48:00" has no zone/,
    },
    { value: 'user_A,1732435200123', reason: 'timestamp_out_of_range', detail: /"1732435200123" is outside/ },
    { value: 'user_A,1.5', reason: 'timestamp_not_integer', detail: /not an integer number of seconds/ },
  ] satisfies { value: string; reason: RejectReason; detail: RegExp }[])(
    'rejects the text $value in seconds as $reason',
    ({ value, reason, detail }) => {
      // Act
      const result = parseRecord(recordWithValue(value), SECONDS);

      // Assess
      expect(result).toMatchObject({ ok: false, rejection: { reason } });
      expect(result.ok ? '' : result.rejection.detail).toMatch(detail);
    },
  );

  it('never reaches into Object.prototype', () => {
    // Prepare
    const mapped = options({ userIdField: 'constructor', eventTimeField: '__proto__.x' });

    // Act
    const user = parseRecord(recordWithValue('{"timestamp":1}'), mapped);
    const time = parseRecord(recordWithValue('{"constructor":"user_A"}'), mapped);

    // Assess
    expect(user).toMatchObject({ ok: false, rejection: { reason: 'missing_field' } });
    expect(time).toMatchObject({ ok: false, rejection: { reason: 'missing_field' } });
  });

  it('stores a decoded value that fails as its bytes, in base64', () => {
    // Prepare
    const bytes = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x01, 0x0c, 0xff]);

    // Act
    const result = parseRecord(recordWithValue(bytes), NESTED, { ok: true, value: { user: {} } });

    // Assess
    expect(result).toMatchObject({
      ok: false,
      rejection: { reason: 'missing_field', rawValue: bytes.toString('base64'), rawEncoding: 'base64' },
    });
  });
});

describe('fieldPathProblem', () => {
  it.each(['userId', 'user.id', 'a.b.c', 'user id', 'ä'])('accepts %j', (path) => {
    expect(fieldPathProblem(path)).toBeUndefined();
  });

  it.each(['', '.id', 'user.', 'user..id', '.'])('refuses %j', (path) => {
    expect(fieldPathProblem(path)).toMatch(/dotted path such as user\.id/);
  });
});
