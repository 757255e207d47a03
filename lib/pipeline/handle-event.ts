import { decodeKafkaEvent } from '../decode/index.ts';
import { isRetryable, markNotRetryable, PartitionTooLargeError } from '../errors.ts';
import { errorFields, log } from '../log.ts';
import { recordBatchFailure, recordBatchMetrics } from '../metrics.ts';
import { processPartition } from './process-partition.ts';
import type { PartitionOutcome, PipelineDeps } from './types.ts';

/**
 * One Kafka event: each topic-partition is its own transition, run in parallel (the event source
 * mapping keeps one batch per partition in flight). If any partition fails, the first error is
 * rethrown after the others finished, so the whole batch is retried; partitions that committed
 * skip their records on the retry.
 */
export async function handleKafkaEvent(deps: PipelineDeps, event: unknown): Promise<PartitionOutcome[]> {
  let decoded: ReturnType<typeof decodeKafkaEvent>;
  try {
    decoded = decodeKafkaEvent(event);
  } catch (error) {
    // Not a Kafka event we can place record by record: retrying the same event cannot help.
    log.error('event refused: not a usable Kafka event', errorFields(error));
    throw markNotRetryable(error);
  }
  const outcomes: PartitionOutcome[] = [];
  let failure: unknown;
  await Promise.all(
    decoded.batches.map(async (batch) => {
      try {
        const outcome = await processPartition(deps, batch);
        outcomes.push(outcome);
        logBatch(outcome);
        recordBatchMetrics(outcome, deps.now());
      } catch (error) {
        failure ??= error;
        const where = {
          topicPartition: `${batch.topic}-${batch.partition}`,
          topic: batch.topic,
          partition: batch.partition,
          firstOffset: batch.records[0]?.offset,
          lastOffset: batch.records.at(-1)?.offset,
          ...errorFields(error),
          // A partition too large for this container: its live users and the memory it needs.
          ...(error instanceof PartitionTooLargeError ? error.details : {}),
        };
        recordBatchFailure(error);
        if (isRetryable(error)) log.error('batch failed; the event source will retry it', where);
        // Lost or foreign state, other settings, data PostgreSQL refuses whatever record is diverted:
        // retrying cannot help, and going on would count wrongly. Nothing is committed, so nothing
        // is lost while an operator follows the message.
        else log.critical('batch refused, not retryable: fix what the error says', where);
      }
    }),
  );
  if (failure !== undefined) throw markNotRetryable(failure);
  return outcomes;
}

function logBatch(outcome: PartitionOutcome): void {
  const fields = { topicPartition: `${outcome.topic}-${outcome.partition}`, ...outcome };
  if (outcome.offsetGap > 0) {
    log.warn(
      'offsets missing between the checkpoint and this batch (retention, transaction markers, or a restore)',
      {
        ...fields,
      },
    );
  }
  if (outcome.late > 0) {
    log.warn(
      'late records: earlier records had moved the watermark past their sessions; raise ' +
        'OUT_OF_ORDERNESS_MS or ALLOWED_LATENESS_MS if such stragglers are expected, or start afresh with npm run reset',
      {
        ...fields,
        watermarkTime: outcome.watermark === null ? null : new Date(outcome.watermark).toISOString(),
      },
    );
    return;
  }
  log.info('batch', fields);
}
