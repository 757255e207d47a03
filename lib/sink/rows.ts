import { groupKey } from '../engine/index.ts';
import type { EmittedSession } from '../engine/types.ts';
import type { SinkBatch } from './types.ts';

/** One statement's array parameters, index-aligned: element i of every array is session i. */
export interface SessionRows {
  readonly keys: string[];
  readonly userIds: string[];
  readonly counts: string[];
  /**
   * UTC timestamps without zone ('1970-01-01T00:00:07.000'): window_end_time of aggregated_counts
   * is TIMESTAMP; user_sessions reads them back AT TIME ZONE 'UTC' into TIMESTAMPTZ.
   */
  readonly starts: string[];
  readonly lasts: string[];
  readonly ends: string[];
}

/**
 * The rows one statement per table upserts and deletes. A statement may not update the same row
 * twice, so emissions are deduplicated by group_key keeping the last. The engine lists a key in
 * `superseded` only when a delete was its last operation in the batch (a later re-emission
 * cancels the delete), so a key in both lists is deleted.
 */
export function sessionRows(batch: SinkBatch): { upserts: SessionRows; deletes: string[] } {
  const deletes = new Set(batch.superseded.map((s) => groupKey(s.userId, s.start)));
  const last = new Map<string, EmittedSession>();
  for (const session of batch.emitted) {
    const key = groupKey(session.userId, session.start);
    if (!deletes.has(key)) last.set(key, session);
  }
  const upserts: SessionRows = { keys: [], userIds: [], counts: [], starts: [], lasts: [], ends: [] };
  for (const [key, session] of last) {
    upserts.keys.push(key);
    upserts.userIds.push(session.userId);
    upserts.counts.push(String(session.count));
    upserts.starts.push(utcTimestamp(session.start));
    upserts.lasts.push(utcTimestamp(session.last));
    upserts.ends.push(utcTimestamp(session.end));
  }
  return { upserts, deletes: [...deletes] };
}

/** Epoch ms as a zone-less UTC timestamp literal (PostgreSQL TIMESTAMP). */
export function utcTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, -1);
}
