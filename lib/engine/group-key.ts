/**
 * The sink's primary key for a session: "<userId>|<start as ISO-8601 UTC with milliseconds>",
 * e.g. `user_A|1970-01-01T00:00:01.000Z` (docs/DESIGN.md section 3, output row). The start (not the
 * end) identifies a session because a late join with allowed lateness may extend the end while the
 * row must stay the same; a join that moves the start supersedes the row (rule 7).
 *
 * Exactly `new Date(start).toISOString()` after the bar, built from the date of the start's day
 * (formatted once per day and kept) and the time of day from integer arithmetic: the sink builds a
 * key per session, and a Date and its native formatting cost three times as much
 * (docs/BENCHMARKS.md, "The evening of 2026-12-02"). Starts are within [0, MAX_EVENT_TIME_MS], so
 * the result is always the 24-character form.
 */
export function groupKey(userId: string, start: number): string {
  const day = Math.floor(start / DAY_MS);
  if (day !== lastDay) {
    const iso = new Date(day * DAY_MS).toISOString();
    lastDate = iso.slice(0, iso.indexOf('T') + 1);
    lastDay = day;
  }
  let rest = start - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${userId}|${lastDate}${TWO[hours]}:${TWO[minutes]}:${TWO[seconds]}.${THREE[rest - seconds * 1000]}Z`;
}

const DAY_MS = 86_400_000;
/** "00".."99" and "000".."999". */
const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** The day of the last key built, and its "YYYY-MM-DDT": a batch's sessions start on few days. */
let lastDay = Number.NaN;
let lastDate = '';
