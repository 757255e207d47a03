import { groupKey } from '../engine/index.ts';
import type { SinkBatch } from './types.ts';

export interface SessionRows {
  readonly keys: string[];
  readonly counts: string[];
  /** UTC timestamps without zone ('1970-01-01T00:00:07.000'): window_end_time is TIMESTAMP. */
  readonly ends: string[];
}

/**
 * The rows one statement upserts and deletes. A statement may not update the same row twice, so
 * emissions are deduplicated by group_key keeping the last. The engine lists a key in
 * `superseded` only when a delete was its last operation in the batch (a later re-emission
 * cancels the delete), so a key in both lists is deleted.
 */
export function sessionRows(batch: SinkBatch): { upserts: SessionRows; deletes: string[] } {
  const deletes = new Set(batch.superseded.map((s) => groupKey(s.userId, s.start)));
  const last = new Map<string, { count: number; end: number }>();
  for (const session of batch.emitted) {
    const key = groupKey(session.userId, session.start);
    if (!deletes.has(key)) last.set(key, { count: session.count, end: session.end });
  }
  const upserts: SessionRows = { keys: [], counts: [], ends: [] };
  for (const [key, { count, end }] of last) {
    upserts.keys.push(key);
    upserts.counts.push(String(count));
    upserts.ends.push(utcTimestamp(end));
  }
  return { upserts, deletes: [...deletes] };
}

/** Epoch ms as a zone-less UTC timestamp literal (PostgreSQL TIMESTAMP). */
export function utcTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, -1);
}
