/**
 * Limits that keep every session row writable to the fixed sink table (docs/DESIGN.md section 1):
 * `group_key VARCHAR(255)` holds "<userId>|<session start as ISO-8601 UTC with milliseconds>".
 * The parser rejects records beyond them (docs/DESIGN.md section 2), so the engine may assume them.
 */

/** The width of aggregated_counts.group_key. */
export const MAX_GROUP_KEY_LENGTH = 255;

/** "YYYY-MM-DDTHH:mm:ss.sssZ": 24 characters as long as the year has four digits. */
const ISO_TIMESTAMP_LENGTH = 24;

/** 255 - '|' - 24-character ISO start = 230. */
export const MAX_USER_ID_LENGTH = MAX_GROUP_KEY_LENGTH - 1 - ISO_TIMESTAMP_LENGTH;

/**
 * 9999-12-31T23:59:59.999Z. Later instants print as "+010000-..." (27 characters, breaking the key
 * length budget) and are beyond PostgreSQL's TIMESTAMP input range for window_end_time.
 */
export const MAX_EVENT_TIME_MS = 253402300799999;
