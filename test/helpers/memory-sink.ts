import { groupKey } from '../../lib/engine/index.ts';
import { SinkFencedError } from '../../lib/errors.ts';
import type { RejectReason } from '../../lib/parse/index.ts';
import type { Sink, SinkBatch, SinkFence, SinkResult, WriteOptions } from '../../lib/sink/index.ts';

/** A row of aggregated_counts. */
export interface Row {
  readonly count: number;
  readonly end: number;
}

/** A row of user_sessions (duration_ms = last - start, as the generated column). */
export interface SessionRow extends Row {
  readonly userId: string;
  readonly start: number;
  readonly last: number;
  readonly durationMs: number;
  readonly topic: string;
  readonly partition: number;
}

/**
 * The tables a PostgresSink writes, as maps, with the same fence, the same guard on both session
 * tables ((end, count) only grows per group_key) and the same deletes of superseded sessions from
 * both, for the property tests of docs/DESIGN.md section 5.
 */
export class MemorySink implements Sink {
  /** aggregated_counts by group_key. */
  readonly rows = new Map<string, Row>();
  /** user_sessions by group_key. */
  readonly sessions = new Map<string, SessionRow>();
  readonly rejected = new Map<string, RejectReason>();
  readonly fences = new Map<string, { generation: string; epoch: number; watermark: number | null }>();
  afterWrite: () => void = () => undefined;
  /** Returns an error to refuse a batch with (a stand-in for a PostgreSQL data exception). */
  refuse: (batch: SinkBatch) => Error | undefined = () => undefined;

  async fenceGenerations(topic: string): Promise<string[]> {
    const generations = new Set<string>();
    for (const [key, fence] of this.fences)
      if (key.startsWith(`${topic}#`)) generations.add(fence.generation);
    return [...generations];
  }

  async write(batch: SinkBatch, fence: SinkFence, options: WriteOptions = {}): Promise<SinkResult> {
    const fenceKey = `${fence.topic}#${fence.partition}`;
    const last = this.fences.get(fenceKey);
    const newer =
      last === undefined ||
      last.generation < fence.generation ||
      (last.generation === fence.generation && last.epoch < fence.epoch);
    if (!newer) throw new SinkFencedError('stale sink write', last.generation, last.epoch);
    const refused = this.refuse(batch);
    if (refused !== undefined) throw refused;
    if (options.dryRun === true) {
      return { upserted: 0, deleted: 0, rejected: 0, statements: 0 };
    }
    this.fences.set(fenceKey, {
      generation: fence.generation,
      epoch: fence.epoch,
      watermark: fence.watermark,
    });
    const deletes = new Set(batch.superseded.map((s) => groupKey(s.userId, s.start)));
    for (const key of deletes) {
      this.rows.delete(key);
      this.sessions.delete(key);
    }
    for (const s of batch.emitted) {
      const key = groupKey(s.userId, s.start);
      if (deletes.has(key)) continue;
      if (grows(this.rows.get(key), s)) this.rows.set(key, { count: s.count, end: s.end });
      if (grows(this.sessions.get(key), s)) {
        this.sessions.set(key, {
          userId: s.userId,
          start: s.start,
          last: s.last,
          end: s.end,
          count: s.count,
          durationMs: s.last - s.start,
          topic: fence.topic,
          partition: fence.partition,
        });
      }
    }
    for (const r of batch.rejections) {
      const key = `${r.topic}#${r.partition}#${r.offset}`;
      if (!this.rejected.has(key)) this.rejected.set(key, r.reason);
    }
    this.afterWrite();
    return {
      upserted: batch.emitted.length,
      deleted: deletes.size,
      rejected: batch.rejections.length,
      statements: 1,
    };
  }
}

/** The upsert guard: a row is replaced only by a later end, or the same end and a larger count. */
function grows(old: Row | undefined, next: Row): boolean {
  return old === undefined || old.end < next.end || (old.end === next.end && old.count < next.count);
}
