import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CheckpointConflictError, CheckpointLostError, CheckpointUnavailableError } from '../errors.ts';
import { chunkBySize, jitteredDelay, sleep } from '../shared/index.ts';
import { consistentReadUnits, emptyStoreStats, itemBytes, writeUnits } from './billing.ts';
import {
  committedItem,
  decodeMeta,
  decodePartition,
  EMPTY_MANIFEST,
  encodeManifest,
  freshPartition,
  type MetaItem,
  type PartitionItem,
} from './codec.ts';
import {
  BATCH_GET_KEYS,
  BATCH_WRITE_ITEMS,
  PARALLEL_REQUESTS,
  TTL_ATTRIBUTE,
  UNPROCESSED_RETRIES,
} from './constants.ts';
import { mapDynamoError } from './dynamo-errors.ts';
import type { EncodedImage, StoredImage } from './image.ts';
import { lostPiecesMessage, pieceExpiresAt } from './journal.ts';
import { legacyKeys, META_KEY, partitionKey, pieceKey } from './keys.ts';
import type {
  CheckpointStore,
  Claim,
  Commit,
  ImageRef,
  PartitionCheckpoint,
  RecordedSettings,
  StoreStats,
  TableMeta,
} from './types.ts';

export interface DynamoStoreOptions {
  readonly table: string;
  /** Pieces expire this long after they were written (docs/STATE.md section 2). */
  readonly stateTtlDays: number;
}

type Item = Record<string, unknown>;

/**
 * The checkpoint store on DynamoDB (docs/STATE.md): one `meta` item, one item per Kafka partition,
 * and immutable pieces of state images. A batch costs a claim and a commit on the partition item and
 * ceil(image / 350 KB) piece puts: write units follow the bytes that changed, not the users.
 */
export class DynamoCheckpointStore implements CheckpointStore {
  readonly stats: StoreStats = emptyStoreStats();
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly options: DynamoStoreOptions,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async readMeta(): Promise<TableMeta | null> {
    const item = await this.get(META_KEY, 'read the table meta item');
    return item === undefined ? null : decodeMeta(item as unknown as MetaItem);
  }

  async createMeta(meta: TableMeta): Promise<TableMeta> {
    const item: MetaItem = { pk: META_KEY, ...meta };
    try {
      await this.call('create the table meta item', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.options.table,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
      this.countWrite(item);
      return meta;
    } catch (error) {
      if (!(error instanceof CheckpointConflictError)) throw error;
      // Another container created it first: use theirs.
      const winner = await this.readMeta();
      if (winner === null) throw error;
      return winner;
    }
  }

  async replaceMeta(meta: TableMeta): Promise<void> {
    const item: MetaItem = { pk: META_KEY, ...meta };
    await this.call('replace the table meta item', () =>
      this.doc.send(new PutCommand({ TableName: this.options.table, Item: item })),
    );
    this.countWrite(item);
  }

  async recordSettings(generation: string, settings: RecordedSettings): Promise<TableMeta | null> {
    try {
      await this.call('record the settings in the table meta item', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.options.table,
            Key: { pk: META_KEY },
            UpdateExpression: 'SET #settings = :settings',
            ConditionExpression: 'attribute_not_exists(#settings) AND #generation = :generation',
            ExpressionAttributeNames: names('settings', 'generation'),
            ExpressionAttributeValues: { ':settings': settings, ':generation': generation },
          }),
        ),
      );
      this.countWrite({ pk: META_KEY, generation, settings });
    } catch (error) {
      // Another container recorded its settings first, or the generation changed: theirs is read.
      if (!(error instanceof CheckpointConflictError)) throw error;
    }
    return this.readMeta();
  }

  async recordPartitions(generation: string, partitions: number): Promise<number | undefined | null> {
    try {
      const { Attributes } = await this.call('record the partition count in the table meta item', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.options.table,
            Key: { pk: META_KEY },
            UpdateExpression: 'SET #partitions = :partitions',
            ConditionExpression: '#generation = :generation',
            ExpressionAttributeNames: names('partitions', 'generation'),
            ExpressionAttributeValues: { ':partitions': partitions, ':generation': generation },
            ReturnValues: 'UPDATED_OLD',
          }),
        ),
      );
      this.countWrite({ pk: META_KEY, generation, partitions });
      const before = Attributes?.partitions;
      return before === undefined ? undefined : Number(before);
    } catch (error) {
      // Another generation (an operator's command meanwhile) or no meta: not ours to write.
      if (error instanceof CheckpointConflictError) return null;
      throw error;
    }
  }

  async readTopic(
    topic: string,
    partitions: readonly number[],
  ): Promise<{ meta: TableMeta | null; partitions: (PartitionCheckpoint | null)[] }> {
    const keys = partitions.map((p) => partitionKey(topic, p));
    const items = await this.batchGet([META_KEY, ...keys], `read the meta and partitions of ${topic}`);
    const meta = items.get(META_KEY);
    return {
      meta: meta === undefined ? null : decodeMeta(meta as unknown as MetaItem),
      partitions: partitions.map((p, i) => {
        const item = items.get(keys[i] as string);
        return item === undefined ? null : decodePartition(topic, p, item as unknown as PartitionItem);
      }),
    };
  }

  async hasLegacyItems(topic: string): Promise<boolean> {
    const found = await this.batchGet(legacyKeys(topic), 'look for items of the per-user layout');
    return found.size > 0;
  }

  async readPartition(topic: string, partition: number): Promise<PartitionCheckpoint | null> {
    const item = await this.get(partitionKey(topic, partition), `read ${topic}-${partition}`);
    return item === undefined ? null : decodePartition(topic, partition, item as unknown as PartitionItem);
  }

  async readPartitions(
    topic: string,
    partitions: readonly number[],
  ): Promise<(PartitionCheckpoint | null)[]> {
    const keys = partitions.map((p) => partitionKey(topic, p));
    const items = await this.batchGet(keys, `read the partitions of ${topic}`);
    return partitions.map((p, i) => {
      const item = items.get(keys[i] as string);
      return item === undefined ? null : decodePartition(topic, p, item as unknown as PartitionItem);
    });
  }

  async claim(
    topic: string,
    partition: number,
    expected: PartitionCheckpoint | null,
    claim: Claim,
    lineage: string,
  ): Promise<PartitionCheckpoint> {
    const key = { pk: partitionKey(topic, partition) };
    const what = `claim ${topic}-${partition}`;
    if (expected === null) {
      // A new partition: the claim creates its item, unless someone else did meanwhile.
      const created = freshPartition(topic, partition, lineage);
      await this.call(what, () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.options.table,
            Key: key,
            UpdateExpression:
              'SET #lineage = :lineage, #version = :zero, #epoch = :epoch, #claim = :claim, ' +
              '#nextOffset = :zero, #manifest = :manifest',
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: names(
              'pk',
              'lineage',
              'version',
              'epoch',
              'claim',
              'nextOffset',
              'manifest',
            ),
            ExpressionAttributeValues: {
              ':lineage': lineage,
              ':zero': 0,
              ':epoch': claim.epoch,
              ':claim': claim,
              ':manifest': encodeManifest(EMPTY_MANIFEST),
            },
          }),
        ),
      );
      this.countWrite({
        ...key,
        lineage,
        version: 0,
        epoch: claim.epoch,
        claim,
        nextOffset: 0,
        manifest: '',
      });
      return { ...created, epoch: claim.epoch, claim };
    }
    try {
      await this.call(what, () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.options.table,
            Key: key,
            UpdateExpression: 'SET #epoch = :epoch, #claim = :claim',
            // Nobody committed or claimed since the state this container holds (read or cached).
            ConditionExpression: '#version = :version AND #epoch = :readEpoch AND #lineage = :lineage',
            // A refusal returns the winner's item: the retry starts from it without reading it again.
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            ExpressionAttributeNames: names('epoch', 'claim', 'version', 'lineage'),
            ExpressionAttributeValues: {
              ':epoch': claim.epoch,
              ':claim': claim,
              ':version': expected.version,
              ':readEpoch': expected.epoch,
              ':lineage': expected.lineage,
            },
          }),
        ),
      );
    } catch (error) {
      // The winner's item came back with the refusal: hand it over decoded, as the pipeline knows it.
      if (error instanceof CheckpointConflictError && isItem(error.current)) {
        throw new CheckpointConflictError(
          error.message,
          error.cause,
          decodePartition(topic, partition, error.current as unknown as PartitionItem),
        );
      }
      throw error;
    }
    // An update is billed on the larger of the item before and after: about the committed item.
    this.countWrite({ ...committedItemOf(expected), claim });
    return { ...expected, epoch: claim.epoch, claim };
  }

  async readImages(checkpoint: PartitionCheckpoint): Promise<StoredImage[]> {
    const { topic, partition, lineage } = checkpoint;
    const refs = [checkpoint.manifest.snapshot, ...checkpoint.manifest.journal].filter(
      (r): r is ImageRef => r !== null,
    );
    const keys = refs.flatMap((r) =>
      Array.from({ length: r.pieces }, (_, i) => pieceKey(topic, partition, lineage, r.version, r.epoch, i)),
    );
    const items = await this.batchGet(keys, `read the state of ${topic}-${partition}`);
    const missing = keys.filter((k) => !items.has(k));
    if (missing.length > 0) {
      throw new CheckpointLostError(lostPiecesMessage(checkpoint, missing, Date.now()));
    }
    let at = 0;
    return refs.map((r) => {
      const pieces = keys.slice(at, at + r.pieces).map((k) => (items.get(k) as { d: Uint8Array }).d);
      at += r.pieces;
      return { format: r.format, pieces };
    });
  }

  async writeImage(claimed: PartitionCheckpoint, image: EncodedImage, nowMs: number): Promise<ImageRef> {
    const { topic, partition, lineage, version, epoch } = claimed;
    const expiresAt = pieceExpiresAt(nowMs, this.options.stateTtlDays);
    const items = image.pieces.map((d, i) => ({
      pk: pieceKey(topic, partition, lineage, version + 1, epoch, i),
      d,
      [TTL_ATTRIBUTE]: expiresAt,
    }));
    await inParallel(
      chunkBySize(items, BATCH_WRITE_ITEMS, Number.POSITIVE_INFINITY, () => 0),
      PARALLEL_REQUESTS,
      (chunk) =>
        untilProcessed(
          chunk.map((Item) => ({ PutRequest: { Item } })),
          `write the state of ${topic}-${partition}`,
          async (pending) => {
            const result = await this.call(`write the state of ${topic}-${partition}`, () =>
              this.doc.send(new BatchWriteCommand({ RequestItems: { [this.options.table]: pending } })),
            );
            return (result.UnprocessedItems?.[this.options.table] ?? []) as typeof pending;
          },
        ),
    );
    for (const item of items) this.countWrite(item);
    return {
      version: version + 1,
      epoch,
      pieces: items.length,
      bytes: image.bytes,
      writtenAt: nowMs,
      format: image.format,
      expiresAt,
    };
  }

  async commit(claimed: PartitionCheckpoint, commit: Commit): Promise<PartitionCheckpoint> {
    const item = committedItem(claimed, commit);
    await this.call(`commit ${claimed.topic}-${claimed.partition}`, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.options.table,
          Item: item,
          // Only while the claim is ours: a newer claim (a retry that took over) wins.
          ConditionExpression: '#epoch = :epoch AND #claim.#epoch = :epoch',
          ExpressionAttributeNames: names('epoch', 'claim'),
          ExpressionAttributeValues: { ':epoch': claimed.epoch },
        }),
      ),
    );
    this.countWrite(item);
    return decodePartition(claimed.topic, claimed.partition, item);
  }

  private async get(pk: string, what: string): Promise<Item | undefined> {
    const { Item } = await this.call(what, () =>
      this.doc.send(new GetCommand({ TableName: this.options.table, Key: { pk }, ConsistentRead: true })),
    );
    if (Item !== undefined) this.countRead(Item);
    return Item;
  }

  /** BatchGetItem in chunks of 100 keys, UnprocessedKeys retried with backoff; found items by key. */
  private async batchGet(keys: readonly string[], what: string): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    const chunks = chunkBySize(keys, BATCH_GET_KEYS, Number.POSITIVE_INFINITY, () => 0);
    await inParallel(chunks, PARALLEL_REQUESTS, (chunk) =>
      untilProcessed(
        chunk.map((pk): Item => ({ pk })),
        what,
        async (pending) => {
          const result = await this.call(what, () =>
            this.doc.send(
              new BatchGetCommand({
                RequestItems: { [this.options.table]: { Keys: pending, ConsistentRead: true } },
              }),
            ),
          );
          for (const item of result.Responses?.[this.options.table] ?? []) {
            found.set(item.pk as string, item);
            this.countRead(item);
          }
          return (result.UnprocessedKeys?.[this.options.table]?.Keys ?? []) as Item[];
        },
      ),
    );
    return found;
  }

  private async call<T>(what: string, send: () => Promise<T>): Promise<T> {
    this.stats.calls++;
    try {
      return await send();
    } catch (error) {
      throw mapDynamoError(error, what);
    }
  }

  private countRead(item: object): void {
    const bytes = itemBytes(item);
    this.stats.itemsRead++;
    this.stats.bytesRead += bytes;
    this.stats.readUnits += consistentReadUnits(bytes);
  }

  private countWrite(item: object): void {
    const bytes = itemBytes(item);
    this.stats.itemsWritten++;
    this.stats.bytesWritten += bytes;
    this.stats.writeUnits += writeUnits(bytes);
  }
}

function committedItemOf(checkpoint: PartitionCheckpoint): Item {
  return committedItem(
    { ...checkpoint, version: checkpoint.version - 1 },
    {
      state: checkpoint.state,
      manifest: checkpoint.manifest,
      stats: checkpoint.stats,
      committedAt: checkpoint.committedAt ?? 0,
      lastRecordAt: checkpoint.lastRecordAt,
      memoryBytes: checkpoint.memoryBytes ?? undefined,
    },
  ) as unknown as Item;
}

/**
 * BatchGetItem and BatchWriteItem may leave part of a request unprocessed (throttling, the 16 MB
 * response limit): `send` sends `requests` and returns what is left, which is sent again with
 * exponential backoff and full jitter, at most UNPROCESSED_RETRIES times, then the batch fails
 * (and is retried whole).
 */
async function untilProcessed<T>(
  requests: T[],
  what: string,
  send: (pending: T[]) => Promise<T[]>,
): Promise<void> {
  let pending = requests;
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > UNPROCESSED_RETRIES) {
      throw new CheckpointUnavailableError(`${what}: DynamoDB left ${pending.length} requests unprocessed`);
    }
    if (attempt > 0) await sleep(jitteredDelay(attempt, 25, 2_000));
    pending = await send(pending);
  }
}

function isItem(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && 'pk' in value;
}

/** Every attribute goes through a name placeholder: DynamoDB reserves hundreds of words. */
function names(...attributes: string[]): Record<string, string> {
  return Object.fromEntries(attributes.map((a) => [`#${a}`, a]));
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
