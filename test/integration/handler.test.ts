import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../lib/engine/types.ts';
import { SinkUnavailableError } from '../../lib/errors.ts';
import { handleKafkaEvent, sweepTopic } from '../../lib/pipeline/index.ts';
import { PostgresSink } from '../../lib/sink/index.ts';
import { createTestPipeline, DEFAULT_ENGINE, mskEvent } from '../helpers/pipeline.ts';
import { referenceSessions } from '../helpers/reference.ts';

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

  it('closes the second seed session with the idle sweep once the partition is quiet', async () => {
    // Prepare
    await handleKafkaEvent(p.deps, seedBatch);

    // Act
    p.clock.advance(5_000);
    const early = await sweepTopic(p.deps, SEED_TOPIC);
    p.clock.advance(10_000);
    const idle = await sweepTopic(p.deps, SEED_TOPIC);

    // Assess
    expect(early).toEqual([{ topic: SEED_TOPIC, partition: 0, action: 'not-idle' }]);
    expect(idle).toMatchObject([{ action: 'advanced', emitted: 1 }]);
    expect(await p.rows()).toEqual([FIRST_ROW, SECOND_ROW]);
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

    // Act
    const [outcome] = await handleKafkaEvent(p.deps, event);

    // Assess
    expect(outcome).toMatchObject({ records: 0, skipped: 6, commits: 0 });
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
    const stuck = await p.store.readPartition('user_activity', 0);
    expect(stuck.state.nextOffset).toBe(0);
    expect(stuck.version).toBe(0);
    await handleKafkaEvent(p.deps, seedBatch);
    await handleKafkaEvent(p.deps, mskEvent(['user_B,20000'], 3, 0, SEED_TOPIC));
    expect(await p.rows()).toEqual([FIRST_ROW, SECOND_ROW]);
    await nowhere.end();
  });

  it('neither loses nor double-counts when the sweep and a batch race on one partition', async () => {
    // Prepare: ten rounds; in each the partition is idle and a batch arrives as the sweep runs.
    let offset = 0;
    let valid = 0;
    for (let round = 0; round < 10; round++) {
      const values = Array.from({ length: 20 }, (_, i) => `user_${i % 4},${round * 30_000 + i * 700}`);
      valid += values.length;
      p.clock.advance(20_000);

      // Act
      const results = await Promise.allSettled([
        handleKafkaEvent(p.deps, mskEvent(values, offset)),
        sweepTopic(p.deps, 'user_activity'),
      ]);
      if (results[0].status === 'rejected') {
        // The batch lost the race: the event source retries it.
        await handleKafkaEvent(p.deps, mskEvent(values, offset));
      }
      offset += values.length;
    }
    p.clock.advance(60_000);
    await sweepTopic(p.deps, 'user_activity');

    // Assess: every valid record is in exactly one row, or rejected as late.
    const rows = await p.rows();
    const late = (await p.rejected()).filter((r) => r.reason === 'late').length;
    expect(rows.reduce((sum, r) => sum + r.count, 0) + late).toBe(valid);
    const checkpoint = await p.store.readPartition('user_activity', 0);
    expect(checkpoint).toMatchObject({ claim: null, state: { nextOffset: offset } });
  });
});

describe('a large batch through the handler', () => {
  let p: Pipeline;
  beforeEach(async () => {
    p = await createTestPipeline();
  });
  afterEach(async () => p.cleanup());

  it('folds 10,000 records of 1,000 users in one batch into exactly the reference rows', async () => {
    // Prepare: each user's events 0-8 s apart, so sessions both merge and split around G.
    const events: EventRecord[] = [];
    let t = 0;
    for (let offset = 0; offset < 10_000; offset++) {
      t += (offset * 7919) % 13; // deterministic, mostly increasing event time, 0-12 ms a record
      events.push({ offset, userId: `user_${(offset * 31) % 1000}`, eventTime: t * 50 });
    }
    const expected = referenceSessions(DEFAULT_ENGINE, events);

    // Act
    const [outcome] = await handleKafkaEvent(
      p.deps,
      mskEvent(events.map((e) => `${e.userId},${e.eventTime}`)),
    );

    // Assess
    const rows = await p.rows();
    expect(outcome).toMatchObject({ records: 10_000, late: expected.lateOffsets.length });
    expect(Object.fromEntries(rows.map((r) => [r.group_key, r.count]))).toEqual(
      Object.fromEntries([...expected.rows].map(([key, row]) => [key, row.count])),
    );
    expect(rows.length).toBeGreaterThan(1000);
    // DynamoDB: round trips bounded by users (1,000 users: 10 reads + 10 writes + a constant).
    expect(p.store.stats.calls).toBeLessThan(40);
  });
});
