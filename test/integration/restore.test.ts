import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoCheckpointStore } from '../../lib/checkpoint/index.ts';
import type { KafkaRecord } from '../../lib/decode/index.ts';
import { CheckpointLostError, SettingsChangedError } from '../../lib/errors.ts';
import {
  createWarmState,
  handleKafkaEvent,
  type PipelineDeps,
  recordedSettings,
} from '../../lib/pipeline/index.ts';
import { chunkBySize } from '../../lib/shared/index.ts';
import { adoptTable, restartPartition, startNewGeneration } from '../../scripts/checkpoint/recovery.ts';
import { createTestPipeline, mskEvent, record, STORE_TTL_DAYS } from '../helpers/pipeline.ts';
import { createCheckpointTable } from '../helpers/services.ts';

// docs/DEPLOY.md, "Restoring the checkpoint table", against DynamoDB Local and PostgreSQL: the job
// runs, the table's items are copied at one point (what a point-in-time restore brings back), the
// job runs on, then the copy comes back (over the same table, or as a new table). The job refuses it
// (CheckpointLost), `checkpoint adopt` gives it a new generation and the offsets its state continues
// from, the event source replays from there, and the rows are exactly those of a run that never
// lost anything.

type Pipeline = Awaited<ReturnType<typeof createTestPipeline>>;
type Item = Record<string, AttributeValue>;

const TOPIC = 'user_activity';

/** Each partition's log; garbage and a late record included, so rejected_events is compared too. */
const LOG: Record<number, string[]> = {
  0: [
    'user_A,1000',
    'user_A,2000',
    'user_B,1500',
    'garbage',
    'user_A,8000',
    'user_B,9000',
    'user_A,9500',
    'user_C,20000',
    'user_B,2500',
    'user_A,30000',
    'user_B,31000',
    'user_C,60000',
  ],
  1: [
    'user_X,500',
    'user_X,4000',
    'user_Y,4100',
    'user_X,12000',
    'user_Y,40000',
    'user_Z,41000',
    'user_X,90000',
  ],
};
const PARTITIONS = [0, 1];

/** The records of [from, to) of every partition, as one event (what one poll delivers). */
function deliver(ranges: Record<number, [number, number]>) {
  const records: KafkaRecord[] = [];
  for (const partition of PARTITIONS) {
    const [from, to] = ranges[partition] ?? [0, 0];
    const values = LOG[partition] ?? [];
    for (let offset = from; offset < Math.min(to, values.length); offset++) {
      records.push(record(values[offset] ?? null, offset, partition, TOPIC));
    }
  }
  return mskEvent(records);
}

const end = (partition: number) => (LOG[partition] ?? []).length;

/** BatchWriteItem takes 25 requests (and DynamoDB Local's items here are far below 16 MB). */
const batchesOf25 = (items: readonly Item[]) => chunkBySize(items, 25, Number.POSITIVE_INFINITY, () => 0);

async function scanAll(dynamo: DynamoDBClient, table: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

async function putAll(dynamo: DynamoDBClient, table: string, items: readonly Item[]): Promise<void> {
  for (const batch of batchesOf25(items)) {
    let request: Record<string, { PutRequest: { Item: Item } }[]> | undefined = {
      [table]: batch.map((Item) => ({ PutRequest: { Item } })),
    };
    while (request !== undefined && Object.keys(request).length > 0) {
      const out = await dynamo.send(new BatchWriteItemCommand({ RequestItems: request }));
      request = out.UnprocessedItems as typeof request;
    }
  }
}

async function deleteAll(dynamo: DynamoDBClient, table: string): Promise<void> {
  for (const batch of batchesOf25(await scanAll(dynamo, table))) {
    await dynamo.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [table]: batch.map((item) => ({ DeleteRequest: { Key: { pk: item.pk as AttributeValue } } })),
        },
      }),
    );
  }
}

/** Both session tables and rejected_events: everything the sink writes but its fences. */
async function sinkTables(pool: pg.Pool) {
  const sessions = await pool.query(
    `SELECT group_key, user_id, session_start, last_event_time, window_end_time, event_count::int, duration_ms::int,
            topic, kafka_partition FROM user_sessions ORDER BY group_key`,
  );
  const rejected = await pool.query(
    'SELECT kafka_partition, kafka_offset::int, reason FROM rejected_events ORDER BY 1, 2',
  );
  return { sessions: sessions.rows, rejected: rejected.rows };
}

describe.each([{ restore: 'over the same table' as const }, { restore: 'to a new table name' as const }])(
  'a point-in-time restore of the checkpoint table $restore',
  ({ restore }) => {
    let p: Pipeline;
    let reference: Pipeline;
    let extraTables: (() => Promise<void>)[];

    beforeEach(async () => {
      p = await createTestPipeline();
      reference = await createTestPipeline();
      extraTables = [];
      // The run that never lost anything: the whole log, one batch per partition.
      await handleKafkaEvent(reference.deps, deliver({ 0: [0, end(0)], 1: [0, end(1)] }));
    });

    afterEach(async () => {
      for (const drop of extraTables) await drop();
      await p.cleanup();
      await reference.cleanup();
    });

    it('is refused until adopted, then replays from its offsets into exactly the rows of an undisturbed run', async () => {
      // Prepare: the job runs to the restore point, then on (the consumer group commits at 8 and 5).
      await handleKafkaEvent(p.deps, deliver({ 0: [0, 2], 1: [0, 1] }));
      await handleKafkaEvent(p.deps, deliver({ 0: [2, 5], 1: [1, 3] }));
      const restorePoint = await scanAll(p.dynamo, p.table);
      await handleKafkaEvent(p.deps, deliver({ 0: [5, 8], 1: [3, 5] }));
      const rowsBeforeRestore = await p.rows();

      // Act 1: the restore. Lambda's next containers find the old table state.
      let table = p.table;
      if (restore === 'over the same table') {
        await deleteAll(p.dynamo, p.table);
      } else {
        const restored = await createCheckpointTable(p.dynamo);
        extraTables.push(restored.drop);
        table = restored.table;
      }
      await putAll(p.dynamo, table, restorePoint);
      const store = new DynamoCheckpointStore(p.dynamo, { table, stateTtlDays: STORE_TTL_DAYS });
      const container = (): PipelineDeps => ({ ...p.deps, store, warm: createWarmState() });
      const next = handleKafkaEvent(container(), deliver({ 0: [8, end(0)], 1: [5, end(1)] }));

      // Assess 1: refused, nothing written.
      await expect(next).rejects.toBeInstanceOf(CheckpointLostError);
      expect(await p.rows()).toEqual(rowsBeforeRestore);

      // Act 2: `checkpoint adopt`, then the consumer group reset to its offsets; new containers
      // (the deploy that points the functions at the restored table, or a configuration update).
      // (Later than the generation it replaces: generations are ordered by the time they were made.)
      p.clock.advance(60_000);
      const { meta, offsets } = await adoptTable(store, TOPIC, PARTITIONS, p.clock.now());
      const job = container();
      let from = { 0: offsets[0]?.offset ?? 0, 1: offsets[1]?.offset ?? 0 };
      while (from[0] < end(0) || from[1] < end(1)) {
        // Cut differently from the first run: two records per partition and poll.
        const to = { 0: Math.min(from[0] + 2, end(0)), 1: Math.min(from[1] + 2, end(1)) };
        await handleKafkaEvent(job, deliver({ 0: [from[0], to[0]], 1: [from[1], to[1]] }));
        from = to;
      }

      // Assess 2: the adopted generation keeps the settings the restored state was built with.
      expect(meta.origin).toBe('adopted');
      expect(meta.settings).toEqual(recordedSettings(p.deps.settings));
      expect((await store.readMeta())?.settings).toEqual(recordedSettings(p.deps.settings));
      expect(offsets).toEqual([
        { partition: 0, offset: 5 },
        { partition: 1, offset: 3 },
      ]);
      expect(await p.rows()).toEqual(await reference.rows());
      expect(await sinkTables(p.pool)).toEqual(await sinkTables(reference.pool));
    });
  },
);

describe('a checkpoint table recreated empty while PostgreSQL holds fences', () => {
  let p: Pipeline;
  beforeEach(async () => {
    p = await createTestPipeline();
  });
  afterEach(async () => p.cleanup());

  it('is refused until `checkpoint new-generation`, then the partitions start empty at the committed offsets', async () => {
    // Prepare: a session of user_A is open (1000, 2000) when the table is lost.
    await handleKafkaEvent(p.deps, deliver({ 0: [0, 4], 1: [0, 2] }));
    await deleteAll(p.dynamo, p.table);
    const container = (): PipelineDeps => ({ ...p.deps, warm: createWarmState() });

    // Act 1
    const next = handleKafkaEvent(container(), deliver({ 0: [4, 6], 1: [2, 4] }));

    // Assess 1
    await expect(next).rejects.toBeInstanceOf(CheckpointLostError);
    await expect(next).rejects.toThrow(/no generation item, but PostgreSQL holds rows/);

    // Act 2: the loss accepted; the event source delivers from the committed offsets.
    p.clock.advance(60_000);
    const settings = recordedSettings(p.deps.settings);
    const meta = await startNewGeneration(
      p.dynamo,
      p.store,
      p.table,
      TOPIC,
      PARTITIONS,
      p.clock.now(),
      settings,
    );
    // (Outcomes come in the order the partitions finished: partition 0's is looked up.)
    const outcomes = await handleKafkaEvent(container(), deliver({ 0: [4, 6], 1: [2, 4] }));
    const first = outcomes.find((o) => o.partition === 0);

    // Assess 2: accepted; user_A's open session was lost, so 8000 opens a new one (counted from here).
    expect(meta.origin).toBe('new-generation');
    expect(first).toMatchObject({ topic: TOPIC, partition: 0, commits: 1, state: 'cold' });
    expect(await p.store.readMeta()).toMatchObject({ generation: meta.generation, settings });
  });
});

describe('changing the gap with `checkpoint new-generation` (docs/OPERATIONS.md, "Changing settings")', () => {
  let p: Pipeline;
  beforeEach(async () => {
    p = await createTestPipeline();
  });
  afterEach(async () => p.cleanup());

  it('is refused before, and continues from the committed offsets under the new settings after', async () => {
    // Prepare: the job ran with G = 5 s up to offset 6 of partition 0.
    await handleKafkaEvent(p.deps, deliver({ 0: [0, 7] }));
    const rowsBefore = await p.rows();
    const wider = { ...p.deps.settings, engine: { ...p.deps.settings.engine, gapMs: 10_000 } };
    const container = (): PipelineDeps => ({ ...p.deps, settings: wider, warm: createWarmState() });

    // Act 1: the job restarted with G = 10 s.
    const refused = handleKafkaEvent(container(), deliver({ 0: [7, 10] }));

    // Assess 1
    await expect(refused).rejects.toBeInstanceOf(SettingsChangedError);
    await expect(refused).rejects.toThrow('SESSION_GAP_MS is 10000 here, 5000 in the checkpoint');
    expect(await p.rows()).toEqual(rowsBefore);

    // Act 2: a new generation recording the new settings; the job goes on from offset 7.
    p.clock.advance(60_000);
    const meta = await startNewGeneration(
      p.dynamo,
      p.store,
      p.table,
      TOPIC,
      PARTITIONS,
      p.clock.now(),
      recordedSettings(wider),
    );
    await handleKafkaEvent(container(), deliver({ 0: [7, end(0)] }));

    // Assess 2: the rows written before stay. The sessions open at the switch (user_A's [8000,
    // 14500), user_B's [9000, 14000)) had no row and are gone with the old state: their events are
    // not counted. What follows is folded under G = 10 s: user_A's 30000 ends at 40000, not 35000.
    expect(meta.settings).toMatchObject({ gapMs: 10_000 });
    const rows = await p.rows();
    for (const row of rowsBefore) expect(rows).toContainEqual(row);
    expect(rows.map((r) => r.group_key)).not.toContain('user_A|1970-01-01T00:00:08.000Z');
    expect(rows).toContainEqual({
      group_key: 'user_A|1970-01-01T00:00:30.000Z',
      count: 1,
      end: '1970-01-01 00:00:40.000',
    });
  });
});

describe('one partition whose state is lost (`checkpoint new-generation --partition`)', () => {
  let p: Pipeline;
  let reference: Pipeline;
  beforeEach(async () => {
    p = await createTestPipeline();
    reference = await createTestPipeline();
  });
  afterEach(async () => {
    await p.cleanup();
    await reference.cleanup();
  });

  /** Deletes the state pieces of partition 0 (what TTL does after a pause longer than STATE_TTL_DAYS). */
  async function losePiecesOf0(): Promise<void> {
    const pieces = (await scanAll(p.dynamo, p.table)).filter((i) => i.pk?.S?.startsWith(`s#${TOPIC}#0#`));
    for (const batch of batchesOf25(pieces)) {
      await p.dynamo.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [p.table]: batch.map((i) => ({ DeleteRequest: { Key: { pk: i.pk as AttributeValue } } })),
          },
        }),
      );
    }
  }

  it('is refused alone, then goes on from its offset without its open sessions; the other partition and the warm container go on undisturbed', async () => {
    // Prepare: both partitions run to 4 and 2 (user_A's [1000, 7000) open on 0); 0's pieces expire.
    await handleKafkaEvent(p.deps, deliver({ 0: [0, 4], 1: [0, 2] }));
    await handleKafkaEvent(reference.deps, deliver({ 0: [0, 4], 1: [0, 2] }));
    await losePiecesOf0();
    const generation = (await p.store.readMeta())?.generation;
    const cold = (): PipelineDeps => ({ ...p.deps, warm: createWarmState() });

    // Act 1: a new container (its partition 0 is read cold) and the warm one (partition 1).
    const refused = await handleKafkaEvent(cold(), deliver({ 0: [4, 6] })).then(
      () => null,
      (error: unknown) => error,
    );
    const [other] = await handleKafkaEvent(p.deps, deliver({ 1: [2, 4] }));

    // Assess 1: partition 0 refused, naming its own recovery; partition 1 went on warm.
    expect(refused).toBeInstanceOf(CheckpointLostError);
    expect((refused as Error).message).toMatch(/new-generation --partition 0/);
    expect(other).toMatchObject({ partition: 1, state: 'warm', commits: 1 });

    // Act 2: the loss of partition 0 accepted; the same warm container goes on with both.
    p.clock.advance(60_000);
    const restart = await restartPartition(p.dynamo, p.store, p.table, TOPIC, 0, p.clock.now());
    const [zero] = await handleKafkaEvent(p.deps, deliver({ 0: [4, end(0)] }));
    const [one] = await handleKafkaEvent(p.deps, deliver({ 1: [4, end(1)] }));
    await handleKafkaEvent(reference.deps, deliver({ 0: [4, end(0)], 1: [2, end(1)] }));

    // Assess 2: the generation is the same; partition 1's rows are exactly the undisturbed run's;
    // partition 0 counted from offset 4 on: user_A's open session (1000, 2000) was lost, so its
    // 8000 and 9500 make a session of two, where the undisturbed run has one row of four.
    // (Epoch 2: the refused batch had claimed it.)
    expect(restart).toEqual({ partition: 0, offset: 4, epoch: 2, lostSessions: 2 });
    expect((await p.store.readMeta())?.generation).toBe(generation);
    expect([zero?.state, one?.state]).toEqual(['cold', 'warm']);
    const byPartition = async (pipeline: Pipeline, partition: number) =>
      (await sinkTables(pipeline.pool)).sessions.filter((s) => s.kafka_partition === partition);
    expect(await byPartition(p, 1)).toEqual(await byPartition(reference, 1));
    const rows = await p.rows();
    expect(rows).toContainEqual({
      group_key: 'user_A|1970-01-01T00:00:08.000Z',
      count: 2,
      end: '1970-01-01 00:00:14.500',
    });
    expect(await reference.rows()).toContainEqual({
      group_key: 'user_A|1970-01-01T00:00:01.000Z',
      count: 2,
      end: '1970-01-01 00:00:07.000',
    });
  });

  it('takes the epoch the sink saw when the partition item itself is gone (--after-epoch)', async () => {
    // Prepare: partition 0 ran (two claims: the sink saw epoch 2); then its item is deleted, and the
    // job's next batch is refused, naming that epoch.
    await handleKafkaEvent(p.deps, deliver({ 0: [0, 2] }));
    await handleKafkaEvent(p.deps, deliver({ 0: [2, 4] }));
    await p.dynamo.send(
      new BatchWriteItemCommand({
        RequestItems: { [p.table]: [{ DeleteRequest: { Key: { pk: { S: `p#${TOPIC}#0` } } } }] },
      }),
    );
    const cold = (): PipelineDeps => ({ ...p.deps, warm: createWarmState() });
    const refused = await handleKafkaEvent(cold(), deliver({ 0: [4, 6] })).then(
      () => '',
      (error: Error) => error.message,
    );
    const sinkEpoch = Number(/PostgreSQL was last written by generation \S+, epoch (\d+)/.exec(refused)?.[1]);

    // Act: the partition's loss accepted with the epoch the message named; the job goes on.
    const restart = await restartPartition(p.dynamo, p.store, p.table, TOPIC, 0, p.clock.now(), sinkEpoch);
    const [next] = await handleKafkaEvent(cold(), deliver({ 0: [4, 6] }));

    // Assess
    expect(sinkEpoch).toBe(2);
    expect(restart).toMatchObject({ partition: 0, epoch: 2 });
    expect(next).toMatchObject({ partition: 0, commits: 1, state: 'cold' });
  });
});
