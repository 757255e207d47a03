import type pg from 'pg';

/** A row of user_sessions with its times as epoch milliseconds, as the engine and reference use them. */
export interface StoredSession {
  readonly group_key: string;
  readonly userId: string;
  readonly start: number;
  readonly last: number;
  readonly end: number;
  readonly count: number;
  readonly durationMs: number;
  readonly topic: string;
  readonly partition: number;
}

const epochMs = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;

/** user_sessions, ordered by group_key, through the pool's search_path. */
export async function readSessions(pool: pg.Pool): Promise<StoredSession[]> {
  const { rows } = await pool.query(
    `SELECT group_key, user_id AS "userId", ${epochMs('session_start')} AS start,
            ${epochMs('last_event_time')} AS last, ${epochMs('window_end_time')} AS end,
            event_count::float8 AS count, duration_ms::float8 AS "durationMs",
            topic, kafka_partition AS partition
       FROM user_sessions ORDER BY group_key`,
  );
  return rows;
}
