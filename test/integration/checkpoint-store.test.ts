import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCheckpointStore } from '../../lib/checkpoint/index.ts';
import type { Session, UserState } from '../../lib/engine/types.ts';
import { CheckpointConflictError } from '../../lib/errors.ts';
import { createCheckpointTable, testDynamo } from '../helpers/services.ts';

const session = (start: number, count: number, pending = true): Session => ({
  start,
  end: start + 5000,
  last: start,
  count,
  pending,
  emittedStarts: [],
});

const user = (userId: string, sessions: Session[], lastOffset: number | null = 0): UserState => ({
  userId,
  sessions,
  lastOffset,
});

describe('DynamoCheckpointStore against DynamoDB Local', () => {
  let client: DynamoDBClient;
  let table: string;
  let drop: () => Promise<void>;
  let store: DynamoCheckpointStore;

  beforeAll(async () => {
    client = testDynamo();
    ({ table, drop } = await createCheckpointTable(client));
    store = new DynamoCheckpointStore(client, { table, dueIndexShards: 4, stateTtlDays: 1 });
  });
  afterAll(async () => {
    await drop();
    client.destroy();
  });

  it('reads a partition it has never seen as the initial state', async () => {
    // Act
    const checkpoint = await store.readPartition('fresh', 0);

    // Assess
    expect(checkpoint).toMatchObject({
      version: 0,
      epoch: 0,
      claim: null,
      state: { nextOffset: 0, watermark: null },
    });
  });

  it('claims, commits and registers a partition; a stale claim is fenced off', async () => {
    // Prepare
    const read = await store.readPartition('t1', 3);

    // Act
    const claimed = await store.claim({
      claim: { kind: 'batch', epoch: 1, claimedAt: 1 },
      read,
      claimedThrough: 10,
    });
    const committed = await store.commit(claimed, {
      nextOffset: 10,
      watermark: 6999,
      recordWatermark: 6999,
      maxEventTime: 7000,
      lastArrivalMs: 123,
    });

    // Assess
    expect(committed).toMatchObject({ version: 1, epoch: 1, claim: null, claimedThrough: 10 });
    expect(await store.readPartition('t1', 3)).toEqual(committed);
    expect(await store.listPartitions('t1')).toEqual([3]);
    await expect(
      store.claim({ claim: { kind: 'batch', epoch: 1, claimedAt: 2 }, read, claimedThrough: 10 }),
    ).rejects.toBeInstanceOf(CheckpointConflictError);
  });

  it('refuses a commit after the claim was taken over', async () => {
    // Prepare
    const read = await store.readPartition('t2', 0);
    const mine = await store.claim({
      claim: { kind: 'sweep', epoch: 1, claimedAt: 1, watermark: 5 },
      read,
      claimedThrough: 0,
    });
    await store.claim({ claim: { kind: 'batch', epoch: 2, claimedAt: 2 }, read: mine, claimedThrough: 4 });

    // Act
    const commit = store.commit(mine, { ...read.state, watermark: 5 });

    // Assess
    await expect(commit).rejects.toBeInstanceOf(CheckpointConflictError);
  });

  it('writes and reads back 250 users in chunks, and finds the due ones across index shards', async () => {
    // Prepare
    const users = Array.from({ length: 250 }, (_, i) =>
      user(`user_${i}`, i % 2 === 0 ? [session(i * 100, 1 + (i % 3))] : [], i),
    );

    // Act
    await store.writeUsers('t3', 0, 1, users, Date.now());
    const read = await store.readUsers('t3', 0, users.map((u) => u.userId).concat('nobody'));
    const due = await store.queryDue('t3', 0, 100 * 100 + 4999);

    // Assess
    expect(read.size).toBe(250);
    expect(read.get('user_4')).toEqual({ ...users[4], epoch: 1 });
    expect(read.get('user_5')).toEqual({ ...users[5], epoch: 1 });
    // nextDue = end - 1 = i * 100 + 4999 for even i; due up to i = 100.
    expect(due.sort()).toEqual(Array.from({ length: 51 }, (_, k) => `user_${k * 2}`).sort());
  });

  it('keeps a user written by a newer claim from being overwritten by an older one', async () => {
    // Prepare
    await store.writeUsers('t4', 0, 7, [user('user_A', [session(0, 2)], 9)], Date.now());

    // Act
    const zombie = store.writeUsers('t4', 0, 6, [user('user_A', [session(0, 1)], 4)], Date.now());

    // Assess
    await expect(zombie).rejects.toBeInstanceOf(CheckpointConflictError);
    expect((await store.readUsers('t4', 0, ['user_A'])).get('user_A')?.sessions[0]?.count).toBe(2);
  });

  it('counts its calls: round trips grow with users, not records', async () => {
    // Prepare
    const before = store.stats.calls;
    const users = Array.from({ length: 150 }, (_, i) => user(`u${i}`, [session(i, 1)]));

    // Act
    await store.writeUsers('t5', 0, 1, users, Date.now());
    await store.readUsers(
      't5',
      0,
      users.map((u) => u.userId),
    );

    // Assess: 2 transactions of <= 100 puts, 2 BatchGetItem of <= 100 keys
    expect(store.stats.calls - before).toBe(4);
  });
});
