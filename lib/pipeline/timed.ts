import type { CheckpointStore, StoreStats } from '../checkpoint/types.ts';
import type { Sink } from '../sink/types.ts';
import type { PipelineDeps } from './types.ts';

/** Wall-clock time one transition spent waiting for each store (ms). */
export interface StoreTimings {
  dynamodbMs: number;
  postgresMs: number;
}

/**
 * The same deps with every checkpoint-store and sink call timed into `timings`. One transition's
 * calls are sequential, so the sums are the time it spent in DynamoDB and in PostgreSQL (the batch
 * log line and the DynamoDbTime / PostgresTime metrics).
 */
export function timedDeps(deps: PipelineDeps): { deps: PipelineDeps; timings: StoreTimings } {
  const timings: StoreTimings = { dynamodbMs: 0, postgresMs: 0 };
  const time = async <T>(key: keyof StoreTimings, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      timings[key] += performance.now() - started;
    }
  };
  const inner = deps.store;
  const store: CheckpointStore = {
    get stats(): StoreStats {
      return inner.stats;
    },
    readPartition: (topic, partition) => time('dynamodbMs', () => inner.readPartition(topic, partition)),
    listPartitions: (topic) => time('dynamodbMs', () => inner.listPartitions(topic)),
    queryDue: (topic, partition, watermark) =>
      time('dynamodbMs', () => inner.queryDue(topic, partition, watermark)),
    readUsers: (topic, partition, userIds) =>
      time('dynamodbMs', () => inner.readUsers(topic, partition, userIds)),
    claim: (request) => time('dynamodbMs', () => inner.claim(request)),
    writeUsers: (topic, partition, epoch, users, nowMs) =>
      time('dynamodbMs', () => inner.writeUsers(topic, partition, epoch, users, nowMs)),
    commit: (claimed, state) => time('dynamodbMs', () => inner.commit(claimed, state)),
  };
  const sink: Sink = { write: (batch, fence) => time('postgresMs', () => deps.sink.write(batch, fence)) };
  return { deps: { ...deps, store, sink }, timings };
}

/** Milliseconds to 0.1 ms: enough for logs and metrics, short in a log line. */
export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
