import type { Kafka } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KafkaRecord } from '../../lib/decode/index.ts';
import { groupKey } from '../../lib/engine/index.ts';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { KafkaTicker, type SweepDeps, sweepTopic } from '../../lib/sweep/index.ts';
import { toKafkaRecord } from '../../offline/event.ts';
import { uniqueName } from '../helpers/names.ts';
import { createTestPipeline, mskEvent } from '../helpers/pipeline.ts';
import { createTopic, testKafka } from '../helpers/services.ts';

// docs/DEPLOY.md, "Adding partitions", against the real Kafka broker, DynamoDB Local and
// PostgreSQL: a topic of 2 partitions keyed by user grows to 4. The checkpoint records the count it
// started with, the sweep tells the change, and the job records the new one. Following the
// procedure (the producers pause for longer than SESSION_GAP_MS + OUT_OF_ORDERNESS_MS around the
// change) loses and splits nothing: every user's rows are those of its events taken together, as
// Flink keyed by user counts them. Without the pause, the users whose key moved have a session cut
// in two rows: what the warning says.

const G = 5000;
const USERS = Array.from({ length: 40 }, (_, i) => `user_${i}`);

type Pipeline = Awaited<ReturnType<typeof createTestPipeline>>;

/** Every record of the topic from `from` on (per partition), up to the log end as it is now. */
async function readNew(kafka: Kafka, topic: string, from: Map<number, number>): Promise<KafkaRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(
    ends
      .filter((e) => Number(e.high) > (from.get(e.partition) ?? 0))
      .map((e) => [e.partition, Number(e.high)]),
  );
  const records: KafkaRecord[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({ groupId: uniqueName('add-partitions') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const end = remaining.get(batch.partition);
          if (end === undefined) return;
          for (const message of batch.messages) {
            const offset = Number(message.offset);
            if (offset >= (from.get(batch.partition) ?? 0) && offset < end) {
              records.push(toKafkaRecord(batch.topic, batch.partition, message));
            }
          }
          if (Number(batch.messages.at(-1)?.offset ?? -1) >= end - 1) remaining.delete(batch.partition);
          if (remaining.size === 0) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  for (const [partition, end] of ends.map((e) => [e.partition, Number(e.high)] as const))
    from.set(partition, end);
  return records;
}

/** Each user's events, `[user, event time]`, produced keyed by user (a producer of its own, fresh metadata). */
async function produce(kafka: Kafka, topic: string, events: readonly [string, number][]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: events.map(([user, t]) => ({ key: user, value: `${user},${t}` })),
  });
  await producer.disconnect();
}

/** Flink keyed by user: each user's events together, in time order, cut at gaps over G: rows by group_key. */
function flinkRows(events: readonly [string, number][]): Map<string, number> {
  const rows = new Map<string, number>();
  const byUser = new Map<string, number[]>();
  for (const [user, t] of events) byUser.set(user, [...(byUser.get(user) ?? []), t]);
  for (const [user, list] of byUser) {
    const times = list.sort((a, b) => a - b);
    let start = times[0] as number;
    let count = 0;
    let last = start;
    for (const t of times) {
      if (t > last + G) {
        rows.set(groupKey(user, start), count);
        start = t;
        count = 0;
      }
      count++;
      last = t;
    }
    rows.set(groupKey(user, start), count);
  }
  return rows;
}

describe('adding partitions to the topic (docs/DEPLOY.md, "Adding partitions")', () => {
  let p: Pipeline;
  let topic: string;
  let dropTopic: () => Promise<void>;
  let kafka: Kafka;
  let ticker: KafkaTicker;
  let sweep: SweepDeps;
  const delivered = new Map<number, number>();

  /** The job reads what is new in the topic, one event per partition as the event source delivers. */
  const drain = async () => {
    const records = await readNew(kafka, topic, delivered);
    for (const partition of new Set(records.map((r) => r.partition))) {
      await handleKafkaEvent(p.deps, mskEvent(records.filter((r) => r.partition === partition)));
    }
  };

  beforeEach(async () => {
    p = await createTestPipeline();
    ({ topic, drop: dropTopic } = await createTopic(2, 'grow'));
    kafka = testKafka('sessionizer-test-grow');
    ticker = new KafkaTicker(async () => kafka);
    sweep = {
      store: p.store,
      ticker,
      now: p.clock.now,
      settings: { idleTimeoutMs: null, stateTtlDays: 2 },
      state: { partitionCountSent: new Map() },
    };
    delivered.clear();
  });

  afterEach(async () => {
    await ticker.close();
    await dropTopic();
    await p.cleanup();
  });

  /** Phase 1, the count recorded, 2 -> 4 partitions told and recorded, phase 2, an end-of-stream flush. */
  async function run(before: [string, number][], after: [string, number][]) {
    await produce(kafka, topic, before);
    await drain();
    const first = await sweepTopic(sweep, topic);
    await drain();
    const recorded = (await p.store.readMeta())?.partitions;

    // The change: the producers are stopped (phase 1 is all produced), partitions are added.
    const admin = kafka.admin();
    await admin.connect();
    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
    await admin.disconnect();
    const told = await sweepTopic(sweep, topic);
    await drain();
    const afterChange = await sweepTopic(sweep, topic);

    // The producers start again (new metadata: 4 partitions), then an idle tick on every partition
    // writes the sessions still open (the end of the stream).
    await produce(kafka, topic, after);
    await ticker.send(topic, [0, 1, 2, 3], 'idle');
    await drain();
    const rows = new Map((await p.rows()).map((r) => [r.group_key, r.count]));
    return { first, recorded, told, afterChange, newCount: (await p.store.readMeta())?.partitions, rows };
  }

  it('is told and recorded; with the producers paused for more than G + B around it, nothing is split or lost', async () => {
    // Prepare: every user three events 1 s apart; after the change three more, 17 s after the last.
    const before = USERS.flatMap((u): [string, number][] => [1000, 2000, 3000].map((t) => [u, t]));
    const after = USERS.flatMap((u): [string, number][] => [20_000, 21_000, 22_000].map((t) => [u, t]));

    // Act
    const result = await run(before, after);

    // Assess
    expect([result.first.partitionCount, result.recorded]).toEqual([{ from: undefined, to: 2 }, 2]);
    expect(result.told.partitionCount).toEqual({ from: 2, to: 4 });
    expect([result.afterChange.partitionCount, result.newCount]).toEqual([null, 4]);
    expect(result.rows).toEqual(flinkRows([...before, ...after]));
    expect(result.rows.size).toBe(2 * USERS.length);
  });

  it('without the pause, cuts in two the sessions of the users whose key moved (what the warning says)', async () => {
    // Prepare: after the change the users go on within the gap (5000 is 2 s after 3000).
    const before = USERS.flatMap((u): [string, number][] => [1000, 2000, 3000].map((t) => [u, t]));
    const after = USERS.flatMap((u): [string, number][] => [5000, 6000, 7000].map((t) => [u, t]));

    // Act
    const result = await run(before, after);

    // Assess: Flink has one session of 6 per user; a user whose key moved has two rows of 3.
    const flink = flinkRows([...before, ...after]);
    expect(flink.size).toBe(USERS.length);
    const split = USERS.filter(
      (u) => [...result.rows.keys()].filter((k) => k.startsWith(`${u}|`)).length === 2,
    );
    expect(split.length).toBeGreaterThan(0);
    for (const u of split) {
      expect([...result.rows].filter(([k]) => k.startsWith(`${u}|`)).map(([, count]) => count)).toEqual([
        3, 3,
      ]);
    }
    const whole = USERS.filter((u) => !split.includes(u));
    for (const u of whole) expect(result.rows.get(groupKey(u, 1000))).toBe(6);
  });
});
