import type { KafkaRecord } from '../decode/index.ts';
import { decodeUtf8 } from './text-fields.ts';
import type { ParseResult, Rejection, RejectReason } from './types.ts';

/** A parse result that rejects the record. */
export function reject(rejection: Rejection): ParseResult {
  return { ok: false, rejection };
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
 * A rejection for a record whose value is `text` when it was read as text, or bytes of a schema
 * format (undefined: stored as rejectRecord stores it).
 */
export function rejectValue(
  record: KafkaRecord,
  text: string | undefined,
  reason: RejectReason,
  detail: string,
): Rejection {
  return text === undefined ? rejectRecord(record, reason, detail) : rejectText(record, text, reason, detail);
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
 * The rejection for an event the engine refused as late (docs/DESIGN.md section 3, rule 5). The
 * pipeline calls it with the KafkaRecord of each LateEvent the fold returns and a detail like
 * "event time 1000 of user_A: its session had closed at watermark 9999".
 */
export function rejectLate(record: KafkaRecord, detail: string): Rejection {
  return rejectRecord(record, 'late', detail);
}
