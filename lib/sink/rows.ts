import { EmittedSessions, groupKey } from '../engine/index.ts';
import type { SinkBatch } from './types.ts';

/** One statement's array parameters, index-aligned: element i of every array is session i. */
export interface SessionRows {
  readonly keys: string[];
  readonly userIds: string[];
  readonly counts: number[];
  /**
   * Epoch milliseconds; sent as binary TIMESTAMP (aggregated_counts, UTC) and TIMESTAMPTZ
   * (user_sessions) arrays (lib/sink/binary-array.ts), so no timestamp text is built per row.
   */
  readonly starts: number[];
  readonly lasts: number[];
  readonly ends: number[];
}

/** The rows of superseded sessions, index-aligned: aggregated_counts is keyed by group_key, user_sessions by (user, start). */
export interface DeletedRows {
  readonly keys: string[];
  readonly userIds: string[];
  readonly starts: number[];
}

/**
 * The rows the batch upserts and deletes. A statement may not update the same row twice, so
 * emissions are deduplicated by group_key keeping the last. The engine lists a key in
 * `superseded` only when a delete was its last operation in the batch (a later re-emission
 * cancels the delete), so a key in both lists is deleted.
 */
export function sessionRows(batch: SinkBatch): { upserts: SessionRows; deletes: DeletedRows } {
  const deletes: DeletedRows = { keys: [], userIds: [], starts: [] };
  const deleted = new Set<string>();
  for (const s of batch.superseded) {
    const key = groupKey(s.userId, s.start);
    if (deleted.has(key)) continue;
    deleted.add(key);
    deletes.keys.push(key);
    deletes.userIds.push(s.userId);
    deletes.starts.push(s.start);
  }
  const emitted = EmittedSessions.from(batch.emitted);
  const { userIds, starts, ends, lasts, counts } = emitted;
  // The index of the last emission of each key, in the order keys first appear.
  const last = new Map<string, number>();
  for (let i = 0; i < emitted.length; i++) {
    const key = groupKey(userIds[i] as string, starts[i] as number);
    if (!deleted.has(key)) last.set(key, i);
  }
  const upserts: SessionRows = { keys: [], userIds: [], counts: [], starts: [], lasts: [], ends: [] };
  for (const [key, i] of last) {
    upserts.keys.push(key);
    upserts.userIds.push(userIds[i] as string);
    upserts.counts.push(counts[i] as number);
    upserts.starts.push(starts[i] as number);
    upserts.lasts.push(lasts[i] as number);
    upserts.ends.push(ends[i] as number);
  }
  return { upserts, deletes };
}
