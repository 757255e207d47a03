import { readFileSync } from 'node:fs';
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoCheckpointStore, type RecordedSettings } from '../../lib/checkpoint/index.ts';
import type { KafkaRecord } from '../../lib/decode/index.ts';
import type { EngineConfig, EventRecord } from '../../lib/engine/index.ts';
import { SettingsChangedError } from '../../lib/errors.ts';
import { createWarmState, handleKafkaEvent, type PipelineDeps } from '../../lib/pipeline/index.ts';
import { migrate, PostgresSink } from '../../lib/sink/index.ts';
import { referenceKey, referenceSessions } from '../../reference/sessions.ts';
import { uniqueName } from '../helpers/names.ts';
import { Clock, mskEvent, record, STORE_TTL_DAYS, tickRecord } from '../helpers/pipeline.ts';
import { createCheckpointTable, settings as services, testDynamo } from '../helpers/services.ts';

// The in-place upgrade from release 0.1.0 (docs/DESIGN.md section 4, "early firing"): a checkpoint
// table and PostgreSQL tables exactly as 0.1.0 left them (test/fixtures/upgrade, written by that
// release's code), the tables migrated by today's migrate(), then today's job reads on. Every row
// and every rejection must then be what the reference fold (Flink's rules over the records alone,
// plus the end-of-stream flush the last idle ticks stand for) gives over the whole log.
//
// The one way an upgraded deployment can differ from a job that always ran today's code: 0.1.0's
// idle flush moved the watermark, so it could close a session (and drop it from state) that today's
// rules keep open. Both fixtures have one, user_F [40000, 47000) in partition 1, closed by the tick
// at offset 6 (old watermark 59999, records' watermark 41999). A record of the continuation that
// would join it (user_F at 35000..47000) would open a session of its own instead of updating the
// row: the old release's decision stands. The continuation below is made so that no record joins
// such a session, and the test checks that F's row stays exactly as 0.1.0 wrote it (it is also
// what the reference gives, as nothing joins it).

type Item = Record<string, AttributeValue>;

interface FixtureRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly value: string | null;
  readonly headers: readonly { key: string; value: string }[];
}

interface Fixture {
  readonly engine: { gapMs: number; outOfOrdernessMs: number; allowedLatenessMs: number };
  readonly topic: string;
  readonly records: Record<string, FixtureRecord[]>;
  readonly checkpoint: Record<string, unknown>[];
  readonly postgres: Record<
    'aggregated_counts' | 'user_sessions' | 'rejected_events' | 'sink_fences',
    object[]
  >;
}

const FIXTURES = new URL('../fixtures/upgrade/', import.meta.url);
const OLD_SCHEMA = readFileSync(new URL('schema-0.1.0.sql', FIXTURES), 'utf8');
const loadFixture = (name: string): Fixture =>
  JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Fixture;

const T0 = 1_700_000_000_000;
const PARTITIONS = [0, 1];

/**
 * The log after what 0.1.0 read (both partitions end at offset 6), with the Kafka timestamps a
 * producer whose clock kept pace with event time would give. `null` is an idle tick.
 */
const CONTINUATION: Record<number, (string | null)[]> = {
  0: [
    // Joins user_A's session [8000, 13000) that the old state holds open (no row yet).
    'user_A,10000',
    // Joins it again, moving its start to 5000. With L = 0 the session [1000, 7000) was final and
    // dropped (rule 6: this opens its own row beside it); with L = 3 s ("lateness") it is still
    // held, with the start of its row, and this bridges both: rule 7 rewrites user_A|1000.
    'user_A,5000',
    'user_H,11000',
    'user_C,12500',
    'user_B,20000',
    // Late under both fixtures (W 19999, resp. 17999): rejected `late`.
    'user_I,3000',
    'user_K,soon',
    null,
  ],
  1: [
    // On time by the records' watermark (41999, resp. 39999); 0.1.0's idle flush had moved its
    // watermark to 59999 (57999), under which this record would have been rejected as late.
    'user_G,45000',
    'user_D,46000',
    // Late under both (W 44999, resp. 43999).
    'user_E,30000',
    'user_J,60000',
    null,
  ],
};

/** Records the job must reject for their content (besides `late`), by partition and offset. */
const INVALID: Record<string, string> = {
  '0:3': 'wrong_field_count', // "garbage", in the old prefix
  '0:13': 'timestamp_not_integer', // "user_K,soon"
};

/** Old rows that a record of the continuation joins, per fixture: they change; every other old row must not. */
const JOINED: Record<string, string[]> = {
  defaults: [],
  lateness: ['user_A|1970-01-01T00:00:01.000Z'],
};

/**
 * user_A's rows afterwards, [count, end] by session start: the events the old state held (8000,
 * and with L = 3 s the row of [1000, 7000)) are in them, so the state was really taken over.
 */
const USER_A: Record<string, Record<number, [number, number]>> = {
  defaults: { 1000: [2, 7000], 5000: [3, 15_000] },
  lateness: { 1000: [5, 15_000] },
};

function kafkaRecord(value: string | null, offset: number, partition: number, topic: string): KafkaRecord {
  if (value === null) return tickRecord(offset, T0 + 120_000 + offset, partition, topic);
  const millis = Number(value.split(',')[1]);
  return {
    ...record(value, offset, partition, topic),
    timestamp: T0 + (Number.isFinite(millis) ? millis : 0),
  };
}

/** The whole log of a partition: the fixture's prefix, then the continuation at the next offsets. */
function wholeLog(fixture: Fixture, partition: number): { offset: number; value: string | null }[] {
  const prefix = (fixture.records[String(partition)] ?? []).map((r) => ({
    offset: r.offset,
    value: r.value,
  }));
  const next = prefix.length;
  return [...prefix, ...(CONTINUATION[partition] ?? []).map((value, i) => ({ offset: next + i, value }))];
}

/** The events of a partition's log, parsed here without lib/kafka: "<user>,<millis>". */
function events(fixture: Fixture, partition: number): EventRecord[] {
  return wholeLog(fixture, partition).flatMap(({ offset, value }) => {
    if (value === null || INVALID[`${partition}:${offset}`] !== undefined) return [];
    const match = /^([^,]+),(\d+)$/.exec(value);
    if (match === null) throw new Error(`unexpected value "${value}" at ${partition}:${offset}`);
    const eventTime = Number(match[2]);
    return [{ offset, userId: match[1] as string, eventTime, timestamp: T0 + eventTime }];
  });
}

/** Binary attributes come as {"$binary": base64}; pieces get a TTL a year from now (DynamoDB Local deletes expired items). */
function toItem(json: Record<string, unknown>): Record<string, unknown> {
  const item = Object.fromEntries(
    Object.entries(json).map(([k, v]) => [
      k,
      v !== null && typeof v === 'object' && '$binary' in v ? Buffer.from(String(v.$binary), 'base64') : v,
    ]),
  );
  if (String(item.pk).startsWith('s#')) item.expiresAt = Math.floor(Date.now() / 1000) + 365 * 86_400;
  return item;
}

async function scanAll(dynamo: DynamoDBClient, table: string): Promise<Item[]> {
  const { Items = [] } = await dynamo.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return Items.sort((a, b) => String(a.pk?.S).localeCompare(String(b.pk?.S)));
}

/** Every row of the four tables, as row_to_json gives them (old columns and new), in key order. */
async function tables(pool: pg.Pool): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const [table, order] of [
    ['aggregated_counts', 'group_key'],
    ['user_sessions', 'group_key'],
    ['rejected_events', 'kafka_partition, kafka_offset'],
    ['sink_fences', 'kafka_partition'],
  ] as const) {
    const { rows } = await pool.query(`SELECT row_to_json(x) AS j FROM ${table} x ORDER BY ${order}`);
    out[table] = rows.map((r) => r.j as Record<string, unknown>);
  }
  return out;
}

const byKey = (rows: readonly Record<string, unknown>[]) =>
  new Map(rows.map((r) => [String(r.group_key), r] as const));

describe.each(['defaults', 'lateness'])(
  'an in-place upgrade from release 0.1.0 (fixture %s)',
  (fixtureName) => {
    const fixture = loadFixture(fixtureName);
    const joined = JOINED[fixtureName] ?? [];
    const { topic } = fixture;
    // The fixture also names 0.1.0's IDLE_TIMEOUT_MS, which no longer decides anything in the fold.
    const { gapMs, outOfOrdernessMs, allowedLatenessMs } = fixture.engine;
    const engine: EngineConfig = { gapMs, outOfOrdernessMs, allowedLatenessMs, idleFlush: true };
    const recorded: RecordedSettings = {
      gapMs,
      outOfOrdernessMs,
      allowedLatenessMs,
      eventTimeSource: 'payload',
      maxFutureMs: null,
      userIdField: 'userId',
      eventTimeField: 'timestamp',
      eventTimeUnit: 'ms',
    };

    let dynamo: DynamoDBClient;
    let table: string;
    let dropTable: () => Promise<void>;
    let schema: string;
    let pool: pg.Pool;
    let store: DynamoCheckpointStore;
    let clock: Clock;
    /** The tables right after the migration, before today's job ran. */
    let migrated: Record<string, Record<string, unknown>[]>;

    const job = (engineSettings: EngineConfig = engine): PipelineDeps => ({
      store,
      sink: new PostgresSink(pool),
      now: clock.now,
      settings: { engine: engineSettings, eventTimeSource: 'payload', stateTtlDays: 2, journalMax: 32 },
      warm: createWarmState(),
    });

    /** The continuation's records of [from, to) (offsets within it) of every partition, as one event. */
    const deliver = (from: number, to: number) =>
      mskEvent(
        PARTITIONS.flatMap((partition) => {
          const log = wholeLog(fixture, partition);
          const first = (fixture.records[String(partition)] ?? []).length;
          return log
            .filter((r) => r.offset >= first + from && r.offset < first + to)
            .map((r) => kafkaRecord(r.value, r.offset, partition, topic));
        }),
      );

    beforeEach(async () => {
      // The checkpoint table, item by item as 0.1.0 left it.
      dynamo = testDynamo();
      ({ table, drop: dropTable } = await createCheckpointTable(dynamo));
      const doc = DynamoDBDocumentClient.from(dynamo);
      for (const json of fixture.checkpoint) {
        await doc.send(new PutCommand({ TableName: table, Item: toItem(json) }));
      }
      store = new DynamoCheckpointStore(dynamo, { table, stateTtlDays: STORE_TTL_DAYS });
      clock = new Clock();

      // PostgreSQL: 0.1.0's schema and rows, then today's migration over them.
      schema = uniqueName('upgrade');
      const admin = new pg.Client({ connectionString: services.databaseUrl });
      await admin.connect();
      try {
        const ident = admin.escapeIdentifier(schema);
        await admin.query(`CREATE SCHEMA ${ident}`);
        await admin.query(`SET search_path TO ${ident}`);
        await admin.query(OLD_SCHEMA);
        for (const [name, rows] of Object.entries(fixture.postgres)) {
          // duration_ms is generated: everything else as 0.1.0 stored it.
          const columns = Object.keys(rows[0] ?? {}).filter((c) => c !== 'duration_ms');
          const list = columns.map((c) => admin.escapeIdentifier(c)).join(', ');
          await admin.query(
            `INSERT INTO ${name} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${name}, $1)`,
            [JSON.stringify(rows)],
          );
        }
        await migrate(admin, schema);
      } finally {
        await admin.end();
      }
      pool = new pg.Pool({
        connectionString: services.databaseUrl,
        options: `-c search_path=${schema}`,
        max: 4,
      });
      migrated = await tables(pool);
    });

    afterEach(async () => {
      await pool.end();
      const admin = new pg.Client({ connectionString: services.databaseUrl });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${admin.escapeIdentifier(schema)} CASCADE`);
      await admin.end();
      await dropTable();
      dynamo.destroy();
    });

    it('migrates the tables without losing or changing a row of 0.1.0', async () => {
      // Act
      const { rows: status } = await pool.query('SELECT DISTINCT status FROM session_status');

      // Assess: the same rows, the new columns empty.
      for (const [name, rows] of Object.entries(fixture.postgres)) {
        expect(migrated[name]?.map((r) => pick(r, Object.keys(rows[0] ?? {})))).toEqual(rows);
      }
      expect(migrated.sink_fences?.map((f) => [f.records_watermark, f.allowed_lateness_ms])).toEqual([
        [null, null],
        [null, null],
      ]);
      expect(migrated.rejected_events?.map((r) => r.kafka_timestamp_ms)).toEqual([null]);
      // 0.1.0 kept no watermark in PostgreSQL: until today's job writes a partition, session_status
      // cannot know its rows are final and shows them provisional.
      expect(status).toEqual([{ status: 'provisional' }]);
    });

    it('goes on from the old state: every row and rejection is the reference fold of the whole log', async () => {
      // Act: the continuation in three events, cut differently from the batches of 0.1.0.
      const deps = job();
      await handleKafkaEvent(deps, deliver(0, 2));
      await handleKafkaEvent(deps, deliver(2, 5));
      await handleKafkaEvent(job(), deliver(5, 99)); // another container: the state read back cold
      const after = await tables(pool);

      // Assess: rows, sessions and rejections per partition against the reference.
      const sessions = after.user_sessions ?? [];
      const counts = byKey(after.aggregated_counts ?? []);
      const expectedRejections: { kafka_partition: number; kafka_offset: number; reason: string }[] = [];
      for (const partition of PARTITIONS) {
        const reference = referenceSessions(engine, events(fixture, partition), {
          flushTo: Number.POSITIVE_INFINITY,
        });
        const ours = sessions.filter((s) => s.kafka_partition === partition);
        expect(
          new Map(
            ours.map((s) => [
              String(s.group_key),
              {
                userId: s.user_id,
                start: Date.parse(String(s.session_start)),
                last: Date.parse(String(s.last_event_time)),
                end: Date.parse(String(s.window_end_time)),
                count: Number(s.event_count),
                durationMs: Number(s.duration_ms),
              },
            ]),
          ),
        ).toEqual(reference.sessions);
        for (const [key, row] of reference.rows) {
          const count = counts.get(key);
          expect({ key, count: Number(count?.count_value), end: utcMillis(count?.window_end_time) }).toEqual({
            key,
            ...row,
          });
        }
        for (const offset of reference.lateOffsets) {
          expectedRejections.push({ kafka_partition: partition, kafka_offset: offset, reason: 'late' });
        }
      }
      expect(counts.size).toBe(sessions.length);
      for (const [at, reason] of Object.entries(INVALID)) {
        const [partition, offset] = at.split(':').map(Number) as [number, number];
        expectedRejections.push({ kafka_partition: partition, kafka_offset: offset, reason });
      }
      const rejections = (after.rejected_events ?? []).map((r) => ({
        kafka_partition: r.kafka_partition,
        kafka_offset: Number(r.kafka_offset),
        reason: r.reason,
      }));
      const order = (a: { kafka_partition: number; kafka_offset: number }, b: typeof a) =>
        a.kafka_partition - b.kafka_partition || a.kafka_offset - b.kafka_offset;
      expect(rejections).toEqual(expectedRejections.sort(order));
      // user_G,45000 is counted (0.1.0's advanced watermark would have rejected it), user_E,30000 is late.
      expect(counts.get(referenceKey('user_G', 45_000))).toMatchObject({ count_value: 1 });
      const userA = Object.fromEntries(
        [...counts.values()]
          .filter((r) => String(r.group_key).startsWith('user_A|'))
          .map((r) => [
            Date.parse(String(r.group_key).split('|')[1] as string),
            [Number(r.count_value), utcMillis(r.window_end_time)],
          ]),
      );
      expect(userA).toEqual(USER_A[fixtureName]);
      expect(rejections).toContainEqual({ kafka_partition: 1, kafka_offset: 9, reason: 'late' });

      // Assess: no old row lost; the ones nothing joined are exactly as 0.1.0 wrote them, the
      // session its idle flush closed early (user_F) included; the old rejection is untouched.
      for (const name of ['aggregated_counts', 'user_sessions'] as const) {
        const now = byKey(after[name] ?? []);
        for (const old of migrated[name] ?? []) {
          const key = String(old.group_key);
          expect(now.has(key), `${name} ${key}`).toBe(true);
          if (!joined.includes(key)) expect(now.get(key), `${name} ${key}`).toEqual(old);
        }
      }
      expect(byKey(after.user_sessions ?? []).get(referenceKey('user_F', 40_000))).toEqual(
        byKey(migrated.user_sessions ?? []).get(referenceKey('user_F', 40_000)),
      );
      expect(
        (after.rejected_events ?? []).find((r) => Number(r.kafka_offset) === 3 && r.kafka_partition === 0),
      ).toEqual(migrated.rejected_events?.[0]);

      // Assess: the meta item now records the fixture's settings, under 0.1.0's generation.
      const meta = await store.readMeta();
      const oldMeta = fixture.checkpoint.find((i) => i.pk === 'meta') as { generation: string };
      expect(meta).toMatchObject({ generation: oldMeta.generation, origin: 'first-use', settings: recorded });

      // Assess: the fences carry the records' watermark; session_status says final or provisional.
      const watermarks = PARTITIONS.map((p) =>
        Math.max(...events(fixture, p).map((e) => e.eventTime - engine.outOfOrdernessMs - 1)),
      );
      expect(
        (after.sink_fences ?? []).map((f) => ({
          generation: f.generation,
          records_watermark: Number(f.records_watermark),
          allowed_lateness_ms: Number(f.allowed_lateness_ms),
        })),
      ).toEqual(
        watermarks.map((w) => ({
          generation: oldMeta.generation,
          records_watermark: w,
          allowed_lateness_ms: engine.allowedLatenessMs,
        })),
      );
      const { rows: status } = await pool.query(
        'SELECT group_key, kafka_partition, window_end_time, status FROM session_status ORDER BY group_key',
      );
      for (const s of status) {
        const end = Date.parse(s.window_end_time);
        const final = end - 1 + engine.allowedLatenessMs <= (watermarks[s.kafka_partition] as number);
        expect({ key: s.group_key, status: s.status }).toEqual({
          key: s.group_key,
          status: final ? 'final' : 'provisional',
        });
      }
      const statusOf = (key: string) => status.find((s) => s.group_key === key)?.status;
      expect(statusOf(referenceKey('user_F', 40_000))).toBe('final'); // an old row, now final
      expect(statusOf(referenceKey('user_G', 45_000))).toBe('final');
      expect(statusOf(referenceKey('user_J', 60_000))).toBe('provisional'); // written by the last tick
      expect(statusOf(referenceKey('user_B', 20_000))).toBe('provisional');
    });

    it('refuses a job with other settings over the upgraded table: nothing written, nothing committed', async () => {
      // Prepare: today's job takes the table over with the fixture's settings (and records them).
      await handleKafkaEvent(job(), deliver(0, 2));
      const tablesBefore = await tables(pool);
      const itemsBefore = await scanAll(dynamo, table);

      // Act: a container with another gap.
      const next = handleKafkaEvent(job({ ...engine, gapMs: 10_000 }), deliver(2, 99));

      // Assess
      await expect(next).rejects.toBeInstanceOf(SettingsChangedError);
      await expect(next).rejects.toMatchObject({ retryable: false });
      await expect(next).rejects.toThrow('SESSION_GAP_MS is 10000 here, 5000 in the checkpoint');
      expect(await tables(pool)).toEqual(tablesBefore);
      expect(await scanAll(dynamo, table)).toEqual(itemsBefore);
    });
  },
);

function pick(row: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, row[k]]));
}

/** A TIMESTAMP (UTC by the sink's convention) as row_to_json prints it, in epoch ms. */
function utcMillis(value: unknown): number {
  return Date.parse(`${String(value)}Z`);
}
