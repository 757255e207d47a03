import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoCheckpointStore } from './dynamodb-store.ts';
import type { PartitionCheckpoint } from './types.ts';

/**
 * What the checkpoint says about one Kafka partition, for `npm run status` and operators: read-only,
 * one BatchGetItem for all partitions, never the user state.
 */
export interface PartitionSummary {
  readonly topic: string;
  readonly partition: number;
  /** Committed transitions; 0 = the checkpoint has never committed this partition. */
  readonly version: number;
  /** Next Kafka offset the job will apply (everything below is counted or rejected). */
  readonly nextOffset: number;
  /** Event-time watermark (epoch ms); null = minus infinity (no record yet). */
  readonly watermark: number | null;
  /** Sessions held in state: waiting to fire, or fired and kept for the allowed lateness. */
  readonly liveSessions: number | null;
  /** Sessions waiting for the watermark to pass their end. */
  readonly pendingSessions: number | null;
  /** Kafka timestamp of the partition's latest event (where its silence starts); null = none. */
  readonly lastLogTime: number | null;
  /** Wall-clock time (epoch ms) of the last committed transition; null = never. */
  readonly committedAt: number | null;
  /**
   * Bytes the partition's state took in the memory of the container that committed it last
   * (estimated; null before it was recorded): what a container needs for it (docs/DEPLOY.md, "Sizing").
   */
  readonly memoryBytes: number | null;
}

export async function readPartitionSummaries(
  client: DynamoDBClient,
  table: string,
  topic: string,
  partitions: readonly number[],
): Promise<PartitionSummary[]> {
  return (await readTopicSummary(client, table, topic, partitions)).partitions;
}

/**
 * The partitions' summaries and the partition count the checkpoint's state was built with (null:
 * not recorded yet, or no `meta`), in one BatchGetItem.
 */
export async function readTopicSummary(
  client: DynamoDBClient,
  table: string,
  topic: string,
  partitions: readonly number[],
): Promise<{ recordedPartitions: number | null; partitions: PartitionSummary[] }> {
  // No partition (the topic does not exist): nothing to read, and nothing to compare the count with.
  if (partitions.length === 0) return { recordedPartitions: null, partitions: [] };
  const store = new DynamoCheckpointStore(client, { table, stateTtlDays: 1 });
  const { meta, partitions: checkpoints } = await store.readTopic(topic, partitions);
  return {
    recordedPartitions: meta?.partitions ?? null,
    partitions: summaries(topic, partitions, checkpoints),
  };
}

function summaries(
  topic: string,
  partitions: readonly number[],
  checkpoints: readonly (PartitionCheckpoint | null)[],
): PartitionSummary[] {
  return partitions.map((partition, i) => {
    const c = checkpoints[i] ?? null;
    return {
      topic,
      partition,
      version: c?.version ?? 0,
      nextOffset: c?.state.nextOffset ?? 0,
      watermark: c?.state.watermark ?? null,
      liveSessions: c === null ? null : c.stats.liveSessions,
      pendingSessions: c === null ? null : c.stats.pendingSessions,
      lastLogTime: c?.state.lastLogTime ?? null,
      committedAt: c?.committedAt ?? null,
      memoryBytes: c?.memoryBytes ?? null,
    };
  });
}
