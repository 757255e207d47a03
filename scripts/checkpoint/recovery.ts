/**
 * The two recoveries of docs/STATE.md section 5, as functions: `npm run checkpoint` (scripts/
 * checkpoint.ts) runs them for an operator, and test/integration/restore.test.ts runs them against
 * DynamoDB Local to show that a restored table, once adopted and replayed from its offsets, gives
 * exactly the rows of a run that never lost anything.
 */

import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  committedItem,
  type DynamoCheckpointStore,
  EMPTY_MANIFEST,
  freshPartition,
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
  partitions?: number,
): TableMeta {
  const meta: TableMeta = {
    layout: LAYOUT,
    generation: newGeneration(nowMs, replacing?.generation),
    createdAt: nowMs,
    origin,
    ...(partitions === undefined ? {} : { partitions }),
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
  // The restored state was built with the partition count its meta records (if any): kept, so that
  // a change since is still told (docs/DEPLOY.md, "Adding partitions").
  const meta = recoveryMeta(
    'adopted',
    nowMs,
    replacing,
    replacing?.settings,
    replacing?.partitions ?? partitions.length,
  );
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
  // A new generation starts every partition empty: its state is built with the topic as it is now.
  const meta = recoveryMeta('new-generation', nowMs, await store.readMeta(), settings, partitions.length);
  await store.replaceMeta(meta);
  return meta;
}

/** What `new-generation --partition` did to one partition. */
export interface PartitionRestart {
  readonly partition: number;
  /** The offset it continues from (the item's nextOffset; 0 when it had no item). */
  readonly offset: number;
  /** The epoch its item now holds: its next claim is this + 1, above any the sink has seen. */
  readonly epoch: number;
  /** Live sessions the lost state held, as its item counted them (gone now). */
  readonly lostSessions: number;
}

/**
 * `checkpoint new-generation --partition <n>`: accept that one partition's state is lost (its
 * pieces expired, or were deleted) while the others are fine. The table's generation stays, so no
 * other partition and no warm container notices; the partition's item is replaced by an empty one
 * under a new lineage (so its next claim reads it afresh, and its pieces can never meet the old
 * ones) that continues from the item's nextOffset with its watermark, at an epoch at least
 * `afterEpoch` and the old item's (the sink's fence accepts the next claim, a higher epoch). The
 * sessions that were open are lost: their records before nextOffset are not read again.
 *
 * `afterEpoch`: the epoch the sink last saw for the partition (the CheckpointLost message names it:
 * "PostgreSQL was last written by generation ..., epoch E"); needed when the item itself is gone,
 * else the item's epoch is at least the fence's. Refused (null) when neither is known. The item is
 * replaced only if it is still the one read (a job running meanwhile makes this fail: stop it).
 */
export async function restartPartition(
  client: DynamoDBClient,
  store: DynamoCheckpointStore,
  table: string,
  topic: string,
  partition: number,
  nowMs: number,
  afterEpoch?: number,
): Promise<PartitionRestart | null> {
  const current = await store.readPartition(topic, partition);
  if (current === null && afterEpoch === undefined) return null;
  const epoch = Math.max(current?.epoch ?? 0, afterEpoch ?? 0);
  const fresh = freshPartition(topic, partition, randomBytes(4).toString('hex'));
  const item = committedItem(
    { ...fresh, version: current?.version ?? 0, epoch },
    {
      state: current?.state ?? fresh.state,
      manifest: EMPTY_MANIFEST,
      stats: fresh.stats,
      committedAt: nowMs,
      lastRecordAt: current?.lastRecordAt ?? null,
    },
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  await doc.send(
    new PutCommand({
      TableName: table,
      Item: item,
      ...(current === null
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            ConditionExpression: '#version = :version AND #epoch = :epoch',
            ExpressionAttributeNames: { '#version': 'version', '#epoch': 'epoch' },
            ExpressionAttributeValues: { ':version': current.version, ':epoch': current.epoch },
          }),
    }),
  );
  return {
    partition,
    offset: item.nextOffset,
    epoch,
    lostSessions: current?.stats.liveSessions ?? 0,
  };
}
