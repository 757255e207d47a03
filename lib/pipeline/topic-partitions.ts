import { PARTITIONS_HEADER } from '../checkpoint/index.ts';
import type { KafkaRecord } from '../decode/index.ts';
import { errorFields, log } from '../log.ts';
import type { PipelineDeps } from './types.ts';

/*
 * The topic's partition count, as the checkpoint records it (docs/DEPLOY.md, "Adding partitions").
 * A Kafka event does not say how many partitions its topic has; the sweep asks the brokers and,
 * when `meta` lacks the count or holds another, appends a `partitions` control record to
 * partition 0 (lib/sweep/sweep.ts); the job records its count when it reads one. The sweep warns
 * about a change; this records it, so that the warning stops once the job has seen it.
 */

/** The partition count of the last `partitions` control record among `records`; undefined: none. */
export function partitionCountIn(records: readonly KafkaRecord[]): number | undefined {
  let count: number | undefined;
  for (const record of records) {
    if (record.value !== null) continue;
    for (const header of record.headers) {
      if (header.key !== PARTITIONS_HEADER) continue;
      const n = Number(header.value.toString('latin1'));
      if (Number.isSafeInteger(n) && n > 0) count = n;
    }
  }
  return count;
}

/**
 * Records the count in `meta` (best effort: a failure is logged, and the sweep sends the count
 * again while `meta` lacks it). A change is logged with what it does to open sessions.
 */
export async function recordPartitionCount(deps: PipelineDeps, topic: string, count: number): Promise<void> {
  const generation = deps.warm.generation;
  if (generation === undefined) return;
  try {
    const before = await deps.store.recordPartitions(generation, count);
    if (before === null || before === count) return;
    if (before === undefined) {
      log.info('the topic partition count recorded in the checkpoint', { topic, partitions: count });
      return;
    }
    log.warn(
      `topic ${topic} went from ${before} to ${count} partitions: the checkpoint records the new count. A ` +
        'user whose key now maps to another partition continues there with no state: a session it had open in its old partition ' +
        "stays there and gets a row of its own, so one session of Flink's is two rows, unless the producers paused for longer " +
        'than SESSION_GAP_MS + OUT_OF_ORDERNESS_MS around the change (docs/DEPLOY.md, "Adding partitions")',
      { topic, from: before, to: count },
    );
  } catch (error) {
    log.warn('the topic partition count could not be recorded; the sweep sends it again', {
      topic,
      partitions: count,
      ...errorFields(error),
    });
  }
}
