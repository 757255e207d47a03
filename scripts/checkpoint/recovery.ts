/**
 * The two recoveries of docs/STATE.md section 5, as functions: `npm run checkpoint` (scripts/
 * checkpoint.ts) runs them for an operator, and test/integration/restore.test.ts runs them against
 * DynamoDB Local to show that a restored table, once adopted and replayed from its offsets, gives
 * exactly the rows of a run that never lost anything.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type DynamoCheckpointStore,
  LAYOUT,
  type PartitionCheckpoint,
  partitionKey,
  type RecordedSettings,
  type TableMeta,
} from '../../lib/checkpoint/index.ts';
import { newGeneration } from '../../lib/pipeline/index.ts';

/** Where a partition's restored state continues: the consumer group must resume here. */
export interface PartitionOffset {
  readonly partition: number;
  readonly offset: number;
}

export type Recovery = 'adopted' | 'new-generation';

/**
 * The generation item a recovery writes: newer than any the sink has seen, so its fences accept it,
 * with `settings` (the settings its state is to be folded under; none: the job's first batch
 * records its own, as for a table of release 0.1.0).
 */
export function recoveryMeta(
  origin: Recovery,
  nowMs: number,
  replacing?: TableMeta | null,
  settings?: RecordedSettings,
): TableMeta {
  const meta: TableMeta = {
    layout: LAYOUT,
    generation: newGeneration(nowMs, replacing?.generation),
    createdAt: nowMs,
    origin,
  };
  return settings === undefined ? meta : { ...meta, settings };
}

/**
 * The offsets the restored state continues from: each partition item's nextOffset, or 0 for a
 * partition the restored table has no item of (its state starts from the beginning of the log).
 */
export function continueOffsets(
  partitions: readonly number[],
  checkpoints: readonly (PartitionCheckpoint | null)[],
): PartitionOffset[] {
  return partitions.map((partition, i) => ({ partition, offset: checkpoints[i]?.state.nextOffset ?? 0 }));
}

/**
 * `checkpoint adopt`: a table restored from a backup (DynamoDB point-in-time recovery) is older than
 * PostgreSQL, so the job refuses it (CheckpointLost). A new generation makes the sink accept its
 * writes again; the consumer group must then be set to the returned offsets, so that the records
 * after the restore point are read again and fold into the restored sessions. The rows they write
 * are the rows already there (upserts and rejections are idempotent), and then the job goes on.
 * The restored state was built under the settings its `meta` records, so the new one keeps them.
 */
export async function adoptTable(
  store: DynamoCheckpointStore,
  topic: string,
  partitions: readonly number[],
  nowMs: number,
): Promise<{ meta: TableMeta; offsets: PartitionOffset[] }> {
  const checkpoints = await store.readPartitions(topic, partitions);
  const replacing = await store.readMeta();
  const meta = recoveryMeta('adopted', nowMs, replacing, replacing?.settings);
  await store.replaceMeta(meta);
  return { meta, offsets: continueOffsets(partitions, checkpoints) };
}

/**
 * `checkpoint new-generation`: accept that the state is lost, or start it afresh under other
 * settings (docs/OPERATIONS.md, "Changing settings"). The partition items go (their pieces expire
 * by TTL) and a new generation is written with `settings`, those the job is to run with; each
 * partition starts empty at the consumer group's committed offset, so sessions that were open at
 * that point are counted from there on.
 */
export async function startNewGeneration(
  client: DynamoDBClient,
  store: DynamoCheckpointStore,
  table: string,
  topic: string,
  partitions: readonly number[],
  nowMs: number,
  settings: RecordedSettings,
): Promise<TableMeta> {
  const doc = DynamoDBDocumentClient.from(client);
  for (const partition of partitions) {
    await doc.send(new DeleteCommand({ TableName: table, Key: { pk: partitionKey(topic, partition) } }));
  }
  const meta = recoveryMeta('new-generation', nowMs, await store.readMeta(), settings);
  await store.replaceMeta(meta);
  return meta;
}
