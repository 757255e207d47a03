/**
 * The sink's array parameters in PostgreSQL's binary array format (the format of array_send and
 * array_recv), one Buffer per parameter. node-postgres sends a Buffer parameter in binary, so the
 * server reads each element as its bytes (int8recv: eight bytes; varcharrecv: the UTF-8 text)
 * instead of parsing a text literal (array_in: scanning, unquoting, then int8in or varcharin per
 * element), and the job builds no literal string: the literals took about a sixth of the bytes a
 * handler thread allocated in a drain, and PostgreSQL's parsing of them a share of its time
 * (docs/BENCHMARKS.md, "The evening of 2026-12-04, later: binary arrays again, for the drain").
 *
 * Layout, big-endian (what PostgreSQL's array_recv reads): the number of dimensions
 * (1; 0 for an empty array, which has no dimension), a flags word (0: no NULLs), the element type's
 * OID, then per dimension its length and lower bound (1); then per element its length in bytes and
 * the bytes. The statements cast each parameter (`$n::bigint[]`, `$n::varchar[]`), which makes that
 * the parameter's type: array_recv refuses an element OID other than the cast's.
 */

import { MAX_EVENT_TIME_MS } from '../engine/index.ts';

/** pg_type OIDs of the element types. */
const INT8_OID = 20;
const VARCHAR_OID = 1043;
const TIMESTAMP_OID = 1114;
const TIMESTAMPTZ_OID = 1184;

/** PostgreSQL's epoch (2000-01-01T00:00:00Z) in Unix epoch milliseconds. */
const POSTGRES_EPOCH_MS = 946_684_800_000;

const TWO_TO_32 = 2 ** 32;

/** Bytes before the first element: ndim, flags, element type, and the one dimension's length and lower bound. */
const HEADER_BYTES = 20;
/** An empty array's bytes: ndim 0, flags, element type, and no dimension. */
const EMPTY_BYTES = 12;

function header(out: Buffer, count: number, elementType: number): number {
  out.writeInt32BE(count === 0 ? 0 : 1, 0);
  out.writeInt32BE(0, 4);
  out.writeInt32BE(elementType, 8);
  if (count === 0) return EMPTY_BYTES;
  out.writeInt32BE(count, 12);
  out.writeInt32BE(1, 16);
  return HEADER_BYTES;
}

/**
 * A bigint[] of values[from..to). Each must be a safe integer (every time and count the sink
 * writes is one); anything else throws RangeError, which the sink reports as data it cannot encode
 * (SinkDataError), as PostgreSQL refused the text of a fraction before.
 */
export function int8Array(values: readonly number[], from = 0, to = values.length): Buffer {
  const count = to - from;
  const out = Buffer.allocUnsafe(count === 0 ? EMPTY_BYTES : HEADER_BYTES + 12 * count);
  let at = header(out, count, INT8_OID);
  for (let i = from; i < to; i++) {
    const value = values[i] as number;
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`a bigint column got ${value}, which is not a safe integer`);
    }
    out.writeInt32BE(8, at);
    writeInt64(out, at + 4, value, 1);
    at += 12;
  }
  return out;
}

/**
 * Writes value * scale (scale 1 or 1,000; value a safe integer) as a big-endian two's complement
 * int64 at `at`: in two words, the high one the floor of the product / 2^32, so a negative
 * product's low word is still the unsigned remainder. value * 1,000 need not be a safe integer
 * (microseconds near the year 9999 are not): the two words of value are scaled apart, each exactly.
 */
function writeInt64(out: Buffer, at: number, value: number, scale: 1 | 1000): void {
  const high = Math.floor(value / TWO_TO_32);
  const low = (value - high * TWO_TO_32) * scale;
  const carry = Math.floor(low / TWO_TO_32);
  out.writeInt32BE(high * scale + carry, at);
  out.writeUInt32BE(low - carry * TWO_TO_32, at + 4);
}

/**
 * Epoch milliseconds as a timestamptz[] ('tz') or timestamp[] ('local') of values[from..to): both
 * are sent as microseconds since 2000-01-01 (timestamp_recv, timestamptz_recv), so PostgreSQL
 * stores the bytes as they come, with no conversion, in every TimeZone; a TIMESTAMP holds the UTC
 * time of day. Each value must be an event time of the sink's range (0 to
 * lib/engine/constants.ts MAX_EVENT_TIME_MS, every session time the engine emits): anything else
 * throws RangeError (SinkDataError).
 */
export function timestampArray(
  values: readonly number[],
  zone: 'tz' | 'local',
  from = 0,
  to = values.length,
): Buffer {
  const count = to - from;
  const out = Buffer.allocUnsafe(count === 0 ? EMPTY_BYTES : HEADER_BYTES + 12 * count);
  let at = header(out, count, zone === 'tz' ? TIMESTAMPTZ_OID : TIMESTAMP_OID);
  for (let i = from; i < to; i++) {
    const value = values[i] as number;
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_EVENT_TIME_MS) {
      throw new RangeError(`a timestamp column got ${value}, which is not an event time in milliseconds`);
    }
    out.writeInt32BE(8, at);
    writeInt64(out, at + 4, value - POSTGRES_EPOCH_MS, 1000);
    at += 12;
  }
  return out;
}

/**
 * A varchar[] of values[from..to), each element its UTF-8 bytes (a lone surrogate becomes U+FFFD,
 * as Buffer.from writes it). ASCII text, every bench id and key, is copied by a loop here; other
 * text by Buffer#write. No element may be null: the session columns are NOT NULL.
 */
export function varcharArray(values: readonly string[], from = 0, to = values.length): Buffer {
  const count = to - from;
  let bytes = count === 0 ? EMPTY_BYTES : HEADER_BYTES + 4 * count;
  for (let i = from; i < to; i++) bytes += utf8Length(values[i] as string);
  const out = Buffer.allocUnsafe(bytes);
  let at = header(out, count, VARCHAR_OID);
  for (let i = from; i < to; i++) {
    const start = at + 4;
    const end = writeText(out, start, values[i] as string);
    out.writeInt32BE(end - start, at);
    at = end;
  }
  return out;
}

/** Writes `value`'s UTF-8 bytes at `at` (room for utf8Length of it); returns where they end. */
function writeText(out: Buffer, at: number, value: string): number {
  const n = value.length;
  for (let c = 0; c < n; c++) {
    const code = value.charCodeAt(c);
    // Not ASCII: Buffer#write writes the whole text over what the loop wrote.
    if (code >= 0x80) return at + out.write(value, at, 'utf8');
    out[at + c] = code;
  }
  return at + n;
}

/** Buffer.byteLength(value, 'utf8'), counted here while the text is ASCII. */
function utf8Length(value: string): number {
  const n = value.length;
  for (let c = 0; c < n; c++) {
    if (value.charCodeAt(c) >= 0x80) return Buffer.byteLength(value, 'utf8');
  }
  return n;
}
