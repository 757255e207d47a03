import { decodeKafkaEvent } from '../kafka/index.ts';
import { errorFields, log } from '../log.ts';
import { recordBatchFailure, recordBatchMetrics, recordSweepMetrics } from '../metrics.ts';
import { processPartition } from './batch.ts';
import { sweepPartition } from './sweep.ts';
import type { PartitionOutcome, PipelineDeps, SweepOutcome } from './types.ts';

/**
 * One Kafka event: each topic-partition is its own transition, run in parallel (the event
 * source mapping already keeps one batch per partition in flight). If any partition fails the
 * error is rethrown after the others finished, so the whole batch is retried; partitions that
 * committed skip their records on the retry.
 */
export async function handleKafkaEvent(deps: PipelineDeps, event: unknown): Promise<PartitionOutcome[]> {
  const decoded = decodeKafkaEvent(event);
  const outcomes: PartitionOutcome[] = [];
  let failure: unknown;
  await Promise.all(
    decoded.batches.map(async (batch) => {
      try {
        const outcome = await processPartition(deps, batch);
        outcomes.push(outcome);
        log.info('batch', { topicPartition: `${outcome.topic}-${outcome.partition}`, ...outcome });
        recordBatchMetrics(outcome, deps.now());
      } catch (error) {
        failure ??= error;
        recordBatchFailure();
        log.error('batch failed; the event source will retry it', {
          topicPartition: `${batch.topic}-${batch.partition}`,
          topic: batch.topic,
          partition: batch.partition,
          firstOffset: batch.records[0]?.offset,
          lastOffset: batch.records.at(-1)?.offset,
          ...errorFields(error),
        });
      }
    }),
  );
  if (failure !== undefined) throw failure;
  return outcomes;
}

/** The idle flush over every partition of `topic` the job has seen. */
export async function sweepTopic(deps: PipelineDeps, topic: string): Promise<SweepOutcome[]> {
  if (!deps.settings.idleFlush) return [];
  const outcomes: SweepOutcome[] = [];
  let failure: unknown;
  for (const partition of await deps.store.listPartitions(topic)) {
    try {
      const outcome = await sweepPartition(deps, topic, partition);
      outcomes.push(outcome);
      if (outcome.action === 'advanced') log.info('idle flush', { ...outcome });
      recordSweepMetrics(outcome, deps.now());
    } catch (error) {
      failure ??= error;
      log.error('idle flush failed; the next sweep retries it', { topic, partition, ...errorFields(error) });
    }
  }
  if (failure !== undefined) throw failure;
  return outcomes;
}
