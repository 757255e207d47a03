import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EmittedSession, MAX_EVENT_TIME_MS } from '../../lib/engine/index.ts';
import { SinkDataError, SinkFencedError, SinkUnavailableError } from '../../lib/errors.ts';
import type { Rejection } from '../../lib/parse/index.ts';
import {
  int8Array,
  migrate,
  PostgresSink,
  ROWS_PER_STATEMENT,
  timestampArray,
  varcharArray,
} from '../../lib/sink/index.ts';
import { uniqueName } from '../helpers/names.ts';
import { createSchema, settings } from '../helpers/services.ts';
import { readSessions } from '../helpers/session-rows.ts';

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
  watermark: 6999,
  allowedLatenessMs: 0,
});

describe('PostgresSink', () => {
  let pool: pg.Pool;
  let drop: () => Promise<void>;
  let sink: PostgresSink;
  let schema: string;

  beforeEach(async () => {
    ({ pool, drop, schema } = await createSchema());
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

  const sessionRows = () => readSessions(pool);

  it('binary array parameters reach PostgreSQL as the same integers and text (lib/sink/binary-array.ts)', async () => {
    // Prepare: the extremes of a bigint the sink writes, and text array literal syntax would misread.
    const integers = [
      0,
      -1,
      1,
      2 ** 32,
      -(2 ** 32) - 1,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      MAX_EVENT_TIME_MS,
    ];
    const texts = ['a"b', 'back\\slash', 'c,d', '{e}', 'NULL', '', ' spaced ', 'ünï|cödé', '😀'];

    // Act: as named prepared statements, as the sink sends them, and empty.
    const sent = async (ints: number[], strings: string[]) =>
      (
        await pool.query({
          name: 'binary_arrays',
          text: `SELECT array_to_json($1::bigint[])::text AS ints, array_to_json($2::varchar[])::text AS strings,
                        cardinality($1::bigint[]) AS n, cardinality($2::varchar[]) AS m`,
          values: [int8Array(ints), varcharArray(strings)],
        })
      ).rows[0];

    // Assess
    expect(await sent(integers, texts)).toEqual({
      ints: JSON.stringify(integers),
      strings: JSON.stringify(texts),
      n: integers.length,
      m: texts.length,
    });
    expect(await sent([], [])).toEqual({ ints: '[]', strings: '[]', n: 0, m: 0 });
  });

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

  it('stores event times to the millisecond up to the latest one accepted (9999-12-31T23:59:59.999Z)', async () => {
    // Prepare: a session ending at the latest accepted instant (the parser keeps t + G within it).
    const end = 253402300799999;

    // Act
    await sink.write(
      {
        emitted: [{ userId: 'user_Z', start: end - 5001, end, last: end - 5000, count: 2 }],
        superseded: [],
        rejections: [],
      },
      fence(1),
    );

    // Assess
    const { rows: stored } = await pool.query(
      `SELECT to_char(c.window_end_time, 'YYYY-MM-DD HH24:MI:SS.US') AS counts_end,
              to_char(s.window_end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS sessions_end,
              s.duration_ms::int AS duration
         FROM aggregated_counts c JOIN user_sessions s USING (group_key)`,
    );
    expect(stored).toEqual([
      { counts_end: '9999-12-31 23:59:59.999000', sessions_end: '9999-12-31 23:59:59.999000', duration: 1 },
    ]);
  });

  it('writes and deletes user ids that array syntax would misread: quotes, backslashes, commas, braces, NULL, spaces', async () => {
    // Prepare: ids that array literal syntax would misread; the sink sends binary arrays (lib/sink/binary-array.ts), where each is its bytes.
    const ids = [
      'a"b',
      'back\\slash',
      'c,d',
      '{e}',
      'NULL',
      'null',
      ' spaced ',
      '',
      'quote\\"mix',
      'ünï|cödé',
    ];
    await sink.write(
      { emitted: ids.map((id) => session(id, 1000, 6000, 1)), superseded: [], rejections: [] },
      fence(1),
    );

    // Act: every row is superseded by a merged session with a later start.
    const result = await sink.write(
      {
        emitted: ids.map((id) => session(id, 2000, 9000, 2)),
        superseded: ids.map((id) => session(id, 1000, 6000, 1)),
        rejections: [],
      },
      fence(2),
    );

    // Assess
    expect(result).toMatchObject({ upserted: ids.length, deleted: ids.length });
    const expected = ids.map((id) => `${id}|1970-01-01T00:00:02.000Z`).sort();
    expect((await rows()).map((r) => r.group_key).sort()).toEqual(expected);
    const { rows: sessions } = await pool.query(
      'SELECT user_id, group_key, event_count::int AS n FROM user_sessions ORDER BY group_key',
    );
    expect(sessions.map((r) => r.user_id).sort()).toEqual([...ids].sort());
    expect(sessions.map((r) => r.group_key).sort()).toEqual(expected);
    expect(sessions.every((r) => r.n === 2)).toBe(true);
  });

  it('prepares its write statements once per connection, and not at all with prepared: false', async () => {
    // Prepare: one connection, so that pg_prepared_statements is the sink's.
    const prepared = async (epoch: number, options?: { prepared: boolean }) => {
      const one = new pg.Pool({
        connectionString: settings.databaseUrl,
        options: `-c search_path=${schema}`,
        max: 1,
      });
      try {
        const writer = new PostgresSink(one, options);
        await writer.write(
          { emitted: [session('user_A', 1000, 6000, 1)], superseded: [], rejections: [] },
          fence(epoch),
        );
        await writer.write(
          { emitted: [session('user_B', 1000, 6000, 1)], superseded: [], rejections: [] },
          fence(epoch + 1),
        );
        const { rows: names } = await one.query('SELECT name FROM pg_prepared_statements ORDER BY name');
        return names.map((r) => r.name as string);
      } finally {
        await one.end();
      }
    };

    // Act
    const named = await prepared(1);
    const unnamed = await prepared(3, { prepared: false });

    // Assess
    expect(named).toEqual(['sessionizer_insert_first']);
    expect(unnamed).toEqual([]);
    expect((await rows()).map((r) => r.group_key)).toEqual([
      'user_A|1970-01-01T00:00:01.000Z',
      'user_B|1970-01-01T00:00:01.000Z',
    ]);
  });

  it('writes 10,000 sessions with one statement of array parameters for both session tables', async () => {
    // Prepare
    const many = Array.from({ length: 10_000 }, (_, i) =>
      session(`user_${i}`, i * 1000, i * 1000 + 5000, 1 + (i % 7)),
    );

    // Act
    const result = await sink.write({ emitted: many, superseded: [], rejections: [] }, fence(1));

    // Assess
    expect(result.upserted).toBe(10_000);
    expect(result.statements).toBe(1); // the fence and the sessions of both tables: one transaction
    const { rows: total } = await pool.query(
      'SELECT count(*)::int AS n, sum(count_value)::int AS events FROM aggregated_counts',
    );
    expect(total).toEqual([{ n: 10_000, events: many.reduce((sum, s) => sum + s.count, 0) }]);
    const { rows: sessions } = await pool.query(
      'SELECT count(*)::int AS n, sum(event_count)::int AS events FROM user_sessions',
    );
    expect(sessions).toEqual(total);
  });

  it(`writes more sessions than one statement carries in chunks of ${ROWS_PER_STATEMENT.toLocaleString('en-US')}, in one transaction`, async () => {
    // Prepare: two statements' worth and one session more, the last one refused by user_sessions'
    // CHECK (its last event is not before its end), so the third statement fails.
    const many = Array.from({ length: 2 * ROWS_PER_STATEMENT + 1 }, (_, i) =>
      session(`user_${i}`, i * 1000, i * 1000 + 5000, 1),
    );
    const refused = { ...session('user_last', 0, 5000, 1), last: 5000 };

    // Act
    const written = await sink.write({ emitted: many, superseded: [], rejections: [] }, fence(1));
    const failed = sink.write({ emitted: [...many, refused], superseded: [], rejections: [] }, fence(2));

    // Assess: BEGIN, three statements, COMMIT; the failed write left nothing of its first two.
    expect(written).toMatchObject({ upserted: many.length, statements: 5 });
    await expect(failed).rejects.toBeInstanceOf(SinkDataError);
    const { rows: counts } = await pool.query(
      `SELECT (SELECT count(*)::int FROM aggregated_counts) AS counts,
              (SELECT count(*)::int FROM user_sessions) AS sessions,
              (SELECT epoch::int FROM sink_fences) AS epoch`,
    );
    expect(counts).toEqual([{ counts: many.length, sessions: many.length, epoch: 1 }]);
  });

  it('writes new sessions with plain inserts, and a batch whose rows are there already with the guarded upserts', async () => {
    // Prepare
    const first = [session('user_A', 1000, 9000, 3), session('user_B', 0, 5000, 1)];
    const inserted = await sink.write({ emitted: first, superseded: [], rejections: [] }, fence(1));

    // Act: a replay of the same rows with an older emission of user_A, and a new session.
    const replayed = await sink.write(
      {
        emitted: [
          session('user_A', 1000, 7000, 2),
          session('user_B', 0, 5000, 1),
          session('user_C', 0, 5000, 4),
        ],
        superseded: [],
        rejections: [],
      },
      fence(2),
    );
    // The partition's next write goes straight to the upsert (rows that were there come in runs).
    const next = await sink.write(
      { emitted: [session('user_D', 0, 5000, 1)], superseded: [], rejections: [] },
      fence(3),
    );

    // Assess: the replay's first statement failed, wrote nothing, and was redone as upserts.
    expect(inserted).toMatchObject({ mode: 'insert', statements: 1 });
    expect(replayed).toMatchObject({ mode: 'upsert', upserted: 3, statements: 2 });
    expect(next).toMatchObject({ mode: 'upsert', statements: 1 });
    expect(await rows()).toEqual([
      { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 3, end_time: '1970-01-01T00:00:09.000' },
      { group_key: 'user_B|1970-01-01T00:00:00.000Z', count: 1, end_time: '1970-01-01T00:00:05.000' },
      { group_key: 'user_C|1970-01-01T00:00:00.000Z', count: 4, end_time: '1970-01-01T00:00:05.000' },
      { group_key: 'user_D|1970-01-01T00:00:00.000Z', count: 1, end_time: '1970-01-01T00:00:05.000' },
    ]);
    expect((await sessionRows()).map((r) => [r.group_key, r.count])).toEqual([
      ['user_A|1970-01-01T00:00:01.000Z', 3],
      ['user_B|1970-01-01T00:00:00.000Z', 1],
      ['user_C|1970-01-01T00:00:00.000Z', 4],
      ['user_D|1970-01-01T00:00:00.000Z', 1],
    ]);
  });

  describe('user_sessions', () => {
    const timed = (userId: string, start: number, last: number, count: number): EmittedSession => ({
      userId,
      start,
      last,
      end: last + 5000,
      count,
    });
    /** Writes the emissions (nothing superseded, no rejections) under claim epoch `epoch`. */
    const emit = (epoch: number, ...emitted: EmittedSession[]) =>
      sink.write({ emitted, superseded: [], rejections: [] }, fence(epoch));

    it('holds one row per session with its times, duration, topic and partition, beside aggregated_counts', async () => {
      // Act
      await sink.write(
        {
          emitted: [timed('user_A', 1000, 2000, 2), timed('user_B', 0, 0, 1), timed('user_A', 1000, 2500, 3)],
          superseded: [],
          rejections: [],
        },
        {
          topic: 'clicks',
          partition: 3,
          generation: GENERATION,
          epoch: 1,
          watermark: null,
          allowedLatenessMs: 0,
        },
      );

      // Assess: the last emission per key, in both tables.
      expect(await sessionRows()).toEqual([
        {
          group_key: 'user_A|1970-01-01T00:00:01.000Z',
          userId: 'user_A',
          start: 1000,
          last: 2500,
          end: 7500,
          count: 3,
          durationMs: 1500,
          topic: 'clicks',
          partition: 3,
        },
        {
          group_key: 'user_B|1970-01-01T00:00:00.000Z',
          userId: 'user_B',
          start: 0,
          last: 0,
          end: 5000,
          count: 1,
          durationMs: 0,
          topic: 'clicks',
          partition: 3,
        },
      ]);
      expect((await rows()).map((r) => [r.group_key, r.count])).toEqual([
        ['user_A|1970-01-01T00:00:01.000Z', 3],
        ['user_B|1970-01-01T00:00:00.000Z', 1],
      ]);
    });

    it('never regresses a row: a replay of an older emission leaves the newer one', async () => {
      // Prepare
      await emit(1, timed('user_A', 1000, 4000, 3));

      // Act: the same end with a smaller count, then an earlier end.
      await emit(2, timed('user_A', 1000, 4000, 2));
      await emit(3, timed('user_A', 1000, 2000, 2));

      // Assess
      expect(await sessionRows()).toMatchObject([{ last: 4000, end: 9000, count: 3, durationMs: 3000 }]);
      expect(await rows()).toMatchObject([{ count: 3, end_time: '1970-01-01T00:00:09.000' }]);
    });

    it('grows a row when the session grows (a late join with allowed lateness)', async () => {
      // Prepare
      await emit(1, timed('user_A', 1000, 2000, 2));

      // Act
      await emit(2, timed('user_A', 1000, 6000, 3));

      // Assess
      expect(await sessionRows()).toMatchObject([{ last: 6000, end: 11_000, count: 3, durationMs: 5000 }]);
    });

    it('deletes the superseded sessions from both tables in the transaction of the merged upsert', async () => {
      // Prepare: two sessions of user_A.
      await emit(1, timed('user_A', 1000, 1000, 1), timed('user_A', 8000, 9000, 2));

      // Act: late events bridge them and move the start to 500; both old rows are superseded.
      const result = await sink.write(
        {
          emitted: [timed('user_A', 500, 9000, 5)],
          superseded: [
            { userId: 'user_A', start: 1000 },
            { userId: 'user_A', start: 8000 },
          ],
          rejections: [],
        },
        fence(2),
      );

      // Assess
      // The fence, the deletes and the sessions of both tables: one statement.
      expect(result).toMatchObject({ upserted: 1, deleted: 2, statements: 1 });
      expect(await sessionRows()).toMatchObject([
        { group_key: 'user_A|1970-01-01T00:00:00.500Z', start: 500, last: 9000, count: 5, durationMs: 8500 },
      ]);
      expect((await rows()).map((r) => r.group_key)).toEqual(['user_A|1970-01-01T00:00:00.500Z']);
    });

    it('writes nothing to either table when the write is fenced off', async () => {
      // Prepare
      await emit(5, timed('user_A', 1000, 2000, 2));

      // Act
      const stale = emit(4, timed('user_Z', 0, 0, 1), timed('user_A', 1000, 3000, 3));

      // Assess
      await expect(stale).rejects.toBeInstanceOf(SinkFencedError);
      expect(await sessionRows()).toMatchObject([{ group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 2 }]);
    });

    it('deletes, writes and rejects nothing when the fence refuses the write', async () => {
      // Prepare
      await emit(5, timed('user_A', 1000, 2000, 2));

      // Act: an older claim's write, with a delete, a session and a rejection.
      const stale = sink.write(
        {
          emitted: [timed('user_B', 0, 0, 1)],
          superseded: [{ userId: 'user_A', start: 1000 }],
          rejections: [rejection(7)],
        },
        fence(4),
      );

      // Assess
      await expect(stale).rejects.toBeInstanceOf(SinkFencedError);
      expect((await sessionRows()).map((r) => r.group_key)).toEqual(['user_A|1970-01-01T00:00:01.000Z']);
      expect((await rows()).map((r) => r.group_key)).toEqual(['user_A|1970-01-01T00:00:01.000Z']);
      const { rows: rejected } = await pool.query('SELECT count(*)::int AS n FROM rejected_events');
      expect(rejected).toEqual([{ n: 0 }]);
    });

    it('totals per user in user_session_totals', async () => {
      // Prepare
      await emit(
        1,
        timed('user_A', 1000, 2000, 2),
        timed('user_A', 8000, 8000, 1),
        timed('user_B', 0, 3000, 4),
      );

      // Act
      const { rows: totals } = await pool.query(
        `SELECT user_id, sessions::int, total_events::int, total_duration_ms::int,
                avg_duration_ms::float8 AS avg_duration_ms, longest_duration_ms::int,
                to_char(first_activity AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') AS first_activity,
                to_char(last_activity AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') AS last_activity
           FROM user_session_totals ORDER BY user_id`,
      );

      // Assess
      expect(totals).toEqual([
        {
          user_id: 'user_A',
          sessions: 2,
          total_events: 3,
          total_duration_ms: 1000,
          avg_duration_ms: 500,
          longest_duration_ms: 1000,
          first_activity: '00:00:01.000',
          last_activity: '00:00:08.000',
        },
        {
          user_id: 'user_B',
          sessions: 1,
          total_events: 4,
          total_duration_ms: 3000,
          avg_duration_ms: 3000,
          longest_duration_ms: 3000,
          first_activity: '00:00:00.000',
          last_activity: '00:00:03.000',
        },
      ]);
    });
  });

  it('keeps event_ms_to_timestamp and event_ms_to_timestamptz (for earlier releases) exact: the same instants as epoch_ms_to_utc, in any TimeZone', async () => {
    // Prepare: the edges of the range (0 to 9999-12-31T23:59:59.999Z, MAX_EVENT_TIME_MS), the last
    // millisecond of days across it, and random ones.
    const values = [
      '0',
      '1',
      '999',
      '1000',
      '86399999',
      '86400000',
      '1796287882123',
      '253402300798001',
      '253402300799000',
      String(MAX_EVENT_TIME_MS),
    ];
    const compare = `SELECT count(*)::int AS n,
                            count(*) FILTER (WHERE event_ms_to_timestamp(v) IS DISTINCT FROM epoch_ms_to_utc(v))::int AS ts,
                            count(*) FILTER (WHERE event_ms_to_timestamptz(v)
                                                   IS DISTINCT FROM epoch_ms_to_utc(v) AT TIME ZONE 'UTC')::int AS tstz
                       FROM (SELECT unnest($1::bigint[]) AS v
                             UNION ALL SELECT d * 86400000 - 1 FROM generate_series(1::bigint, 2932897, 89) AS d
                             UNION ALL SELECT floor(random() * $2::bigint)::bigint FROM generate_series(1, 200000)) AS z`;
    const client = await pool.connect();
    try {
      for (const zone of ['UTC', 'America/New_York', 'Australia/Lord_Howe']) {
        // Act
        await client.query(`SET TimeZone = '${zone}'`);
        const { rows: counted } = await client.query(compare, [values, MAX_EVENT_TIME_MS + 1]);

        // Assess
        expect(counted).toEqual([{ n: values.length + 32_954 + 200_000, ts: 0, tstz: 0 }]);
      }
    } finally {
      client.release();
    }
  });

  it('sends event times as the same instants as epoch_ms_to_utc, over the whole event time range, in any TimeZone', async () => {
    // Prepare: the edges of the range (0 to 9999-12-31T23:59:59.999Z, MAX_EVENT_TIME_MS), the last
    // millisecond of days across it, and random ones, as the sink sends them (lib/sink/binary-array.ts).
    const values = [
      0,
      1,
      999,
      1000,
      86_399_999,
      86_400_000,
      946_684_799_999,
      946_684_800_000,
      MAX_EVENT_TIME_MS,
    ];
    for (let day = 1; day <= 2_932_897; day += 89) values.push(day * 86_400_000 - 1);
    for (let i = 0; i < 100_000; i++) values.push(Math.floor(Math.random() * (MAX_EVENT_TIME_MS + 1)));
    const compare = `SELECT count(*)::int AS n,
                            count(*) FILTER (WHERE ts IS DISTINCT FROM epoch_ms_to_utc(v))::int AS ts,
                            count(*) FILTER (WHERE tstz IS DISTINCT FROM epoch_ms_to_utc(v) AT TIME ZONE 'UTC')::int AS tstz
                       FROM unnest($1::bigint[], $2::timestamp[], $3::timestamptz[]) AS z(v, ts, tstz)`;
    const client = await pool.connect();
    try {
      for (const zone of ['UTC', 'America/New_York', 'Australia/Lord_Howe']) {
        // Act
        await client.query(`SET TimeZone = '${zone}'`);
        const { rows: counted } = await client.query(compare, [
          int8Array(values),
          timestampArray(values, 'local'),
          timestampArray(values, 'tz'),
        ]);

        // Assess
        expect(counted).toEqual([{ n: values.length, ts: 0, tstz: 0 }]);
      }
    } finally {
      client.release();
    }
  });

  describe('schema.sql over the tables of release 0.1.0', () => {
    const oldSchema = readFileSync(new URL('../fixtures/upgrade/schema-0.1.0.sql', import.meta.url), 'utf8');
    const indexes = `SELECT c.relname AS name, am.amname AS method,
                            pg_get_indexdef(c.oid) LIKE '%(user_id, session_start)%' AS user_start
                       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
                      WHERE i.indrelid = to_regclass('user_sessions') ORDER BY 1`;

    it('rekeys user_sessions by (user_id, session_start), compares user_id byte-wise and makes window_end a BRIN index, in place and once', async () => {
      // Prepare: 0.1.0's tables (user_sessions keyed by group_key, two btree indexes) and a row.
      const old = uniqueName('t');
      const admin = new pg.Client({ connectionString: settings.databaseUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA ${admin.escapeIdentifier(old)}`);
        await admin.query(`SET search_path TO ${admin.escapeIdentifier(old)}`);
        await admin.query(oldSchema);
        await admin.query(
          `INSERT INTO user_sessions (group_key, user_id, session_start, last_event_time, window_end_time,
                                      event_count, topic, kafka_partition)
           VALUES ('user_A|1970-01-01T00:00:01.000Z', 'user_A', 'epoch'::timestamptz + interval '1 s',
                   'epoch'::timestamptz + interval '2 s', 'epoch'::timestamptz + interval '7 s', 2, 't', 0)`,
        );
        const before = (await admin.query(indexes)).rows;

        // Act
        await migrate(admin, old);
        await migrate(admin, old);

        // Assess
        await admin.query(`SET search_path TO ${admin.escapeIdentifier(old)}`);
        expect(before).toEqual([
          { name: 'user_sessions_pkey', method: 'btree', user_start: false },
          { name: 'user_sessions_user', method: 'btree', user_start: true },
          { name: 'user_sessions_window_end', method: 'btree', user_start: false },
        ]);
        expect((await admin.query(indexes)).rows).toEqual([
          { name: 'user_sessions_pkey', method: 'btree', user_start: true },
          { name: 'user_sessions_window_end', method: 'brin', user_start: false },
        ]);
        const { rows: kept } = await admin.query(
          'SELECT group_key, event_count::int AS count FROM user_sessions',
        );
        expect(kept).toEqual([{ group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 2 }]);
        const { rows: collation } = await admin.query(
          `SELECT collation_name FROM information_schema.columns
            WHERE table_schema = $1 AND table_name = 'user_sessions' AND column_name = 'user_id'`,
          [old],
        );
        expect(collation).toEqual([{ collation_name: 'C' }]);
        const { rows: totals } = await admin.query('SELECT user_id, sessions::int FROM user_session_totals');
        expect(totals).toEqual([{ user_id: 'user_A', sessions: 1 }]);
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS ${admin.escapeIdentifier(old)} CASCADE`);
        await admin.end();
      }
    });
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
