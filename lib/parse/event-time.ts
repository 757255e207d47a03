import { NOT_INTEGER, OUT_OF_RANGE, parseMillis } from './text-fields.ts';
import type { EventTimeUnit } from './types.ts';

/**
 * Event times as producers write them (docs/DESIGN.md section 2): an integer count of the
 * configured unit (EVENT_TIME_UNIT, epoch milliseconds or seconds), or an ISO-8601 time with a zone.
 * Results follow parseMillis: the epoch milliseconds, or NOT_INTEGER / OUT_OF_RANGE, or NO_ZONE.
 * Plain loops over char codes, as in text-fields.ts: this runs once per record.
 */

/** Result: an ISO-8601 date and time without "Z" or an offset, which names no instant. */
export const NO_ZONE = -3;

const MS_PER_DAY = 86_400_000;

/** A numeric time (JSON number, Avro long, Kafka timestamp) in `unit`: integral, within 0..maxMs. */
export function timeFromNumber(value: number, unit: EventTimeUnit, maxMs: number): number {
  if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) return OUT_OF_RANGE; // JSON 1e400
  if (!Number.isInteger(value)) return NOT_INTEGER;
  const ms = unit === 's' ? value * 1000 : value;
  if (ms < 0 || ms > maxMs || !Number.isSafeInteger(ms)) return OUT_OF_RANGE;
  return ms;
}

/**
 * A time written as text (already trimmed): an integer in `unit` (Long.parseLong's syntax, as the
 * text form always took), else an ISO-8601 time with a zone. Seconds are checked against the limit
 * in seconds, so their product in milliseconds is always exact.
 */
export function timeFromText(text: string, unit: EventTimeUnit, maxMs: number): number {
  const integer = parseMillis(text, unit === 's' ? Math.floor(maxMs / 1000) : maxMs);
  if (integer >= 0) return unit === 's' ? integer * 1000 : integer;
  if (integer === OUT_OF_RANGE) return OUT_OF_RANGE;
  const iso = parseIsoMillis(text);
  return iso > maxMs ? OUT_OF_RANGE : iso;
}

/**
 * An ISO-8601 (RFC 3339) date and time: `YYYY-MM-DDThh:mm[:ss[.fraction]]` then `Z` or an offset
 * `±hh:mm`, `±hhmm` or `±hh` (`t`, `z` and a space for `T` are accepted, as RFC 3339 allows).
 * Returns its epoch milliseconds, OUT_OF_RANGE before 1970 (a negative count would read as one of
 * these codes), NO_ZONE when it is a valid date and time without a zone (it names no instant: which zone would
 * be a guess), or NOT_INTEGER when it is not such a time at all (February 30 included). Digits past
 * the millisecond are truncated, as Java's Instant.toEpochMilli() does.
 */
export function parseIsoMillis(text: string): number {
  const length = text.length;
  if (length < 16) return NOT_INTEGER;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const separator = text.charCodeAt(10);
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    text.charCodeAt(4) !== 0x2d /* - */ ||
    text.charCodeAt(7) !== 0x2d ||
    (separator !== 0x54 /* T */ && separator !== 0x74 /* t */ && separator !== 0x20) ||
    text.charCodeAt(13) !== 0x3a /* : */
  ) {
    return NOT_INTEGER;
  }
  let i = 16;
  let second = 0;
  let millis = 0;
  if (text.charCodeAt(i) === 0x3a) {
    second = digits(text, i + 1, 2);
    if (second < 0 || second > 59) return NOT_INTEGER;
    i += 3;
    if (text.charCodeAt(i) === 0x2e /* . */) {
      i++;
      const start = i;
      while (i < length && i - start < 9) {
        const digit = text.charCodeAt(i) - 0x30;
        if (digit < 0 || digit > 9) break;
        if (i - start < 3) millis = millis * 10 + digit;
        i++;
      }
      const count = i - start;
      if (count === 0) return NOT_INTEGER;
      if (count === 1) millis *= 100;
      else if (count === 2) millis *= 10;
    }
  }
  const local =
    daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis;
  if (i === length) return NO_ZONE;
  const zone = text.charCodeAt(i);
  if (zone === 0x5a /* Z */ || zone === 0x7a /* z */) {
    if (i + 1 !== length) return NOT_INTEGER;
    return local < 0 ? OUT_OF_RANGE : local;
  }
  if (zone !== 0x2b /* + */ && zone !== 0x2d /* - */) return NOT_INTEGER;
  const offsetHours = digits(text, i + 1, 2);
  let offsetMinutes = 0;
  if (i + 3 === length) offsetMinutes = 0;
  else if (text.charCodeAt(i + 3) === 0x3a && i + 6 === length) offsetMinutes = digits(text, i + 4, 2);
  else if (i + 5 === length) offsetMinutes = digits(text, i + 3, 2);
  else return NOT_INTEGER;
  if (offsetHours < 0 || offsetHours > 23 || offsetMinutes < 0 || offsetMinutes > 59) return NOT_INTEGER;
  const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
  const ms = zone === 0x2b ? local - offset : local + offset;
  return ms < 0 ? OUT_OF_RANGE : ms;
}

/** `count` decimal digits at `at` as a number, or -1 when any is not a digit (or out of the text). */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - 0x30; // NaN past the end: fails the test below
    if (!(digit >= 0 && digit <= 9)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). Plain
 * arithmetic, because Date.UTC reads the years 0 to 99 as 1900 to 1999.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
