import type { KafkaRecord } from '../decode/index.ts';
import { parseObject } from './fields.ts';
import { reject, rejectText } from './rejections.ts';
import type { ParseOptions, ParseResult } from './types.ts';

/**
 * The JSON form, {"userId": "user_A", "timestamp": 1000} by default; `body` is the trimmed text
 * starting with "{". Where the user id and the time are is the field mapping's business
 * (fields.ts: USER_ID_FIELD, EVENT_TIME_FIELD, EVENT_TIME_UNIT); other properties are ignored. A
 * JSON number time must be integral (1000.0 and 1e3 parse to the integer 1000 and are accepted); a
 * string time follows the text form's rules (an integer, or an ISO-8601 time with a zone).
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
  return parseObject(record, text, parsed, options);
}
