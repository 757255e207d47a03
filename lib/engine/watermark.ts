import type { PartitionState } from './types.ts';

/** A partition that has never been read: offset 0, watermark minus infinity. */
export function initialPartitionState(): PartitionState {
  return { nextOffset: 0, watermark: null, recordWatermark: null, maxEventTime: null, lastLogTime: null };
}

/**
 * The watermark one event allows (Flink's BoundedOutOfOrdernessWatermarks): W = t - B - 1. The
 * partition's W is the maximum over its records so far, advanced after every record.
 */
export function recordWatermark(eventTime: number, outOfOrdernessMs: number): number {
  return eventTime - outOfOrdernessMs - 1;
}

/**
 * The watermark an idle tick advances to (DESIGN.md section 4), or minus infinity when it advances
 * nothing: a tick whose Kafka timestamp is at least `idleTimeoutMs` after the partition's latest
 * event's (`lastLogTime`) moves W to the records' watermark plus that silence, on the assumption that
 * event time kept pace with the log's clock while nothing arrived.
 *
 * Flink, Kafka Streams and ksqlDB never close the last sessions of a quiet stream; this does, and
 * still as a function of the log alone: both timestamps are in it. The target is computed from the
 * records' watermark, not from the current W, so a second tick over the same silence adds nothing.
 */
export function idleTarget(
  recordW: number,
  lastLogTime: number,
  tickTimestamp: number,
  idleTimeoutMs: number,
): number {
  if (recordW === Number.NEGATIVE_INFINITY || lastLogTime === Number.NEGATIVE_INFINITY) {
    return Number.NEGATIVE_INFINITY;
  }
  const silentMs = tickTimestamp - lastLogTime;
  return silentMs >= idleTimeoutMs ? recordW + silentMs : Number.NEGATIVE_INFINITY;
}
