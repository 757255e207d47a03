import type { KafkaRecord, Rejection, RejectReason } from './types.ts';

// One decoder for the whole module: fatal so invalid UTF-8 is detected rather than replaced with
// U+FFFD, and ignoreBOM so the text keeps a leading BOM and rawValue stays byte-faithful.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The record's value as text, or undefined when its bytes are not valid UTF-8. */
export function decodeUtf8(value: Buffer): string | undefined {
  try {
    return utf8.decode(value);
  } catch {
    return undefined;
  }
}

/**
 * A rejection for a record whose value is known to be valid UTF-8 (`text` is its decoding), so it
 * is not decoded twice. Text holding U+0000 is stored as base64: PostgreSQL text cannot hold NUL.
 */
export function rejectText(
  record: KafkaRecord,
  text: string,
  reason: RejectReason,
  detail: string,
): Rejection {
  const storable = !text.includes('\0');
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    kafkaTimestamp: record.timestamp,
    rawValue: storable ? text : (record.value as Buffer).toString('base64'),
    rawEncoding: storable ? 'utf8' : 'base64',
    reason,
    detail: storableDetail(detail),
  };
}

/**
 * A rejection for any record: the value is stored as text when it is valid UTF-8 without NUL,
 * otherwise as base64; a tombstone (null value) is stored as '' ('utf8').
 */
export function rejectRecord(record: KafkaRecord, reason: RejectReason, detail: string): Rejection {
  const { value } = record;
  const text = value === null ? '' : decodeUtf8(value);
  if (text !== undefined) return rejectText(record, text, reason, detail);
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    kafkaTimestamp: record.timestamp,
    rawValue: (value as Buffer).toString('base64'),
    rawEncoding: 'base64',
    reason,
    detail: storableDetail(detail),
  };
}

/** Callers quote user text with JSON.stringify, but a detail must never carry NUL into PostgreSQL. */
function storableDetail(detail: string): string {
  return detail.includes('\0') ? detail.replaceAll('\0', '\\u0000') : detail;
}

/**
 * The rejection for an event the engine refused as late (DESIGN.md section 3, rule 5). The handler
 * calls it with the KafkaRecord of each LateEvent the fold returns, e.g. with a detail like
 * "session [1000, 6000) of user_A already fired: watermark 9999".
 */
export function rejectLate(record: KafkaRecord, detail: string): Rejection {
  return rejectRecord(record, 'late', detail);
}
