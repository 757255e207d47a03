/**
 * The field-level rules of the value format, as plain loops over char codes: they run once per
 * record, so no regular expressions (no backtracking), no split(), no closures.
 */

/** parseMillis result: the text is not an integer ("1000.5", "1e3", "abc", ""). */
export const NOT_INTEGER = -1;
/** parseMillis result: an integer, but negative, above the limit or beyond 2^53 - 1. */
export const OUT_OF_RANGE = -2;
/** userIdLength result: the id holds U+0000 or a lone surrogate, which PostgreSQL text cannot store. */
export const UNSTORABLE = -1;

/**
 * Strips leading and trailing characters <= U+0020 (space, tab, CR, LF and the other C0 controls).
 * This is Java's String.trim(), what the reference Flink job applies to each field, so a console
 * producer's trailing "\r\n" or padded " user_A , 1000 " parse the same way here.
 */
export function trimField(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * Parses epoch milliseconds written as a decimal integer with an optional sign (Long.parseLong's
 * syntax). Returns the value, or NOT_INTEGER / OUT_OF_RANGE. Accumulating in a double is exact up
 * to 2^53, and once the true value passes the limit the rounded one cannot fall back under it, so
 * the range check stays right for any number of digits.
 */
export function parseMillis(text: string, maxMs: number): number {
  const length = text.length;
  let i = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === 0x2d /* - */ || first === 0x2b /* + */) {
    negative = first === 0x2d;
    i = 1;
  }
  if (i === length) return NOT_INTEGER;
  let value = 0;
  for (; i < length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return NOT_INTEGER;
    value = value * 10 + digit;
  }
  // Hundreds of digits overflow to Infinity, which is out of range too.
  if ((negative && value !== 0) || value > maxMs || !Number.isSafeInteger(value)) return OUT_OF_RANGE;
  return value;
}

/** An already numeric time (JSON number, Kafka timestamp): integral and within 0..maxMs. */
export function checkMillis(value: number, maxMs: number): number {
  if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) return OUT_OF_RANGE; // JSON 1e400
  if (!Number.isInteger(value)) return NOT_INTEGER;
  if (value < 0 || value > maxMs || !Number.isSafeInteger(value)) return OUT_OF_RANGE;
  return value;
}

/**
 * The user id's length in Unicode code points (what PostgreSQL's VARCHAR(n) counts), or
 * UNSTORABLE when it contains U+0000 or an unpaired surrogate (possible through JSON "\ud800").
 */
export function userIdLength(userId: string): number {
  let codePoints = 0;
  const length = userId.length;
  for (let i = 0; i < length; i++) {
    const unit = userId.charCodeAt(i);
    if (unit === 0) return UNSTORABLE;
    if (unit >= 0xd800 && unit <= 0xdfff) {
      // A high surrogate must be followed by a low one; a low one on its own is never valid.
      const next = i + 1 < length ? userId.charCodeAt(i + 1) : 0;
      if (unit > 0xdbff || next < 0xdc00 || next > 0xdfff) return UNSTORABLE;
      i++;
    }
    codePoints++;
  }
  return codePoints;
}

/** A user-supplied snippet for a rejection detail: quoted, escaped (no NUL), at most ~40 chars. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

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
