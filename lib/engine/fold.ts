import { SessionOperator } from './operator.ts';
import type { EventRecord, FoldInput, FoldResult } from './types.ts';

/**
 * Folds one Kafka partition's valid records into its sessions (DESIGN.md sections 3 and 4).
 *
 * Per record, as Flink's WindowOperator with a per-record watermark: the event is merged into the
 * user's sessions at the current W (or rejected as late), then W = max(W, t - B - 1) and every timer
 * now due fires, for all loaded users. Because W moves per record, not per batch, the rows depend
 * only on the records in order: any cut into batches, threaded through the returned state, yields
 * the same emissions (DESIGN.md section 4).
 *
 * Records below partition.nextOffset were applied by an earlier fold (a re-delivered batch) and are
 * skipped, which is what makes redelivery harmless (DESIGN.md section 5). A record at or below its
 * user's lastOffset is skipped for that user only (a crash after the user was written but before the
 * partition was): it still moves the watermark, which the partition state has not recorded.
 */
export function fold(input: FoldInput): FoldResult {
  const { config, partition, records } = input;
  const operator = new SessionOperator(config, partition.watermark, input.users);
  const bound = config.outOfOrdernessMs;
  let recordWatermark = partition.recordWatermark ?? Number.NEGATIVE_INFINITY;
  let maxEventTime = partition.maxEventTime ?? Number.NEGATIVE_INFINITY;
  const nextOffset = partition.nextOffset;
  let applied = false;

  // An indexed loop: for-of over an array calls the iterator builtin per record in optimised code.
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as EventRecord;
    if (record.offset < nextOffset) continue;
    applied = true;
    operator.add(record);
    const t = record.eventTime;
    if (t > maxEventTime) maxEventTime = t;
    // BoundedOutOfOrdernessWatermarks: W = maxTimestamp - B - 1. Late records count too: the
    // watermark generator sees every record before the window operator judges it.
    const w = t - bound - 1;
    if (w > recordWatermark) recordWatermark = w;
    operator.advance(w);
  }

  return {
    partition: {
      nextOffset: Math.max(partition.nextOffset, input.endOffset),
      watermark: operator.watermark,
      recordWatermark: applied ? recordWatermark : partition.recordWatermark,
      maxEventTime: applied ? maxEventTime : partition.maxEventTime,
      lastArrivalMs: applied ? input.nowMs : partition.lastArrivalMs,
    },
    users: operator.takeChangedUsers(),
    emitted: operator.output.emitted,
    superseded: operator.output.supersededRows(),
    late: operator.output.late,
  };
}
