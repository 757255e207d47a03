import type { EngineConfig, EventRecord, PartitionState } from './types.ts';

/** A partition that has never been read: offset 0, watermark minus infinity. */
export function initialPartitionState(): PartitionState {
  return { nextOffset: 0, watermark: null, recordWatermark: null, maxEventTime: null, lastArrivalMs: null };
}

/**
 * The watermark a fold of these records ends at (the same per-record rule as fold, records below
 * nextOffset skipped), so the caller can query the due-session index for every user the fold may
 * fire before loading them. Null = still minus infinity.
 */
export function watermarkAfter(
  config: EngineConfig,
  partition: PartitionState,
  records: readonly EventRecord[],
): number | null {
  let w = partition.watermark ?? Number.NEGATIVE_INFINITY;
  const bound = config.outOfOrdernessMs;
  for (const record of records) {
    if (record.offset < partition.nextOffset) continue;
    const candidate = record.eventTime - bound - 1;
    if (candidate > w) w = candidate;
  }
  return w === Number.NEGATIVE_INFINITY ? null : w;
}

/**
 * The idle flush target (DESIGN.md section 4), or null when there is nothing to do.
 *
 * Flink, Kafka Streams and ksqlDB never close the last sessions of a quiet stream; we assume event
 * time keeps pace with the wall clock while a partition is silent, so after IDLE_TIMEOUT the
 * watermark is recordWatermark + (now - lastArrival). The target is computed from the last-arrival
 * base, not from the current W, so repeated sweeps over the same silence never add it twice.
 */
export function idleWatermark(
  partition: PartitionState,
  nowMs: number,
  idleTimeoutMs: number,
): number | null {
  const { lastArrivalMs, recordWatermark } = partition;
  if (lastArrivalMs === null || recordWatermark === null) return null;
  const silentMs = nowMs - lastArrivalMs;
  if (silentMs < idleTimeoutMs) return null;
  const target = recordWatermark + silentMs;
  if (partition.watermark !== null && target <= partition.watermark) return null;
  return target;
}
