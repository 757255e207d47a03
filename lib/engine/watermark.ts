import type { PartitionState } from './types.ts';

/** A partition that has never been read: offset 0, watermark minus infinity. */
export function initialPartitionState(): PartitionState {
  return { nextOffset: 0, watermark: null, maxEventTime: null, lastLogTime: null };
}

/**
 * The watermark one event allows (Flink's BoundedOutOfOrdernessWatermarks): W = t - B - 1. The
 * partition's W is the maximum over its records so far, advanced after every record.
 */
export function recordWatermark(eventTime: number, outOfOrdernessMs: number): number {
  return eventTime - outOfOrdernessMs - 1;
}
