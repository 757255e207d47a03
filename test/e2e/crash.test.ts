import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../lib/engine/types.ts';
import { uniqueName } from '../helpers/names.ts';
import { DEFAULT_ENGINE } from '../helpers/pipeline.ts';
import { referenceSessions } from '../helpers/reference.ts';
import {
  createCheckpointTable,
  createSchema,
  createTopic,
  testDynamo,
  testKafka,
} from '../helpers/services.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { type OfflineOptions, type OfflineProcess, startOffline } from './offline.ts';

const PARTITIONS = 3;
const EVENTS = 50_000;
const USERS = 500;
const BAD = 60;

interface Sent {
  readonly value: string;
  readonly userId: string | undefined;
  readonly eventTime: number | undefined;
}

/** A small seeded PRNG (mulberry32), so a failure can be replayed with the printed seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per partition, in send order: good events (some stragglers that arrive late) and bad records. */
function generate(seed: number): Sent[][] {
  const rnd = random(seed);
  const partitions: Sent[][] = Array.from({ length: PARTITIONS }, () => []);
  const badValues = ['garbage', 'user_x,not-a-number', ',1000', 'user_x,1,2', '{"userId": 1}', 'user_x,-5'];
  let clock = 1_000_000;
  for (let i = 0; i < EVENTS; i++) {
    clock += Math.floor(rnd() * 20);
    const user = Math.floor(rnd() * USERS);
    // 0.5% stragglers, 8 s behind: most of them are late (their session has fired).
    const eventTime = rnd() < 0.005 ? clock - 8000 : clock + Math.floor(rnd() * 50);
    const userId = `user_${user}`;
    (partitions[user % PARTITIONS] as Sent[]).push({ value: `${userId},${eventTime}`, userId, eventTime });
  }
  for (let i = 0; i < BAD; i++) {
    const p = partitions[i % PARTITIONS] as Sent[];
    const at = Math.floor(rnd() * p.length);
    p.splice(at, 0, {
      value: badValues[i % badValues.length] as string,
      userId: undefined,
      eventTime: undefined,
    });
  }
  return partitions;
}

describe('50,000 events, 3 partitions, two SIGKILLs of serverless offline', () => {
  const dynamo = testDynamo();
  const seed = Number(process.env.E2E_SEED ?? Date.now() % 1_000_000);
  const group = uniqueName('group');
  const admin = testKafka('e2e-admin').admin();
  let topic: Awaited<ReturnType<typeof createTopic>>;
  let table: Awaited<ReturnType<typeof createCheckpointTable>>;
  let schema: Awaited<ReturnType<typeof createSchema>>;
  let offline: OfflineProcess | undefined;

  beforeAll(async () => {
    [topic, table, schema] = await Promise.all([
      createTopic(PARTITIONS, 'e2e'),
      createCheckpointTable(dynamo),
      createSchema(),
    ]);
    await admin.connect();
  });

  afterAll(async () => {
    await offline?.stop('SIGKILL');
    await admin.disconnect();
    await Promise.all([topic?.drop(), table?.drop(), schema?.drop()]);
  });

  const committedTotal = async () => {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic.topic] });
    return (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  };

  it(`ends with the reference rows and exactly the bad records rejected (seed ${seed})`, async () => {
    // Prepare: produce everything first, each partition in order.
    const partitions = generate(seed);
    const total = partitions.reduce((n, p) => n + p.length, 0);
    const producer = testKafka('e2e-producer').producer();
    await producer.connect();
    for (const [partition, sent] of partitions.entries()) {
      for (let i = 0; i < sent.length; i += 5000) {
        await producer.send({
          topic: topic.topic,
          messages: sent
            .slice(i, i + 5000)
            .map((s) => ({ partition, key: s.userId ?? 'bad', value: s.value })),
        });
      }
    }
    await producer.disconnect();
    const options: OfflineOptions = {
      name: uniqueName('crash'),
      topic: topic.topic,
      group,
      table: table.table,
      schema: schema.schema,
      params: { batchSize: '500' },
      // Strict Flink behaviour: the result depends on the input alone.
      env: { IDLE_FLUSH: 'false', OFFLINE_SWEEP_INTERVAL_SECONDS: '0' },
    };

    // Act: kill -9 at two random points of progress, start again each time.
    const rnd = random(seed + 1);
    const killAt = [0.1 + rnd() * 0.3, 0.5 + rnd() * 0.3].map((f) => Math.floor(f * total));
    for (const threshold of killAt) {
      offline = await startOffline(options);
      await offline.ready();
      await waitFor(`committed >= ${threshold}`, async () => (await committedTotal()) >= threshold, {
        timeoutMs: 90_000,
      });
      await offline.stop('SIGKILL');
    }
    offline = await startOffline(options);
    await offline.ready();
    await waitFor(`all ${total} records committed`, async () => (await committedTotal()) === total, {
      timeoutMs: 120_000,
      intervalMs: 250,
    });

    // Assess
    const expectedRows = new Map<string, { count: number; end: number }>();
    const expectedRejected = new Set<string>();
    for (const [partition, sent] of partitions.entries()) {
      const good: EventRecord[] = [];
      sent.forEach((s, offset) => {
        if (s.userId === undefined) expectedRejected.add(`${partition}:${offset}`);
        else good.push({ offset, userId: s.userId, eventTime: s.eventTime as number, timestamp: 0 });
      });
      const reference = referenceSessions(DEFAULT_ENGINE, good);
      for (const [key, row] of reference.rows) expectedRows.set(key, row);
      for (const offset of reference.lateOffsets) expectedRejected.add(`${partition}:${offset}:late`);
    }
    const { rows } = await schema.pool.query(
      `SELECT group_key, count_value::int AS count,
              (extract(epoch FROM window_end_time) * 1000)::bigint AS end FROM aggregated_counts`,
    );
    const actualRows = new Map(
      rows.map((r) => [r.group_key as string, { count: r.count, end: Number(r.end) }]),
    );
    expect(actualRows.size).toBe(expectedRows.size);
    expect(actualRows).toEqual(expectedRows);
    const rejected = await schema.pool.query(
      `SELECT kafka_partition AS partition, kafka_offset AS "offset", reason FROM rejected_events`,
    );
    const actualRejected = new Set(
      rejected.rows.map((r) =>
        r.reason === 'late' ? `${r.partition}:${r.offset}:late` : `${r.partition}:${r.offset}`,
      ),
    );
    expect(actualRejected).toEqual(expectedRejected);
    expect(rejected.rows.filter((r) => r.reason !== 'late')).toHaveLength(BAD);
  });
});
