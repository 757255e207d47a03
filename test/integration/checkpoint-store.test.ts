import { randomBytes } from 'node:crypto';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoCheckpointStore,
  EMPTY_MANIFEST,
  encodeImage,
  IMAGE_FORMAT,
  LAYOUT,
  PIECE_BYTES,
  readImageUsers,
} from '../../lib/checkpoint/index.ts';
import type { Session, UserState } from '../../lib/engine/index.ts';
import { CheckpointConflictError, CheckpointLostError } from '../../lib/errors.ts';
import { createCheckpointTable, testDynamo } from '../helpers/services.ts';

const session = (start: number, count: number): Session => ({
  start,
  end: start + 5000,
  last: start + count - 1,
  count,
  pending: true,
  emittedStarts: [],
});

const user = (userId: string, sessions: Session[]): UserState => ({ userId, sessions });

const STATE = {
  nextOffset: 10,
  watermark: 6999,
  maxEventTime: 7000,
  lastLogTime: 123,
};
const STATS = { liveSessions: 1, pendingSessions: 1, liveUsers: 1 };

describe('DynamoCheckpointStore against DynamoDB Local', () => {
  let client: DynamoDBClient;
  let table: string;
  let drop: () => Promise<void>;
  let store: DynamoCheckpointStore;

  beforeAll(async () => {
    client = testDynamo();
    ({ table, drop } = await createCheckpointTable(client));
    // Pieces are stamped with the real time below: DynamoDB Local deletes expired items.
    store = new DynamoCheckpointStore(client, { table, stateTtlDays: 2 });
  });
  afterAll(async () => {
    await drop();
    client.destroy();
  });

  it('has no meta item at first, creates one once, and keeps the first of two', async () => {
    // Prepare
    const first = {
      layout: LAYOUT,
      generation: '2026-01-01T00:00:00.000Z/aa',
      createdAt: 1,
      origin: 'first-use' as const,
    };
    const second = { ...first, generation: '2026-01-01T00:00:00.000Z/bb' };

    // Act
    const before = await store.readMeta();
    const created = await store.createMeta(first);
    const raced = await store.createMeta(second);

    // Assess
    expect(before).toBeNull();
    expect(created).toEqual(first);
    expect(raced).toEqual(first);
    expect(await store.readMeta()).toEqual(first);
  });

  it('claims a new partition, commits it with a state image, and reads both back', async () => {
    // Prepare
    const users = [user('user_A', [session(1000, 2)]), user('user_B', [session(4000, 1)])];

    // Act
    const claimed = await store.claim('t1', 3, null, { epoch: 1, at: 1 }, 'lin1');
    const image = await store.writeImage(claimed, encodeImage(users), Date.now());
    const committed = await store.commit(claimed, {
      state: STATE,
      manifest: { snapshot: image, journal: [] },
      stats: STATS,
      committedAt: 1_000,
      lastRecordAt: 1_000,
    });
    const read = await store.readPartition('t1', 3);
    const images = await store.readImages(read ?? committed);

    // Assess
    expect(committed).toMatchObject({ version: 1, epoch: 1, claim: null, lineage: 'lin1', state: STATE });
    expect(read).toEqual(committed);
    expect(readImageUsers(images, 'test')).toEqual(users);
    expect(images.map((i) => i.format)).toEqual([IMAGE_FORMAT]);
    expect(await store.readPartitions('t1', [3, 4])).toEqual([committed, null]);
  });

  it('fences: a claim on a stale version fails, and a commit after the claim was taken over fails', async () => {
    // Prepare
    const claimed = await store.claim('t2', 0, null, { epoch: 1, at: 1 }, 'lin2');
    const committed = await store.commit(claimed, {
      state: STATE,
      manifest: EMPTY_MANIFEST,
      stats: STATS,
      committedAt: 1,
      lastRecordAt: 1,
    });
    const mine = await store.claim('t2', 0, committed, { epoch: 2, at: 2 }, 'lin2');
    await store.claim('t2', 0, { ...committed, epoch: 2 }, { epoch: 3, at: 3 }, 'lin2');

    // Act
    const outcomes = await Promise.allSettled([
      store.claim('t2', 0, committed, { epoch: 2, at: 4 }, 'lin2'),
      store.commit(mine, {
        state: STATE,
        manifest: EMPTY_MANIFEST,
        stats: STATS,
        committedAt: 5,
        lastRecordAt: 5,
      }),
      store.claim('t2', 0, null, { epoch: 1, at: 6 }, 'other'),
    ]);

    // Assess: a stale claim, a zombie's commit, and a second creation are all refused; the stale
    // claim gets the winner's partition back with the refusal (ALL_OLD), so it need not read it.
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(CheckpointConflictError);
    }
    expect((outcomes[0] as PromiseRejectedResult).reason.current).toMatchObject({
      topic: 't2',
      partition: 0,
      version: 1,
      epoch: 3,
      claim: { epoch: 3, at: 3 },
      state: STATE,
    });
  });

  it('cuts an image larger than one item into pieces and puts it back together', async () => {
    // Prepare: random user ids barely compress, so the image spans a few pieces.
    const users = Array.from({ length: 20_000 }, (_, i) =>
      user(randomBytes(48).toString('base64'), [session(i * 10, 1)]),
    );
    const image = encodeImage(users);
    const claimed = await store.claim('t3', 0, null, { epoch: 1, at: 1 }, 'lin3');

    // Act
    const ref = await store.writeImage(claimed, image, Date.now());
    const committed = await store.commit(claimed, {
      state: STATE,
      manifest: { snapshot: ref, journal: [] },
      stats: STATS,
      committedAt: 1,
      lastRecordAt: 1,
    });
    const [read] = await store.readImages(committed);

    // Assess
    expect(image.bytes).toBeGreaterThan(2 * PIECE_BYTES);
    expect(ref.pieces).toBe(Math.ceil(image.bytes / PIECE_BYTES));
    expect(read?.pieces.map((p) => Buffer.from(p))).toEqual(image.pieces);
    expect(readImageUsers(read === undefined ? [] : [read], 'test')).toEqual(users);
  });

  it('reports a manifest whose pieces are missing as lost state', async () => {
    // Prepare
    const claimed = await store.claim('t4', 0, null, { epoch: 1, at: 1 }, 'lin4');
    const committed = await store.commit(claimed, {
      state: STATE,
      manifest: {
        snapshot: {
          version: 1,
          epoch: 1,
          pieces: 1,
          bytes: 10,
          writtenAt: 1,
          format: IMAGE_FORMAT,
          expiresAt: 2,
        },
        journal: [],
      },
      stats: STATS,
      committedAt: 1,
      lastRecordAt: 1,
    });

    // Act
    const read = store.readImages(committed);

    // Assess
    await expect(read).rejects.toBeInstanceOf(CheckpointLostError);
    await expect(read).rejects.toThrow(/expired .* or were deleted/);
  });

  it('finds items of the earlier per-user layout', async () => {
    // Prepare
    await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'T#legacy_topic' } } }));

    // Act
    const legacy = await store.hasLegacyItems('legacy_topic');
    const clean = await store.hasLegacyItems('other_topic');

    // Assess
    expect(legacy).toBe(true);
    expect(clean).toBe(false);
  });

  it('counts billing units by item size: a small commit is 1 write unit, a piece its KB', async () => {
    // Prepare
    const before = { ...store.stats };
    const users = Array.from({ length: 500 }, (_, i) => user(`u${i}`, [session(i, 1)]));
    const image = encodeImage(users);
    const claimed = await store.claim('t5', 0, null, { epoch: 1, at: 1 }, 'lin5');

    // Act
    const ref = await store.writeImage(claimed, image, Date.now());
    await store.commit(claimed, {
      state: STATE,
      manifest: { snapshot: ref, journal: [] },
      stats: STATS,
      committedAt: 1,
      lastRecordAt: 1,
    });

    // Assess: claim 1 + piece ceil(KB) + commit 1.
    expect(store.stats.writeUnits - before.writeUnits).toBe(2 + Math.ceil((image.bytes + 60) / 1024));
    expect(store.stats.itemsWritten - before.itemsWritten).toBe(3);
  });
});
