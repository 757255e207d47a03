import type { CheckpointStore, StoreStats } from '../checkpoint/index.ts';
import type { Sink } from '../sink/index.ts';
import type { PipelineDeps } from './types.ts';

/** Wall-clock time one transition spent waiting for each store (ms). */
export interface StoreTimings {
  dynamodbMs: number;
  postgresMs: number;
}

/**
 * The same deps with every checkpoint-store and sink call timed into `timings` (the batch log line
 * and the DynamoDbTime / PostgresTime metrics). A transition writes the sink and the state image in
 * parallel, so the two sums can together exceed the batch's duration. A call is timed until its
 * answer is read, and the thread reads it only when free: a warm claim's time is at least the fold
 * it overlaps, a sink write's at least the state image encoded meanwhile (process-partition.ts).
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
  const dynamo =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      time('dynamodbMs', () => call.apply(inner, args));
  const store: CheckpointStore = {
    get stats(): StoreStats {
      return inner.stats;
    },
    readMeta: dynamo(inner.readMeta),
    createMeta: dynamo(inner.createMeta),
    replaceMeta: dynamo(inner.replaceMeta),
    recordSettings: dynamo(inner.recordSettings),
    recordPartitions: dynamo(inner.recordPartitions),
    readTopic: dynamo(inner.readTopic),
    hasLegacyItems: dynamo(inner.hasLegacyItems),
    readPartition: dynamo(inner.readPartition),
    readPartitions: dynamo(inner.readPartitions),
    claim: dynamo(inner.claim),
    readImages: dynamo(inner.readImages),
    writeImage: dynamo(inner.writeImage),
    commit: dynamo(inner.commit),
  };
  const sink: Sink = {
    write: (batch, fence, options) => time('postgresMs', () => deps.sink.write(batch, fence, options)),
    fenceGenerations: (topic) => time('postgresMs', () => deps.sink.fenceGenerations(topic)),
  };
  return { deps: { ...deps, store, sink }, timings };
}

/** Milliseconds to 0.1 ms: enough for logs and metrics, short in a log line. */
export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
