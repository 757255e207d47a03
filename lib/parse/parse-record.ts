import type { KafkaRecord } from '../decode/index.ts';
import { checkUserId, fromKafkaTime, fromPayloadTime } from './event-rules.ts';
import { timeFromText } from './event-time.ts';
import { parseObject } from './fields.ts';
import { parseJson } from './json-value.ts';
import { reject, rejectRecord, rejectText } from './rejections.ts';
import { decodeUtf8, trimField } from './text-fields.ts';
import type { DecodedValue, ParseOptions, ParseResult } from './types.ts';

const OPEN_BRACE = 0x7b;
const BOM = 0xfeff;

/**
 * Turns a record's value into an event for the engine, or says why it cannot. Never throws.
 * The forms (docs/DESIGN.md section 2):
 * - text "<userId>,<eventTime>", each field trimmed (trimField: Java's String.trim()), the time an
 *   integer in EVENT_TIME_UNIT or an ISO-8601 time with a zone;
 * - a JSON object {"userId": "user_A", "timestamp": 1000}, recognised by a leading "{", its fields
 *   found by the field mapping (fields.ts);
 * - a record of an Avro or Protobuf schema: `decoded` is what the schema decoder made of it
 *   (schema-values.ts), the object the field mapping then reads, or why there is none.
 * With eventTimeSource 'kafka' the time is the Kafka record timestamp and the text form may be
 * "<userId>" or "<userId>,<anything>": the second field is not read.
 *
 * Runs once per record: no regular expressions, no split(), no closures.
 */
export function parseRecord(record: KafkaRecord, options: ParseOptions, decoded?: DecodedValue): ParseResult {
  if (record.envelopeFault !== undefined) {
    return reject(rejectRecord(record, 'bad_envelope', record.envelopeFault));
  }
  const { value } = record;
  if (value === null) return reject(rejectRecord(record, 'empty', 'the record value is null (a tombstone)'));
  if (value.length === 0) return reject(rejectRecord(record, 'empty', 'the record value is empty'));
  if (decoded !== undefined) {
    return decoded.ok ? parseObject(record, undefined, decoded.value, options) : reject(decoded.rejection);
  }
  const text = decodeUtf8(value);
  if (text === undefined) {
    return reject(
      rejectRecord(record, 'not_utf8', `the record value (${value.length} bytes) is not valid UTF-8`),
    );
  }
  // A BOM from a Windows editor is not part of the user id (rawValue still keeps it).
  const body = trimField(text.charCodeAt(0) === BOM ? text.slice(1) : text);
  if (body === '') return reject(rejectText(record, text, 'empty', 'the record value holds only whitespace'));
  return body.charCodeAt(0) === OPEN_BRACE
    ? parseJson(record, text, body, options)
    : parseDelimited(record, text, body, options);
}

/**
 * "<userId>,<eventTimeMillis>". A third field is an error in both modes, even where the second is
 * ignored: a value with two commas is not in this format, so guessing which part is the id would
 * put events under the wrong user.
 */
function parseDelimited(record: KafkaRecord, text: string, body: string, options: ParseOptions): ParseResult {
  const comma = body.indexOf(',');
  if (comma !== -1 && body.indexOf(',', comma + 1) !== -1) {
    return reject(
      rejectText(record, text, 'wrong_field_count', fieldCountDetail(countFields(body), options)),
    );
  }
  if (comma === -1 && options.eventTimeSource === 'payload') {
    return reject(rejectText(record, text, 'wrong_field_count', fieldCountDetail(1, options)));
  }
  const userId = trimField(comma === -1 ? body : body.slice(0, comma));
  const rejection = checkUserId(record, text, userId, options.maxUserIdLength);
  if (rejection !== undefined) return reject(rejection);
  if (options.eventTimeSource === 'kafka') return fromKafkaTime(record, text, userId, options);
  const field = trimField(body.slice(comma + 1));
  const unit = options.fields?.unit ?? 'ms';
  return fromPayloadTime(
    record,
    text,
    userId,
    timeFromText(field, unit, options.maxEventTimeMs),
    field,
    unit,
    options,
  );
}

function countFields(body: string): number {
  let fields = 1;
  for (let i = body.indexOf(','); i !== -1; i = body.indexOf(',', i + 1)) fields++;
  return fields;
}

function fieldCountDetail(fields: number, options: ParseOptions): string {
  const expected =
    options.eventTimeSource === 'payload'
      ? '"<userId>,<eventTimeMillis>" (2 fields)'
      : '"<userId>" or "<userId>,<anything>"';
  return `expected ${expected}, got ${fields} comma-separated field${fields === 1 ? '' : 's'}`;
}
