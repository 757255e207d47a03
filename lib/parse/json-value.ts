import type { KafkaRecord } from '../decode/index.ts';
import { checkUserId, fromKafkaTime, fromPayloadTime } from './event-rules.ts';
import { reject, rejectText } from './rejections.ts';
import { checkMillis, parseMillis, trimField } from './text-fields.ts';
import type { ParseOptions, ParseResult } from './types.ts';

/**
 * The JSON form, {"userId": "user_A", "timestamp": 1000}; `body` is the trimmed text starting with
 * "{". Other properties are ignored. The user id is trimmed like the text form's, so both forms give
 * the same group_key. A quoted timestamp ("1000") follows the text form's integer rules; a JSON
 * number must be integral (1000.0 and 1e3 parse to the integer 1000 and are accepted).
 */
export function parseJson(
  record: KafkaRecord,
  text: string,
  body: string,
  options: ParseOptions,
): ParseResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return reject(
      rejectText(record, text, 'bad_json', `the value starts with "{" but is not valid JSON: ${reason}`),
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return reject(rejectText(record, text, 'bad_json', 'the value is JSON but not an object'));
  }
  const fields = parsed as Record<string, unknown>;
  const rawUserId = fields.userId;
  if (rawUserId === undefined || rawUserId === null) {
    return reject(rejectText(record, text, 'empty_user_id', 'the JSON object has no "userId"'));
  }
  if (typeof rawUserId !== 'string') {
    return reject(
      rejectText(record, text, 'bad_json', `"userId" is a ${typeof rawUserId}, expected a string`),
    );
  }
  const userId = trimField(rawUserId);
  const rejection = checkUserId(record, text, userId, options.maxUserIdLength);
  if (rejection !== undefined) return reject(rejection);
  if (options.eventTimeSource === 'kafka') return fromKafkaTime(record, text, userId, options);

  const time = fields.timestamp;
  if (typeof time === 'number') {
    return fromPayloadTime(
      record,
      text,
      userId,
      checkMillis(time, options.maxEventTimeMs),
      String(time),
      options,
    );
  }
  // Producers that quote numbers are common.
  if (typeof time === 'string') {
    const field = trimField(time);
    return fromPayloadTime(record, text, userId, parseMillis(field, options.maxEventTimeMs), field, options);
  }
  const what =
    time === undefined || time === null ? 'has no "timestamp"' : `has a ${typeof time} "timestamp"`;
  return reject(
    rejectText(
      record,
      text,
      'timestamp_not_integer',
      `the JSON object ${what}, expected integer epoch milliseconds`,
    ),
  );
}
