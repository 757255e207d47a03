import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { chunkBySize } from '../chunks.ts';
import { nextDue } from '../engine/index.ts';
import type { PartitionState, UserState } from '../engine/types.ts';
import { CheckpointUnavailableError } from '../errors.ts';
import {
  decodePartition,
  decodeUser,
  encodeSessions,
  type PartitionItem,
  stateUpdate,
  type UserItem,
} from './codec.ts';
import { mapDynamoError } from './errors.ts';
import { dueShard, dueShards, partitionKey, topicKey, userIdFromKey, userKey } from './keys.ts';
import { DUE_INDEX } from './table.ts';
import type { CheckpointStore, ClaimRequest, PartitionCheckpoint, StoredUser, StoreStats } from './types.ts';

// DynamoDB limits (DESIGN.md section 5).
const BATCH_GET_KEYS = 100;
const TRANSACT_ACTIONS = 100;
const TRANSACT_BYTES = 3_500_000; // of the 4 MB request limit, with room for attribute names
const PARALLEL_REQUESTS = 4;
const UNPROCESSED_RETRIES = 8;

export interface DynamoStoreOptions {
  readonly table: string;
  readonly dueIndexShards: number;
  readonly stateTtlDays: number;
}

/**
 * The checkpoint store on DynamoDB. Round trips per batch are bounded by the users touched,
 * never by records: one BatchGetItem per 100 users, one TransactWriteItems per 100 users, plus
 * a constant (partition read, due-index queries, claim, commit).
 */
export class DynamoCheckpointStore implements CheckpointStore {
  readonly stats: StoreStats = { calls: 0, itemsRead: 0, itemsWritten: 0 };
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly options: DynamoStoreOptions,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async readPartition(topic: string, partition: number): Promise<PartitionCheckpoint> {
    const { Item } = await this.call('read partition', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.options.table,
          Key: { pk: partitionKey(topic, partition) },
          ConsistentRead: true,
        }),
      ),
    );
    this.stats.itemsRead += Item === undefined ? 0 : 1;
    return decodePartition(topic, partition, Item as PartitionItem | undefined);
  }

  async listPartitions(topic: string): Promise<number[]> {
    const { Item } = await this.call('list partitions', () =>
      this.doc.send(
        new GetCommand({ TableName: this.options.table, Key: { pk: topicKey(topic) }, ConsistentRead: true }),
      ),
    );
    const partitions = (Item?.partitions as Set<number> | undefined) ?? new Set<number>();
    return [...partitions].map(Number).sort((a, b) => a - b);
  }

  async queryDue(topic: string, partition: number, watermark: number): Promise<string[]> {
    const shards = dueShards(topic, partition, this.options.dueIndexShards);
    const perShard = await Promise.all(
      shards.map(async (shard) => {
        const users: string[] = [];
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await this.call('query due index', () =>
            this.doc.send(
              new QueryCommand({
                TableName: this.options.table,
                IndexName: DUE_INDEX,
                KeyConditionExpression: '#dueShard = :shard AND #nextDue <= :watermark',
                ExpressionAttributeNames: names('dueShard', 'nextDue', 'pk'),
                ExpressionAttributeValues: { ':shard': shard, ':watermark': watermark },
                ProjectionExpression: '#pk',
                ExclusiveStartKey: startKey,
              }),
            ),
          );
          for (const item of page.Items ?? []) users.push(userIdFromKey(topic, partition, item.pk as string));
          startKey = page.LastEvaluatedKey;
        } while (startKey !== undefined);
        return users;
      }),
    );
    return perShard.flat();
  }

  async readUsers(
    topic: string,
    partition: number,
    userIds: readonly string[],
  ): Promise<Map<string, StoredUser>> {
    const users = new Map<string, StoredUser>();
    const byKey = new Map(userIds.map((id) => [userKey(topic, partition, id), id]));
    const chunks = chunk([...byKey.keys()], BATCH_GET_KEYS);
    await inParallel(chunks, PARALLEL_REQUESTS, async (keys) => {
      let pending: Record<string, unknown>[] = keys.map((pk) => ({ pk }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > UNPROCESSED_RETRIES) {
          throw new CheckpointUnavailableError(
            `BatchGetItem left ${pending.length} keys unprocessed after retries`,
          );
        }
        if (attempt > 0) await backoff(attempt);
        const result = await this.call('read users', () =>
          this.doc.send(
            new BatchGetCommand({
              RequestItems: { [this.options.table]: { Keys: pending, ConsistentRead: true } },
            }),
          ),
        );
        for (const item of result.Responses?.[this.options.table] ?? []) {
          const userItem = item as UserItem;
          const userId = byKey.get(userItem.pk);
          if (userId !== undefined) users.set(userId, decodeUser(userId, userItem));
        }
        pending = (result.UnprocessedKeys?.[this.options.table]?.Keys ?? []) as Record<string, unknown>[];
      }
    });
    this.stats.itemsRead += users.size;
    return users;
  }

  async claim({ claim, read, claimedThrough }: ClaimRequest): Promise<PartitionCheckpoint> {
    const { topic, partition } = read;
    if (read.version === 0) {
      // Register the partition for the sweep before its first commit (ADD is idempotent).
      await this.call('register partition', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.options.table,
            Key: { pk: topicKey(topic) },
            // PARTITIONS is a DynamoDB reserved word.
            UpdateExpression: 'ADD #partitions :p',
            ExpressionAttributeNames: { '#partitions': 'partitions' },
            ExpressionAttributeValues: { ':p': new Set([partition]) },
          }),
        ),
      );
    }
    const { Attributes } = await this.call(`claim ${topic}-${partition}`, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.options.table,
          Key: { pk: partitionKey(topic, partition) },
          UpdateExpression:
            'SET #epoch = :epoch, #claim = :claim, #claimedThrough = :through, ' +
            '#version = if_not_exists(#version, :zero), #nextOffset = if_not_exists(#nextOffset, :zero)',
          // Fencing: nobody may have claimed since we read (no item yet means epoch 0).
          ConditionExpression: 'attribute_not_exists(#pk) OR #epoch = :readEpoch',
          ExpressionAttributeNames: names('pk', 'epoch', 'claim', 'claimedThrough', 'version', 'nextOffset'),
          ExpressionAttributeValues: {
            ':epoch': claim.epoch,
            ':claim': claim,
            ':through': Math.max(read.claimedThrough, claimedThrough),
            ':zero': 0,
            ':readEpoch': read.epoch,
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    this.stats.itemsWritten++;
    return decodePartition(topic, partition, Attributes as PartitionItem);
  }

  async writeUsers(
    topic: string,
    partition: number,
    epoch: number,
    users: readonly UserState[],
    nowMs: number,
  ): Promise<void> {
    const expiresAt = Math.floor(nowMs / 1000) + this.options.stateTtlDays * 86_400;
    const puts = users.map((user) => {
      const due = nextDue(user);
      const item: UserItem = {
        pk: userKey(topic, partition, user.userId),
        sessions: encodeSessions(user.sessions),
        lastOffset: user.lastOffset ?? undefined,
        epoch,
        // Sparse index: only users with a session waiting to fire are in it.
        dueShard:
          due === null ? undefined : dueShard(topic, partition, user.userId, this.options.dueIndexShards),
        nextDue: due ?? undefined,
        expiresAt: user.sessions.length === 0 ? expiresAt : undefined,
      };
      return item;
    });
    const chunks = chunkBySize(
      puts,
      TRANSACT_ACTIONS,
      TRANSACT_BYTES,
      (item) => item.pk.length + item.sessions.length + 128,
    );
    await inParallel(chunks, PARALLEL_REQUESTS, (items) =>
      this.call(`write users of ${topic}-${partition}`, () =>
        this.doc.send(
          new TransactWriteCommand({
            TransactItems: items.map((Item) => ({
              Put: {
                TableName: this.options.table,
                Item,
                // A zombie invocation with an older claim must not overwrite a newer state.
                ConditionExpression: 'attribute_not_exists(#pk) OR #epoch <= :epoch',
                ExpressionAttributeNames: names('pk', 'epoch'),
                ExpressionAttributeValues: { ':epoch': epoch },
              },
            })),
          }),
        ),
      ),
    );
    this.stats.itemsWritten += puts.length;
  }

  async commit(claimed: PartitionCheckpoint, state: PartitionState): Promise<PartitionCheckpoint> {
    const { set, remove, values, names: stateNames } = stateUpdate(state);
    const { Attributes } = await this.call(`commit ${claimed.topic}-${claimed.partition}`, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.options.table,
          Key: { pk: partitionKey(claimed.topic, claimed.partition) },
          UpdateExpression: `SET #version = :version, ${set.join(', ')} REMOVE ${['#claim', ...remove].join(', ')}`,
          ConditionExpression: '#epoch = :epoch AND #claim.#epoch = :epoch',
          ExpressionAttributeNames: names('version', 'epoch', 'claim', ...stateNames),
          ExpressionAttributeValues: { ...values, ':version': claimed.version + 1, ':epoch': claimed.epoch },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    this.stats.itemsWritten++;
    return decodePartition(claimed.topic, claimed.partition, Attributes as PartitionItem);
  }

  private async call<T>(what: string, send: () => Promise<T>): Promise<T> {
    this.stats.calls++;
    try {
      return await send();
    } catch (error) {
      throw mapDynamoError(error, what);
    }
  }
}

/** Every attribute goes through a name placeholder: DynamoDB reserves hundreds of words. */
function names(...attributes: string[]): Record<string, string> {
  return Object.fromEntries(attributes.map((a) => [`#${a}`, a]));
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

/** Exponential backoff with full jitter (AWS's recommendation for UnprocessedKeys). */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(2_000, 25 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
