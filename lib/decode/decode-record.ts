import { EventShapeError } from '../errors.ts';
import type { Base64Decoder } from './base64.ts';
import type { KafkaHeader, KafkaRecord, TimestampType } from './types.ts';

/** A field that could not be decoded: why, for the record's `bad_envelope` rejection. */
class FieldFault extends Error {}

/**
 * Decodes one record of the wire event: base64 key and value to bytes, signed-byte headers to
 * bytes.
 *
 * Throws EventShapeError only when the record cannot be placed: no object, no topic, partition or
 * offset. Everything else that is wrong concerns this record alone (a timestamp or timestampType
 * Lambda would never send, a value that is not base64, malformed headers): the record is returned
 * with `envelopeFault` set and becomes one `bad_envelope` rejection, so one odd record never fails
 * the event and stalls its partitions. A bad payload is parse.ts's business and never throws either.
 *
 * `group` and `index` name the record in messages, e.g. `Kafka event records["user_activity-0"]`
 * and 3 for `Kafka event records["user_activity-0"][3]`; the name is built only for a message, not
 * for every record.
 */
export function decodeRecord(raw: unknown, group: string, index: number, base64: Base64Decoder): KafkaRecord {
  if (!isPlainObject(raw))
    throw new EventShapeError(`${group}[${index}] is ${describeValue(raw)}, expected a record object`);
  const { topic, partition, offset, timestamp, timestampType } = raw;
  if (typeof topic !== 'string' || topic === '') {
    throw new EventShapeError(`${group}[${index}] has no topic (got ${describeValue(topic)})`);
  }
  if (!isNonNegativeInteger(partition)) {
    throw new EventShapeError(`${group}[${index}] has no valid partition (got ${describeValue(partition)})`);
  }
  if (!isNonNegativeInteger(offset)) {
    throw new EventShapeError(`${group}[${index}] has no valid offset (got ${describeValue(offset)})`);
  }
  // No closure and no string on the path of a well-formed record: this runs for every record.
  let faults: string[] | undefined;
  let time = -1;
  // Any whole number: Kafka writes -1 for "no timestamp", and a broker accepts any long, which
  // JSON gives us as the nearest double (9223372036854775807 arrives as 2^63). The fold never
  // needs it; where it would (EVENT_TIME_SOURCE=kafka) the parser rejects what is out of range.
  if (typeof timestamp === 'number' && Number.isInteger(timestamp)) time = timestamp;
  else faults = withFault(faults, `timestamp is ${describeValue(timestamp)}, expected epoch milliseconds`);
  let type: TimestampType = 'CREATE_TIME';
  if (timestampType === 'CREATE_TIME' || timestampType === 'LOG_APPEND_TIME') type = timestampType;
  else {
    faults = withFault(
      faults,
      `timestampType is ${describeValue(timestampType)}, expected "CREATE_TIME" or "LOG_APPEND_TIME"`,
    );
  }
  let key: Buffer | null = null;
  let value: Buffer | null = null;
  let headers: KafkaHeader[] | undefined;
  try {
    key = decodeBase64(raw.key, 'key', base64);
  } catch (error) {
    faults = withFault(faults, faultOf(error));
  }
  try {
    value = decodeBase64(raw.value, 'value', base64);
  } catch (error) {
    faults = withFault(faults, faultOf(error));
  }
  try {
    headers = decodeHeaders(raw.headers);
  } catch (error) {
    faults = withFault(faults, faultOf(error));
  }
  const record: KafkaRecord = {
    topic,
    partition,
    offset,
    timestamp: time,
    timestampType: type,
    key,
    value,
    headers: headers ?? [],
  };
  if (faults === undefined) return record;
  return { ...record, envelopeFault: `${group}[${index}]: ${faults.join('; ')}` };
}

function withFault(faults: string[] | undefined, message: string): string[] {
  if (faults === undefined) return [message];
  faults.push(message);
  return faults;
}

function faultOf(error: unknown): string {
  if (error instanceof FieldFault) return error.message;
  throw error;
}

/**
 * Lambda leaves `key` out for a keyless record and `value` out for a tombstone; null means the same.
 * The text is checked as it is decoded (lib/decode/base64.ts): Buffer.from(text, 'base64') never
 * fails (it skips what is not base64), so a value that is not base64 would turn silently into other
 * bytes.
 */
function decodeBase64(field: unknown, name: string, base64: Base64Decoder): Buffer | null {
  if (field === undefined || field === null) return null;
  if (typeof field !== 'string')
    throw new FieldFault(`${name} is ${describeValue(field)}, expected base64 text`);
  const bytes = base64.decode(field);
  if (bytes === undefined) throw new FieldFault(`${name} is not base64`);
  return bytes;
}

/**
 * Headers arrive as `[{"k": [104, -61, ...]}, ...]`: Java's signed bytes. Unsigned 128..255 are
 * accepted too (each still names exactly one byte). A header whose value is null (Kafka allows it)
 * becomes an empty Buffer. A fault names the header, e.g. `headers[0]["k"][1]`; that name is built
 * only then, not for every header.
 */
function decodeHeaders(field: unknown): KafkaHeader[] {
  if (field === undefined || field === null) return [];
  if (!Array.isArray(field)) throw new FieldFault(`headers is ${describeValue(field)}, expected an array`);
  const headers: KafkaHeader[] = [];
  for (let i = 0; i < field.length; i++) {
    const header: unknown = field[i];
    if (!isPlainObject(header)) {
      throw new FieldFault(`headers[${i}] is ${describeValue(header)}, expected {"<key>": [bytes]}`);
    }
    // for-in over own properties: Object.keys' names in Object.keys' order, without its array.
    for (const key in header) {
      if (!Object.hasOwn(header, key)) continue;
      headers.push({ key, value: decodeSignedBytes(header[key], i, key) });
    }
  }
  return headers;
}

function decodeSignedBytes(field: unknown, header: number, key: string): Buffer {
  if (field === null) return Buffer.alloc(0);
  if (!Array.isArray(field)) {
    throw new FieldFault(
      `headers[${header}]["${key}"] is ${describeValue(field)}, expected an array of bytes`,
    );
  }
  const bytes = Buffer.allocUnsafe(field.length);
  for (let i = 0; i < field.length; i++) {
    const byte: unknown = field[i];
    if (typeof byte !== 'number' || !Number.isInteger(byte) || byte < -128 || byte > 255) {
      throw new FieldFault(
        `headers[${header}]["${key}"][${i}] is ${describeValue(byte)}, expected a byte (-128..127)`,
      );
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
