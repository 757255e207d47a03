/**
 * PostgreSQL array literals for the sink's array parameters, built in one pass. node-postgres
 * builds the same text from a JavaScript array, but element by element through its generic value
 * conversion, with two regular-expression replaces per string: about 4 % of the job's CPU in a
 * drain's profile (docs/BENCHMARKS.md, "The evening of 2026-12-02"). The statements cast each
 * parameter (`$n::varchar[]`, `$n::bigint[]`), so the server parses these exactly as it parsed pg's.
 */

/**
 * `{1,2,3}`: integers (event times, counts) as their decimal text, as pg writes a number. An
 * epoch-millisecond time is no small integer to V8, and its generic number-to-text conversion took
 * about 250 ns each; written as its millions, then the last six digits from a table, it takes about
 * 50 (docs/BENCHMARKS.md, "Near midnight on 2026-12-03"). Exact: below 10^15 the division and the
 * remainder of an integer are exact doubles. Anything else is written by String(), as join() does.
 */
export function integerArray(values: readonly number[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (i > 0) literal += ',';
    if (value >= 1e9 && value < 1e15 && Number.isInteger(value)) {
      const millions = Math.floor(value / 1e6);
      const rest = value - millions * 1e6;
      const thousands = Math.floor(rest / 1000);
      literal += `${millions}${DIGITS[thousands]}${DIGITS[rest - thousands * 1000]}`;
    } else {
      literal += String(value);
    }
  }
  return `${literal}}`;
}

/** "000".."999". */
const DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * `{"a","b"}`: every element quoted, so that an empty string, one with a comma, a brace, spaces or
 * the word NULL stays that string; a backslash or a double quote inside is escaped with a
 * backslash (the array input syntax). No element may be null: the session columns are NOT NULL.
 */
export function textArray(values: readonly string[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as string;
    if (i > 0) literal += ',';
    literal +=
      value.includes('"') || value.includes('\\') ? `"${value.replace(ESCAPED, '\\$&')}"` : `"${value}"`;
  }
  return `${literal}}`;
}

const ESCAPED = /["\\]/g;
