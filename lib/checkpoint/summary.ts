import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodePartition, type PartitionItem } from './codec.ts';
import { partitionKey } from './keys.ts';

/**
 * What the checkpoint says about one Kafka partition, for `npm run status` and operators: read-only,
 * one BatchGetItem for all partitions, never the user state. A field the layout does not record is
 * null.
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
  /** The watermark at which the next pending session fires; null = none pending. */
  readonly nextDue: number | null;
  /** Wall-clock time (epoch ms) of the last committed transition; null = unknown. */
  readonly committedAt: number | null;
}

export async function readPartitionSummaries(
  client: DynamoDBClient,
  table: string,
  topic: string,
  partitions: readonly number[],
): Promise<PartitionSummary[]> {
  const doc = DynamoDBDocumentClient.from(client);
  const items = new Map<string, PartitionItem>();
  for (let i = 0; i < partitions.length; i += 100) {
    let keys: Record<string, unknown>[] = partitions
      .slice(i, i + 100)
      .map((p) => ({ pk: partitionKey(topic, p) }));
    while (keys.length > 0) {
      const result = await doc.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of result.Responses?.[table] ?? []) items.set(item.pk as string, item as PartitionItem);
      keys = (result.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return partitions.map((partition) => {
    const checkpoint = decodePartition(topic, partition, items.get(partitionKey(topic, partition)));
    return {
      topic,
      partition,
      version: checkpoint.version,
      nextOffset: checkpoint.state.nextOffset,
      watermark: checkpoint.state.watermark,
      liveSessions: null,
      pendingSessions: null,
      nextDue: null,
      committedAt: checkpoint.state.lastArrivalMs,
    };
  });
}
