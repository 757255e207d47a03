import { EmittedSessions } from './emitted.ts';
import type { EventRecord, LateEvent, SupersededSession } from './types.ts';

/**
 * Collects what one fold writes to the sink: upserts (`emitted`), deletes (`superseded`) and
 * rejects (`late`).
 *
 * The sink applies a result as "all upserts (last per group_key wins), then all deletes", not as
 * an interleaved sequence. The two agree because this collector keeps a delete only while it is the
 * latest operation on its key: a key superseded earlier in the fold and emitted again later (rare:
 * allowed lateness > 0, the merged session dropped, then a new session starting at that very
 * instant) has its delete withdrawn. So a key is in `superseded` exactly when the sequential
 * application would leave it deleted.
 */
export class Output {
  readonly emitted = new EmittedSessions();
  /** Emissions that were early firings (provisional rows), for logs and metrics. */
  earlyFired = 0;
  readonly late: LateEvent[] = [];
  private readonly superseded: (SupersededSession | undefined)[] = [];
  /**
   * Index in `superseded` by "<start>|<userId>"; empty unless a session outlived a firing (allowed
   * lateness > 0, or an early firing).
   */
  private readonly supersededAt = new Map<string, number>();

  /**
   * A session fired (docs/DESIGN.md section 3, rule 3), on time or early (section 4): upsert its
   * row and delete the rows of the sessions merged into it that were written under another start
   * (rule 7).
   */
  emit(
    userId: string,
    start: number,
    end: number,
    last: number,
    count: number,
    emittedStarts: readonly number[],
    early: boolean,
  ): void {
    if (this.supersededAt.size > 0) this.withdrawDelete(userId, start);
    this.emitted.push(userId, start, end, last, count);
    if (early) this.earlyFired++;
    // Indexed: the list is almost always empty, and for-of would still run the iterator builtin.
    for (let i = 0; i < emittedStarts.length; i++) {
      const previous = emittedStarts[i] as number;
      if (previous !== start) this.supersede(userId, previous);
    }
  }

  reject(record: EventRecord, watermark: number): void {
    this.late.push({ offset: record.offset, userId: record.userId, eventTime: record.eventTime, watermark });
  }

  supersededRows(): SupersededSession[] {
    return this.superseded.filter((s): s is SupersededSession => s !== undefined);
  }

  private supersede(userId: string, start: number): void {
    const key = `${start}|${userId}`;
    if (this.supersededAt.has(key)) return;
    this.supersededAt.set(key, this.superseded.length);
    this.superseded.push({ userId, start });
  }

  private withdrawDelete(userId: string, start: number): void {
    const key = `${start}|${userId}`;
    const index = this.supersededAt.get(key);
    if (index === undefined) return;
    this.superseded[index] = undefined;
    this.supersededAt.delete(key);
  }
}
