import type { KafkaRecord } from '../decode/index.ts';
import { NO_ZONE } from './event-time.ts';
import { reject, rejectValue } from './rejections.ts';
import { checkMillis, NOT_INTEGER, quote, UNSTORABLE, userIdLength } from './text-fields.ts';
import type { EventTimeUnit, ParseOptions, ParseResult, Rejection } from './types.ts';

/*
 * The checks every value form shares, once the user id and time are cut out. Each takes the
 * record's decoded `text` so a rejection stores it without decoding the bytes again (undefined for
 * a value of a schema format, which is stored as its bytes).
 */

function accept(record: KafkaRecord, userId: string, eventTime: number): ParseResult {
  // A Kafka timestamp beyond 2^53 (a broker takes any long) is not a number anything downstream can
  // store exactly: the event goes on as one without a timestamp.
  const timestamp = Number.isSafeInteger(record.timestamp) ? record.timestamp : -1;
  return { ok: true, event: { offset: record.offset, userId, eventTime, timestamp } };
}

/** The user id must be non-empty, storable in PostgreSQL text, and short enough for group_key. */
export function checkUserId(
  record: KafkaRecord,
  text: string | undefined,
  userId: string,
  maxLength: number,
): Rejection | undefined {
  if (userId === '') return rejectValue(record, text, 'empty_user_id', 'the user id is empty');
  const length = userIdLength(userId);
  if (length === UNSTORABLE) {
    return rejectValue(
      record,
      text,
      'bad_user_id',
      `the user id ${quote(userId)} contains U+0000 or a lone surrogate, which PostgreSQL text cannot store`,
    );
  }
  if (length > maxLength) {
    return rejectValue(
      record,
      text,
      'user_id_too_long',
      `the user id has ${length} characters; at most ${maxLength} fit the 255-character group_key`,
    );
  }
  return undefined;
}

/** eventTimeSource 'kafka': the record timestamp is the event time (-1, "no timestamp", is refused). */
export function fromKafkaTime(
  record: KafkaRecord,
  text: string | undefined,
  userId: string,
  options: ParseOptions,
): ParseResult {
  const time = checkMillis(record.timestamp, options.maxEventTimeMs);
  if (time >= 0) return accept(record, userId, time);
  return reject(
    rejectValue(
      record,
      text,
      'timestamp_out_of_range',
      `the Kafka record timestamp ${record.timestamp} is outside 0..${options.maxEventTimeMs} ms`,
    ),
  );
}

/**
 * `time` is a timeFromText/timeFromNumber result (event-time.ts); `field` is what the payload said,
 * for the detail, and `unit` the unit a number in it is read in (EVENT_TIME_UNIT).
 */
export function fromPayloadTime(
  record: KafkaRecord,
  text: string | undefined,
  userId: string,
  time: number,
  field: string,
  unit: EventTimeUnit,
  options: ParseOptions,
): ParseResult {
  if (time >= 0) {
    const future = checkFuture(record, text, time, options.maxFutureMs);
    return future === undefined ? accept(record, userId, time) : reject(future);
  }
  if (time === NOT_INTEGER) {
    return reject(
      rejectValue(
        record,
        text,
        'timestamp_not_integer',
        `the event time ${quote(field)} is not an integer number of ${unit === 's' ? 'seconds' : 'milliseconds'} ` +
          'nor an ISO-8601 time with a zone',
      ),
    );
  }
  if (time === NO_ZONE) {
    return reject(
      rejectValue(
        record,
        text,
        'timestamp_without_zone',
        `the event time ${quote(field)} has no zone, so it names no instant: add "Z" (UTC) or an offset such as "+01:00"`,
      ),
    );
  }
  // OUT_OF_RANGE: negative, past maxEventTimeMs, or beyond 2^53 - 1 (not exact as a double).
  return reject(
    rejectValue(
      record,
      text,
      'timestamp_out_of_range',
      `the event time ${quote(field)} is outside 0..${options.maxEventTimeMs} ms` +
        ` (1970-01-01T00:00:00.000Z..${new Date(options.maxEventTimeMs).toISOString()})`,
    ),
  );
}

/**
 * The future-timestamp guard (MAX_FUTURE_MS, off by default). Flink takes any event time at its
 * word: one record stamped in year 9999 moves the partition's watermark there for good, and every
 * later record is late. The guard compares the event time with the record's own Kafka timestamp
 * (when the producer sent it, or when the broker appended it), never with the wall clock, so
 * whether a record passes depends on the record alone and a replay decides the same. A record
 * without a Kafka timestamp (-1) cannot be judged and passes.
 */
function checkFuture(
  record: KafkaRecord,
  text: string | undefined,
  time: number,
  maxFutureMs: number | undefined,
): Rejection | undefined {
  if (maxFutureMs === undefined || record.timestamp < 0) return undefined;
  const ahead = time - record.timestamp;
  if (ahead <= maxFutureMs) return undefined;
  return rejectValue(
    record,
    text,
    'future',
    `the event time ${time} is ${ahead} ms ahead of the Kafka record timestamp ${record.timestamp}; ` +
      `at most ${maxFutureMs} ms is accepted (MAX_FUTURE_MS)`,
  );
}
