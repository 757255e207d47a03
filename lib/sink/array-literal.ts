/**
 * PostgreSQL array literals for the sink's array parameters, built in one pass. node-postgres
 * builds the same text from a JavaScript array, but element by element through its generic value
 * conversion, with two regular-expression replaces per string: about 4 % of the job's CPU in a
 * drain's profile (docs/BENCHMARKS.md, "The evening of 2026-12-02"). The statements cast each
 * parameter (`$n::varchar[]`, `$n::bigint[]`), so the server parses these exactly as it parsed pg's.
 */

/** `{1,2,3}`: integers (event times, counts) as their decimal text, as pg writes a number. */
export function integerArray(values: readonly number[]): string {
  return `{${values.join(',')}}`;
}

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
