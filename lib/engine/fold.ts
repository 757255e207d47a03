import { SessionOperator } from './operator.ts';
import type {
  EngineConfig,
  EventRecord,
  FoldInput,
  FoldResult,
  LogRecord,
  PartitionState,
  PartitionStats,
  TickRecord,
  UserState,
} from './types.ts';
import { idleTarget, recordWatermark } from './watermark.ts';

/**
 * The live sessions of one Kafka partition and the fold of its log into them (DESIGN.md sections 3
 * and 4). Pure: no I/O, no clock; a warm container keeps one between batches so that nothing is
 * read back (DESIGN.md section 5), and a cold one builds it from the checkpoint.
 *
 * apply() changes this object. A caller whose transition fails after apply must discard it: it then
 * holds state the checkpoint does not.
 */
export class PartitionSessions {
  private readonly operator: SessionOperator;
  private current: PartitionState;

  constructor(
    readonly config: EngineConfig,
    partition: PartitionState,
    users: Iterable<UserState>,
  ) {
    this.operator = new SessionOperator(config, partition.watermark, users);
    this.current = partition;
    const w = partition.watermark;
    this.operator.idleAhead =
      w !== null && (partition.recordWatermark === null || w > partition.recordWatermark);
  }

  get partition(): PartitionState {
    return this.current;
  }

  /**
   * Folds records (events and ticks, in offset order) as Flink's WindowOperator does with a
   * per-record watermark: the event is merged into its user's sessions at the current W (or rejected
   * as late), then W = max(W, t - B - 1) and every timer now due fires, for all users of the
   * partition. Because W moves per record, not per batch, the rows depend only on the records in
   * order: any cut into batches yields the same emissions (DESIGN.md section 4).
   *
   * An idle tick moves W by the silence measured between Kafka timestamps (see idleTarget), so it
   * is a function of the log as well.
   *
   * Records below nextOffset were applied by an earlier transition (a re-delivered batch) and are
   * skipped, which is what makes redelivery harmless (DESIGN.md section 5).
   */
  apply(records: readonly LogRecord[], endOffset: number): FoldResult {
    const operator = this.operator;
    const { outOfOrdernessMs, idleTimeoutMs } = this.config;
    const before = this.current;
    let recordW = before.recordWatermark ?? Number.NEGATIVE_INFINITY;
    let maxEventTime = before.maxEventTime ?? Number.NEGATIVE_INFINITY;
    let lastLogTime = before.lastLogTime ?? Number.NEGATIVE_INFINITY;
    const nextOffset = before.nextOffset;

    // An indexed loop: for-of over an array calls the iterator builtin per record in optimised code.
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as LogRecord;
      if (record.offset < nextOffset) continue;
      if ((record as TickRecord).tick === true) {
        if (idleTimeoutMs === null) continue;
        const target = idleTarget(recordW, lastLogTime, record.timestamp, idleTimeoutMs);
        if (target > recordW && target > (operator.watermark ?? Number.NEGATIVE_INFINITY)) {
          operator.idleAhead = true;
          operator.advance(target);
        }
        continue;
      }
      const event = record as EventRecord;
      operator.add(event);
      const t = event.eventTime;
      if (t > maxEventTime) maxEventTime = t;
      if (event.timestamp > lastLogTime) lastLogTime = event.timestamp;
      // Late records count too: the watermark generator sees every record before the window
      // operator judges it.
      const w = recordWatermark(t, outOfOrdernessMs);
      if (w > recordW) {
        recordW = w;
        if (operator.idleAhead && w >= (operator.watermark ?? Number.NEGATIVE_INFINITY)) {
          operator.idleAhead = false;
        }
      }
      operator.advance(w);
    }

    const finite = (x: number): number | null => (x === Number.NEGATIVE_INFINITY ? null : x);
    this.current = {
      nextOffset: Math.max(nextOffset, endOffset),
      watermark: operator.watermark,
      recordWatermark: finite(recordW),
      maxEventTime: finite(maxEventTime),
      lastLogTime: finite(lastLogTime),
    };
    const { users, output } = operator.takeBatch();
    return {
      partition: this.current,
      users,
      emitted: output.emitted,
      superseded: output.supersededRows(),
      late: output.late,
    };
  }

  /** Every live user: the partition's whole state, for a checkpoint snapshot. */
  users(): UserState[] {
    return this.operator.exportUsers();
  }

  stats(): PartitionStats {
    return this.operator.stats();
  }
}

/**
 * Folds one batch from a given state: the functional form of PartitionSessions, for tests and for
 * anyone who keeps state outside the engine. `users` must hold every live user of the partition.
 */
export function fold(input: FoldInput): FoldResult {
  return new PartitionSessions(input.config, input.partition, input.users.values()).apply(
    input.records,
    input.endOffset,
  );
}
