import { EventShapeError } from '../errors.ts';
import type { KafkaHeader, KafkaRecord } from './types.ts';

/**
 * Decodes one record of the wire event: base64 key and value to bytes, signed-byte headers to
 * bytes. Throws EventShapeError when the record is not shaped like the ones Lambda sends; that is a
 * broken envelope, not a bad payload (bad payloads are parse.ts's business and never throw).
 *
 * `where` names the record in messages, e.g. `records["user_activity-0"][3]`.
 */
export function decodeRecord(raw: unknown, where: string): KafkaRecord {
  if (!isPlainObject(raw))
    throw new EventShapeError(`${where} is ${describeValue(raw)}, expected a record object`);
  const { topic, partition, offset, timestamp, timestampType } = raw;
  if (typeof topic !== 'string' || topic === '') {
    throw new EventShapeError(`${where} has no topic (got ${describeValue(topic)})`);
  }
  if (!isNonNegativeInteger(partition)) {
    throw new EventShapeError(`${where} has no valid partition (got ${describeValue(partition)})`);
  }
  if (!isNonNegativeInteger(offset)) {
    throw new EventShapeError(`${where} has no valid offset (got ${describeValue(offset)})`);
  }
  // Kafka writes -1 when a record has no timestamp (message format v0), so negatives are legal here.
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp)) {
    throw new EventShapeError(`${where} has no valid timestamp (got ${describeValue(timestamp)})`);
  }
  if (timestampType !== 'CREATE_TIME' && timestampType !== 'LOG_APPEND_TIME') {
    throw new EventShapeError(
      `${where} has timestampType ${describeValue(timestampType)}, expected "CREATE_TIME" or "LOG_APPEND_TIME"`,
    );
  }
  return {
    topic,
    partition,
    offset,
    timestamp,
    timestampType,
    key: decodeBase64(raw.key, `${where}.key`),
    value: decodeBase64(raw.value, `${where}.value`),
    headers: decodeHeaders(raw.headers, `${where}.headers`),
  };
}

/** Lambda leaves `key` out for a keyless record and `value` out for a tombstone; null means the same. */
function decodeBase64(field: unknown, where: string): Buffer | null {
  if (field === undefined || field === null) return null;
  if (typeof field !== 'string')
    throw new EventShapeError(`${where} is ${describeValue(field)}, expected base64 text`);
  return Buffer.from(field, 'base64');
}

/**
 * Headers arrive as `[{"k": [104, -61, ...]}, ...]`: Java's signed bytes. Unsigned 128..255 are
 * accepted too (each still names exactly one byte); anything else is a broken envelope. A header
 * whose value is null (Kafka allows it) becomes an empty Buffer: the app never reads headers.
 */
function decodeHeaders(field: unknown, where: string): KafkaHeader[] {
  if (field === undefined || field === null) return [];
  if (!Array.isArray(field))
    throw new EventShapeError(`${where} is ${describeValue(field)}, expected an array`);
  const headers: KafkaHeader[] = [];
  for (let i = 0; i < field.length; i++) {
    const header: unknown = field[i];
    if (!isPlainObject(header)) {
      throw new EventShapeError(`${where}[${i}] is ${describeValue(header)}, expected {"<key>": [bytes]}`);
    }
    for (const key of Object.keys(header)) {
      headers.push({ key, value: decodeSignedBytes(header[key], `${where}[${i}]["${key}"]`) });
    }
  }
  return headers;
}

function decodeSignedBytes(field: unknown, where: string): Buffer {
  if (field === null) return Buffer.alloc(0);
  if (!Array.isArray(field))
    throw new EventShapeError(`${where} is ${describeValue(field)}, expected an array of bytes`);
  const bytes = Buffer.allocUnsafe(field.length);
  for (let i = 0; i < field.length; i++) {
    const byte: unknown = field[i];
    if (typeof byte !== 'number' || !Number.isInteger(byte) || byte < -128 || byte > 255) {
      throw new EventShapeError(`${where}[${i}] is ${describeValue(byte)}, expected a byte (-128..127)`);
    }
    bytes[i] = byte & 0xff;
  }
  return bytes;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short rendering of an unexpected value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
