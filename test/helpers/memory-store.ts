import { groupKey } from '../../lib/engine/index.ts';
import { SinkFencedError } from '../../lib/errors.ts';
import type { RejectReason } from '../../lib/kafka/types.ts';
import type { Sink, SinkBatch, SinkFence, SinkResult } from '../../lib/sink/types.ts';

export { Crash, MemoryStore, type Step } from './memory-checkpoint.ts';

/**
 * An in-memory stand-in for PostgresSink with the same guard and fence, for the property tests of
 * docs/STATE.md section 4.
 */
export interface Row {
  readonly count: number;
  readonly end: number;
}

/** The tables a PostgresSink writes, as maps, with the same guard and fence. */
export class MemorySink implements Sink {
  readonly rows = new Map<string, Row>();
  readonly rejected = new Map<string, RejectReason>();
  readonly fences = new Map<string, { generation: string; epoch: number }>();
  afterWrite: () => void = () => undefined;

  async fenceGenerations(topic: string): Promise<string[]> {
    const generations = new Set<string>();
    for (const [key, fence] of this.fences)
      if (key.startsWith(`${topic}#`)) generations.add(fence.generation);
    return [...generations];
  }

  async write(batch: SinkBatch, fence: SinkFence): Promise<SinkResult> {
    const fenceKey = `${fence.topic}#${fence.partition}`;
    const last = this.fences.get(fenceKey);
    if (
      last !== undefined &&
      !(
        last.generation < fence.generation ||
        (last.generation === fence.generation && last.epoch < fence.epoch)
      )
    ) {
      throw new SinkFencedError('stale sink write', last.generation, last.epoch);
    }
    this.fences.set(fenceKey, { generation: fence.generation, epoch: fence.epoch });
    const deletes = new Set(batch.superseded.map((s) => groupKey(s.userId, s.start)));
    for (const key of deletes) this.rows.delete(key);
    for (const s of batch.emitted) {
      const key = groupKey(s.userId, s.start);
      if (deletes.has(key)) continue;
      const old = this.rows.get(key);
      if (old === undefined || old.end < s.end || (old.end === s.end && old.count < s.count)) {
        this.rows.set(key, { count: s.count, end: s.end });
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
