import { withLambdaContext } from '../lib/log.ts';
import { publishMetrics } from '../lib/metrics.ts';
import { handleKafkaEvent } from '../lib/pipeline/index.ts';
import { createRuntime } from '../lib/runtime/index.ts';

// Created once per container, outside the handler: the configuration (validated: a bad setting
// fails the cold start with one message naming every bad setting), the DynamoDB client and the
// PostgreSQL pool.
const runtime = createRuntime();

/**
 * The Kafka-triggered handler (Amazon MSK `aws:kafka` and `SelfManagedKafka` events): decode,
 * fold each partition's records into sessions, write closed sessions and rejects to PostgreSQL,
 * commit the checkpoint. Bad records never throw (they go to rejected_events); an unreachable
 * store or a lost fencing race throws, so the event source mapping retries the batch. Every log
 * line carries the invocation's request id, function name and cold start flag.
 */
export const handler = withLambdaContext(async (event: unknown): Promise<{ batchItemFailures: [] }> => {
  try {
    await handleKafkaEvent(runtime.deps, event);
  } finally {
    // One EMF line per invocation with every partition's batch metrics (failed ones included).
    publishMetrics();
  }
  // Everything committed; with ReportBatchItemFailures on, an empty list says so too.
  return { batchItemFailures: [] };
});
