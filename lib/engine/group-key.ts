/**
 * The sink's primary key for a session: "<userId>|<start as ISO-8601 UTC with milliseconds>",
 * e.g. `user_A|1970-01-01T00:00:01.000Z` (docs/DESIGN.md section 3, output row). The start (not the
 * end) identifies a session because a late join with allowed lateness may extend the end while the
 * row must stay the same; a join that moves the start supersedes the row (rule 7).
 *
 * Starts are within [0, MAX_EVENT_TIME_MS], so toISOString always yields the 24-character form.
 */
export function groupKey(userId: string, start: number): string {
  return `${userId}|${new Date(start).toISOString()}`;
}
