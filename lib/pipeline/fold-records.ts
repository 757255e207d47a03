import type { KafkaRecord } from '../decode/index.ts';
import type { FoldResult, PartitionSessions } from '../engine/index.ts';
import { type Rejection, rejectLate } from '../parse/index.ts';
import type { Diversions } from './diversion.ts';
import { type DecodedValues, parseBatch, parseOptions } from './parse-batch.ts';
import type { PipelineSettings } from './types.ts';

export interface FoldedRecords {
  readonly result: FoldResult;
  /** Bad records, diverted ones and late events, for rejected_events. */
  readonly rejections: Rejection[];
  /** Control records read (idle and refresh ticks). */
  readonly ticks: number;
}

/**
 * Step 2 of a transition (docs/STATE.md section 3): a partition's fresh records parsed (bad ones
 * and diverted ones become rejections, ticks are recognised) and folded into `sessions`, in offset
 * order; the events the fold found late become rejections too.
 */
export function foldRecords(
  sessions: PartitionSessions,
  fresh: readonly KafkaRecord[],
  endOffset: number,
  settings: PipelineSettings,
  diversions?: Diversions,
  decoded?: DecodedValues,
): FoldedRecords {
  const { log, rejections, ticks } = parseBatch(fresh, parseOptions(settings), diversions, decoded);
  const result = sessions.apply(log, endOffset);
  if (result.late.length > 0) {
    const byOffset = new Map(fresh.map((r) => [r.offset, r]));
    for (const late of result.late) {
      rejections.push(
        rejectLate(
          byOffset.get(late.offset) as KafkaRecord,
          `event time ${late.eventTime} of ${late.userId}: its session had closed at watermark ${late.watermark}`,
        ),
      );
    }
  }
  return { result, rejections, ticks };
}
