import { readFileSync } from 'node:fs';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../lib/engine/index.ts';
import { CheckpointIncompatibleError, CheckpointLostError, SinkUnavailableError } from '../../lib/errors.ts';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { PostgresSink } from '../../lib/sink/index.ts';
import { sweepTopic } from '../../lib/sweep/index.ts';
import { referenceSessions } from '../../reference/sessions.ts';
import {
  createTestPipeline,
  type DEFAULT_ENGINE,
  IDLE_TIMEOUT_MS,
  mskEvent,
  tickRecord,
} from '../helpers/pipeline.ts';

/** The sweep finds no partition count in the checkpoint (the recording ticker appends no control record). */
const UNRECORDED = { from: undefined, to: 1 };

type Pipeline = Awaited<ReturnType<typeof createTestPipeline>>;

const seedBatch = JSON.parse(readFileSync(new URL('../../events/seed-batch.json', import.meta.url), 'utf8'));
// The sample batch has a topic of its own, so invoking it locally never moves the job's offsets.
const SEED_TOPIC = 'user_activity_sample';

const FIRST_ROW = { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 2, end: '1970-01-01 00:00:07.000' };
const SECOND_ROW = { group_key: 'user_A|1970-01-01T00:00:08.000Z', count: 1, end: '1970-01-01 00:00:13.000' };

describe('the sessionize handler against DynamoDB Local and PostgreSQL', () => {
  let p: Pipeline;
  beforeEach(async () => {
    p = await createTestPipeline();
  });
  afterEach(async () => p.cleanup());

  it('turns the seed batch into the first user_A session, and a later event closes the second', async () => {
    // Act
    await handleKafkaEvent(p.deps, seedBatch);
    const afterSeed = await p.rows();
    await handleKafkaEvent(p.deps, mskEvent(['user_B,20000'], 3, 0, SEED_TOPIC));

    // Assess
    expect(afterSeed).toEqual([FIRST_ROW]);
    expect(await p.rows()).toEqual([FIRST_ROW, SECOND_ROW]);
  });

  it('writes the second seed session early when the sweep ticks the quiet partition and the tick is read', async () => {
    // Prepare
    await handleKafkaEvent(p.deps, seedBatch);

    // Act: the sweep sends nothing before IDLE_TIMEOUT (by the job's clock) or while the log has a
    // record the job has not read, then one tick; the job reads the tick.
    p.clock.advance(IDLE_TIMEOUT_MS - 1);
    const early = await sweepTopic(p.sweep, SEED_TOPIC);
    p.clock.advance(1);
    p.ticker.ends.set(0, 4);
    const unread = await sweepTopic(p.sweep, SEED_TOPIC);
    p.ticker.ends.set(0, 3);
    const idle = await sweepTopic(p.sweep, SEED_TOPIC);
    const [outcome] = await handleKafkaEvent(
      p.deps,
      mskEvent([tickRecord(3, p.clock.ms, 0, SEED_TOPIC)], 3, 0, SEED_TOPIC),
    );

    // Assess: the row is written early (provisional); the records' watermark has not moved.
    expect(early).toEqual({
      topic: SEED_TOPIC,
      idle: [],
      refresh: [],
      expiring: [],
      partitionCount: UNRECORDED,
    });
    expect(unread).toEqual({
      topic: SEED_TOPIC,
      idle: [],
      refresh: [],
      expiring: [],
      partitionCount: UNRECORDED,
    });
    expect(idle).toEqual({
      topic: SEED_TOPIC,
      idle: [0],
      refresh: [],
      expiring: [],
      partitionCount: UNRECORDED,
    });
    expect(p.ticker.sent).toEqual([{ topic: SEED_TOPIC, partition: 0, kind: 'idle' }]);
    expect(outcome).toMatchObject({ records: 1, ticks: 1, emitted: 1, earlyFired: 1, watermark: 7999 });
    expect(await p.rows()).toEqual([FIRST_ROW, SECOND_ROW]);
    expect(await sweepTopic(p.sweep, SEED_TOPIC)).toEqual({
      topic: SEED_TOPIC,
      idle: [],
      refresh: [],
      expiring: [],
      partitionCount: UNRECORDED,
    });
  });

  it('leaves both tables unchanged when the same batch is delivered again', async () => {
    // Prepare
    const event = mskEvent([
      'user_A,1000',
      'user_A,2000',
      'garbage',
      'user_A,8000',
      'user_B,100',
      'user_C,9000',
    ]);
    await handleKafkaEvent(p.deps, event);
    const rows = await p.rows();
    const rejected = await p.rejected();
    const checkpoint = await p.store.readPartition('user_activity', 0);

    // Act: once to this container, once to a new one.
    const [outcome] = await handleKafkaEvent(p.deps, event);
    const [cold] = await handleKafkaEvent(p.coldDeps(), event);

    // Assess
    expect(outcome).toMatchObject({ records: 0, skipped: 6, commits: 0 });
    expect(cold).toMatchObject({ records: 0, skipped: 6, commits: 0 });
    expect(await p.rows()).toEqual(rows);
    expect(await p.rejected()).toEqual(rejected);
    expect(await p.store.readPartition('user_activity', 0)).toEqual(checkpoint);
  });

  it('diverts malformed records with their reasons and processes the rest of the batch', async () => {
    // Prepare
    const event = mskEvent([
      'user_A,1000',
      '',
      'user_A',
      '{"userId":',
      ' ,5',
      'user_A,12.5',
      'user_A,-3',
      Buffer.from([0xff, 0xfe]),
      'user_A,2000',
      'user_A,9000',
      'user_A,1500', // its session [1000, 7000) fired when W reached 8999: late
    ]);

    // Act
    const [outcome] = await handleKafkaEvent(p.deps, event);

    // Assess
    expect(await p.rows()).toEqual([FIRST_ROW]);
    expect(await p.rejected()).toEqual([
      { partition: 0, offset: 1, reason: 'empty' },
      { partition: 0, offset: 2, reason: 'wrong_field_count' },
      { partition: 0, offset: 3, reason: 'bad_json' },
      { partition: 0, offset: 4, reason: 'empty_user_id' },
      { partition: 0, offset: 5, reason: 'timestamp_not_integer' },
      { partition: 0, offset: 6, reason: 'timestamp_out_of_range' },
      { partition: 0, offset: 7, reason: 'not_utf8' },
      { partition: 0, offset: 10, reason: 'late' },
    ]);
    expect(outcome).toMatchObject({ records: 11, late: 1, emitted: 1 });
  });

  it('fails without advancing the state while PostgreSQL is unreachable, and the retry gives the exact rows', async () => {
    // Prepare
    const nowhere = new pg.Pool({
      connectionString: 'postgres://postgres@127.0.0.1:1/flink_db',
      connectionTimeoutMillis: 500,
    });
    const down = p.withSink(new PostgresSink(nowhere));

    // Act
    const failed = handleKafkaEvent(down, seedBatch);

    // Assess
    await expect(failed).rejects.toBeInstanceOf(SinkUnavailableError);
    const stuck = await p.store.readPartition(SEED_TOPIC, 0);
    expect(stuck?.state.nextOffset ?? 0).toBe(0);
    expect(stuck?.version ?? 0).toBe(0);
    await handleKafkaEvent(p.deps, seedBatch);
    await handleKafkaEvent(p.deps, mskEvent(['user_B,20000'], 3, 0, SEED_TOPIC));
    expect(await p.rows()).toEqual([FIRST_ROW, SECOND_ROW]);
    await nowhere.end();
  });

  it('gives the same rows from a warm container as from a new container at every batch', async () => {
    // Prepare
    const values = Array.from({ length: 60 }, (_, i) => `user_${i % 7},${1000 + i * 900}`);
    const cold = await createTestPipeline();

    // Act
    for (let at = 0; at < values.length; at += 10) {
      await handleKafkaEvent(p.deps, mskEvent(values.slice(at, at + 10), at));
      await handleKafkaEvent(cold.coldDeps(), mskEvent(values.slice(at, at + 10), at));
    }

    // Assess
    const rows = await p.rows();
    expect(rows.length).toBeGreaterThan(5);
    expect(await cold.rows()).toEqual(rows);
    expect(p.store.stats.itemsRead).toBeLessThan(cold.store.stats.itemsRead);
    await cold.cleanup();
  });
});

describe('lost or foreign checkpoint state is refused, never taken for new', () => {
  let p: Pipeline;
  beforeEach(async () => {
    p = await createTestPipeline();
    await handleKafkaEvent(p.deps, mskEvent(['user_A,1000', 'user_A,2000', 'user_A,8000']));
  });
  afterEach(async () => p.cleanup());

  it('when the table lost its meta item while PostgreSQL holds fences of the topic', async () => {
    // Prepare
    await p.dynamo.send(new DeleteItemCommand({ TableName: p.table, Key: { pk: { S: 'meta' } } }));
    await p.dynamo.send(
      new DeleteItemCommand({ TableName: p.table, Key: { pk: { S: 'p#user_activity#0' } } }),
    );
    const rows = await p.rows();

    // Act
    const retry = handleKafkaEvent(p.coldDeps(), mskEvent(['user_A,9000'], 3));

    // Assess
    await expect(retry).rejects.toBeInstanceOf(CheckpointLostError);
    await expect(retry).rejects.toThrow(
      /no generation item, but PostgreSQL holds rows of topic user_activity/,
    );
    expect(await p.rows()).toEqual(rows);
  });

  it('when a partition item is gone but its fence is there', async () => {
    // Prepare
    await p.dynamo.send(
      new DeleteItemCommand({ TableName: p.table, Key: { pk: { S: 'p#user_activity#0' } } }),
    );

    // Act
    const retry = handleKafkaEvent(p.coldDeps(), mskEvent(['user_A,9000'], 3));

    // Assess
    await expect(retry).rejects.toBeInstanceOf(CheckpointLostError);
    await expect(retry).rejects.toThrow(/behind PostgreSQL/);
    expect(await p.store.readPartition('user_activity', 0)).toMatchObject({ version: 0 });
  });

  it('when the table went back in time (a restore nobody adopted)', async () => {
    // Prepare: a copy of the partition item as it is now, restored after two more batches.
    const before = await p.dynamo.send(
      new DeleteItemCommand({
        TableName: p.table,
        Key: { pk: { S: 'p#user_activity#0' } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    await p.dynamo.send(new PutItemCommand({ TableName: p.table, Item: before.Attributes ?? {} }));
    await handleKafkaEvent(p.deps, mskEvent(['user_A,20000'], 3));
    await handleKafkaEvent(p.deps, mskEvent(['user_A,40000'], 4));
    await p.dynamo.send(new PutItemCommand({ TableName: p.table, Item: before.Attributes ?? {} }));

    // Act
    const retry = handleKafkaEvent(p.coldDeps(), mskEvent(['user_A,20000'], 3));

    // Assess
    await expect(retry).rejects.toBeInstanceOf(CheckpointLostError);
  });

  it('takes a table of the earlier per-user layout for what it is', async () => {
    // Prepare
    const legacy = await createTestPipeline();
    await legacy.dynamo.send(
      new PutItemCommand({
        TableName: legacy.table,
        Item: { pk: { S: `P#${SEED_TOPIC}#0` }, version: { N: '3' } },
      }),
    );

    // Act
    const first = handleKafkaEvent(legacy.deps, seedBatch);

    // Assess
    await expect(first).rejects.toBeInstanceOf(CheckpointIncompatibleError);
    expect(await legacy.rows()).toEqual([]);
    await legacy.cleanup();
  });
});

describe('a large batch through the handler', () => {
  let p: Pipeline;
  beforeEach(async () => {
    p = await createTestPipeline();
  });
  afterEach(async () => p.cleanup());

  /** A pipeline with other engine settings, in place of the one beforeEach made. */
  const recreate = async (old: typeof p, engine: typeof DEFAULT_ENGINE): Promise<typeof p> => {
    await old.cleanup();
    return createTestPipeline({ engine });
  };

  it('folds 10,000 out-of-order records of 1,000 users in one batch into exactly the reference rows', async () => {
    // Prepare: B = 2 s, L = 1 s; each user's events 0-8 s apart, so sessions merge and split around
    // G, and one record in five lies 0-12 s behind the stream: within B, within L, or late.
    const engine = { gapMs: 5000, outOfOrdernessMs: 2000, allowedLatenessMs: 1000, idleFlush: true };
    p = await recreate(p, engine);
    const events: EventRecord[] = [];
    let t = 0;
    for (let offset = 0; offset < 10_000; offset++) {
      t += (offset * 7919) % 13; // deterministic, mostly increasing: 0-12 steps of 50 ms a record
      const behind = offset % 5 === 0 ? ((offset * 104_729) % 241) * 50 : 0;
      events.push({
        offset,
        userId: `user_${(offset * 31) % 1000}`,
        eventTime: Math.max(0, t * 50 - behind),
        timestamp: 0,
      });
    }
    const expected = referenceSessions(engine, events, { flushTo: Number.POSITIVE_INFINITY });

    // Act: the batch, then an idle tick: every session has its row.
    const [outcome] = await handleKafkaEvent(
      p.deps,
      mskEvent(events.map((e) => `${e.userId},${e.eventTime}`)),
    );
    await handleKafkaEvent(p.deps, mskEvent([tickRecord(10_000, 0)], 10_000));

    // Assess: every row of both tables and every late record are the reference's.
    expect(outcome).toMatchObject({ records: 10_000, late: expected.lateOffsets.length });
    expect(expected.lateOffsets.length).toBeGreaterThan(10);
    const late = await p.rejected();
    expect(late.map((r) => r.offset)).toEqual([...expected.lateOffsets].sort((x, y) => x - y));
    expect(late.every((r) => r.reason === 'late')).toBe(true);
    const { rows } = await p.pool.query(
      `SELECT a.group_key, a.count_value::int AS count, (extract(epoch FROM a.window_end_time) * 1000)::bigint AS end,
              (extract(epoch FROM s.session_start) * 1000)::bigint AS start,
              (extract(epoch FROM s.last_event_time) * 1000)::bigint AS last, s.event_count::int AS events
         FROM aggregated_counts a JOIN user_sessions s USING (group_key)`,
    );
    expect(rows).toHaveLength(expected.sessions.size);
    expect(
      Object.fromEntries(
        rows.map((r) => [r.group_key, [r.count, Number(r.end), Number(r.start), Number(r.last), r.events]]),
      ),
    ).toEqual(
      Object.fromEntries(
        [...expected.sessions].map(([key, s]) => [key, [s.count, s.end, s.start, s.last, s.count]]),
      ),
    );
    expect(rows.length).toBeGreaterThan(1000);
    // DynamoDB: a constant number of round trips, whatever the users: the table's first use (meta,
    // legacy check, meta created), then the partition, the claim, the image, the commit.
    expect(p.store.stats.calls).toBe(7 + 3);
  });
});
