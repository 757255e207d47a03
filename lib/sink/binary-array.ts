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

/** pg_type OIDs of the element types. */
const INT8_OID = 20;
const VARCHAR_OID = 1043;

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
    // Two's complement in two words: the high word is the floor of value / 2^32, so a negative
    // value's low word is still the unsigned remainder.
    const high = Math.floor(value / TWO_TO_32);
    out.writeInt32BE(8, at);
    out.writeInt32BE(high, at + 4);
    out.writeUInt32BE(value - high * TWO_TO_32, at + 8);
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
