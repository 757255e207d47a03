import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmittedSession } from '../../lib/engine/types.ts';
import { SinkFencedError, SinkUnavailableError } from '../../lib/errors.ts';
import type { Rejection } from '../../lib/kafka/types.ts';
import { PostgresSink } from '../../lib/sink/index.ts';
import { createSchema } from '../helpers/services.ts';

const session = (userId: string, start: number, end: number, count: number): EmittedSession => ({
  userId,
  start,
  end,
  last: end - 5000,
  count,
});

const rejection = (offset: number, reason: Rejection['reason'] = 'bad_json'): Rejection => ({
  topic: 'user_activity',
  partition: 0,
  offset,
  kafkaTimestamp: 1_700_000_000_000,
  rawValue: '{nope',
  rawEncoding: 'utf8',
  reason,
  detail: 'not JSON',
});

const GENERATION = '2026-11-01T00:00:00.000Z/0001';
const fence = (epoch: number, generation = GENERATION) => ({
  topic: 'user_activity',
  partition: 0,
  generation,
  epoch,
});

describe('PostgresSink', () => {
  let pool: pg.Pool;
  let drop: () => Promise<void>;
  let sink: PostgresSink;

  beforeEach(async () => {
    ({ pool, drop } = await createSchema());
    sink = new PostgresSink(pool);
  });
  afterEach(async () => drop());

  const rows = async () =>
    (
      await pool.query(
        `SELECT group_key, count_value::int AS count,
                to_char(window_end_time, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS end_time
           FROM aggregated_counts ORDER BY group_key`,
      )
    ).rows;

  it('upserts the sessions of a batch in one transaction, keeping the last emission per key', async () => {
    // Act
    const result = await sink.write(
      {
        emitted: [
          session('user_A', 1000, 7000, 2),
          session('user_B', 0, 5000, 1),
          session('user_A', 1000, 9000, 3),
        ],
        superseded: [],
        rejections: [],
      },
      fence(1),
    );

    // Assess
    expect(result).toMatchObject({ upserted: 2, deleted: 0, rejected: 0 });
    expect(await rows()).toEqual([
      { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 3, end_time: '1970-01-01T00:00:09.000' },
      { group_key: 'user_B|1970-01-01T00:00:00.000Z', count: 1, end_time: '1970-01-01T00:00:05.000' },
    ]);
  });

  it('never replaces a newer result with an older one (a replay after a later batch)', async () => {
    // Prepare
    await sink.write(
      { emitted: [session('user_A', 1000, 9000, 3)], superseded: [], rejections: [] },
      fence(1),
    );

    // Act
    await sink.write(
      { emitted: [session('user_A', 1000, 7000, 2)], superseded: [], rejections: [] },
      fence(2),
    );

    // Assess
    expect(await rows()).toEqual([
      { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 3, end_time: '1970-01-01T00:00:09.000' },
    ]);
  });

  it('deletes superseded rows in the same transaction as the merged upsert', async () => {
    // Prepare
    await sink.write(
      { emitted: [session('user_A', 3000, 8000, 1)], superseded: [], rejections: [] },
      fence(1),
    );

    // Act
    await sink.write(
      {
        emitted: [session('user_A', 1000, 8000, 2)],
        superseded: [{ userId: 'user_A', start: 3000 }],
        rejections: [],
      },
      fence(2),
    );

    // Assess
    expect(await rows()).toEqual([
      { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 2, end_time: '1970-01-01T00:00:08.000' },
    ]);
  });

  it('stores each rejected record once, however often it is replayed', async () => {
    // Act
    await sink.write(
      { emitted: [], superseded: [], rejections: [rejection(5), rejection(6, 'late')] },
      fence(1),
    );
    await sink.write(
      { emitted: [], superseded: [], rejections: [rejection(5), rejection(6, 'late')] },
      fence(2),
    );

    // Assess
    const { rows: stored } = await pool.query(
      'SELECT kafka_offset::int AS offset, reason, raw_value, raw_encoding FROM rejected_events ORDER BY kafka_offset',
    );
    expect(stored).toEqual([
      { offset: 5, reason: 'bad_json', raw_value: '{nope', raw_encoding: 'utf8' },
      { offset: 6, reason: 'late', raw_value: '{nope', raw_encoding: 'utf8' },
    ]);
  });

  it('refuses a write with an older claim epoch than the last one (a fenced-off invocation)', async () => {
    // Prepare
    await sink.write(
      { emitted: [session('user_A', 1000, 7000, 2)], superseded: [], rejections: [] },
      fence(5),
    );

    // Act
    const stale = sink.write(
      { emitted: [session('user_Z', 0, 5000, 1)], superseded: [], rejections: [] },
      fence(4),
    );

    // Assess
    await expect(stale).rejects.toBeInstanceOf(SinkFencedError);
    await expect(stale).rejects.toMatchObject({ fenceGeneration: GENERATION, fenceEpoch: 5 });
    expect((await rows()).map((r) => r.group_key)).toEqual(['user_A|1970-01-01T00:00:01.000Z']);
  });

  it.each([
    { what: 'the same epoch again', generation: GENERATION, epoch: 5, accepted: false },
    {
      what: 'a newer checkpoint generation, epochs from 1',
      generation: '2026-11-02T00:00:00.000Z/0000',
      epoch: 1,
      accepted: true,
    },
    {
      what: 'an older checkpoint generation',
      generation: '2026-10-31T23:59:59.999Z/ffff',
      epoch: 99,
      accepted: false,
    },
  ])(
    'fences by generation, then epoch: $what is accepted: $accepted',
    async ({ generation, epoch, accepted }) => {
      // Prepare
      await sink.write({ emitted: [], superseded: [], rejections: [] }, fence(5));

      // Act
      const write = sink.write(
        { emitted: [session('user_Z', 0, 5000, 1)], superseded: [], rejections: [] },
        fence(epoch, generation),
      );

      // Assess
      if (accepted) await expect(write).resolves.toMatchObject({ upserted: 1 });
      else await expect(write).rejects.toBeInstanceOf(SinkFencedError);
      expect(await sink.fenceGenerations('user_activity')).toEqual([accepted ? generation : GENERATION]);
      expect(await sink.fenceGenerations('other_topic')).toEqual([]);
    },
  );

  it('writes 10,000 sessions with one statement of three array parameters', async () => {
    // Prepare
    const many = Array.from({ length: 10_000 }, (_, i) =>
      session(`user_${i}`, i * 1000, i * 1000 + 5000, 1 + (i % 7)),
    );

    // Act
    const result = await sink.write({ emitted: many, superseded: [], rejections: [] }, fence(1));

    // Assess
    expect(result.upserted).toBe(10_000);
    expect(result.statements).toBe(4); // BEGIN, fence, upsert, COMMIT
    const { rows: total } = await pool.query(
      'SELECT count(*)::int AS n, sum(count_value)::int AS events FROM aggregated_counts',
    );
    expect(total).toEqual([{ n: 10_000, events: many.reduce((sum, s) => sum + s.count, 0) }]);
  });

  it('reports an unreachable PostgreSQL as a retryable error', async () => {
    // Prepare
    const nowhere = new pg.Pool({
      connectionString: 'postgres://postgres@127.0.0.1:1/flink_db',
      connectionTimeoutMillis: 1000,
    });
    const broken = new PostgresSink(nowhere);

    // Act
    const write = broken.write(
      { emitted: [session('user_A', 0, 5000, 1)], superseded: [], rejections: [] },
      fence(1),
    );

    // Assess
    await expect(write).rejects.toBeInstanceOf(SinkUnavailableError);
    await expect(write).rejects.toMatchObject({ retryable: true });
    await nowhere.end();
  });
});
