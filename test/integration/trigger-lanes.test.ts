import type { Consumer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { normaliseSettings, type TriggerDefinition } from '../../offline/definition.ts';
import { PartitionReader } from '../../offline/reader.ts';
import { createTopic, settings } from '../helpers/services.ts';
import { spyingKafka, testTrigger } from '../helpers/trigger.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * The local trigger reads on while the function runs, as the event source mapping's poller does:
 * each partition has a lane of its own (offline/reader.ts), so a partition whose invocation is slow
 * holds neither the other partitions nor its own next fetch, and what arrives meanwhile goes to the
 * function as one batch (up to batchSize) when the slow invocation ends. One batch per partition is
 * still in flight at a time, in offset order, and offsets are committed after success only.
 */
describe('the local Kafka trigger gives each partition a lane of its own', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** `respond`: the function's answer to an invocation of these offsets (null when absent). */
  async function start(
    topic: string,
    batching: Partial<TriggerDefinition> = {},
    respond: (partition: number, offsets: number[]) => unknown = () => null,
  ) {
    const { kafka, spying, consumers } = spyingKafka('lanes-test');
    const trigger = { ...testTrigger(topic, 'lanes-group'), ...batching };
    const triggerSettings = normaliseSettings({ kafka: { brokers: settings.kafkaBrokers } }, {});
    const lines: string[] = [];
    /** Each invocation's partition and offsets, in the order the invocations started. */
    const invocations: { partition: number; offsets: number[] }[] = [];
    /** Partition 0's invocations wait for this while it is set. */
    let hold: Promise<void> | undefined;
    let inFlight = 0;
    let maxInFlightPartition0 = 0;
    const reader = new PartitionReader(
      spying,
      trigger,
      triggerSettings,
      async (_functionKey, event) => {
        const records = Object.values(
          (event as { records: Record<string, { partition: number; offset: number }[]> }).records,
        ).flat();
        const partition = records[0]?.partition ?? -1;
        invocations.push({ partition, offsets: records.map((r) => r.offset) });
        if (partition === 0) {
          inFlight++;
          maxInFlightPartition0 = Math.max(maxInFlightPartition0, inFlight);
          await hold;
          inFlight--;
        }
        return respond(
          partition,
          records.map((r) => r.offset),
        );
      },
      { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
    );
    cleanups.push(() => reader.stop());
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const send = (partition: number, values: string[]) =>
      producer.send({ topic, messages: values.map((value) => ({ value, partition })) });
    void reader.startUntilRunning();
    await waitFor('the trigger to be ready', () => lines.some((l) => l.includes(': ready, ')));
    let release: () => void = () => undefined;
    const holdPartition0 = () => {
      hold = new Promise((resolve) => {
        release = () => {
          hold = undefined;
          resolve();
        };
      });
    };
    // Released before the reader stops (cleanups run last first): stop() waits for invocations in hand.
    cleanups.push(async () => release());
    const offsetsOf = (partition: number) =>
      invocations.filter((i) => i.partition === partition).flatMap((i) => i.offsets);
    const committed = async (partition: number) => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [offsets] = await admin.fetchOffsets({ groupId: trigger.consumerGroupId, topics: [topic] });
        return Number(offsets?.partitions.find((p) => p.partition === partition)?.offset);
      } finally {
        await admin.disconnect();
      }
    };
    return {
      consumers,
      lines,
      send,
      holdPartition0,
      release: () => release(),
      invocations,
      offsetsOf,
      committed,
      maxInFlightPartition0: () => maxInFlightPartition0,
    };
  }

  it('a partition held by a slow invocation holds neither the others nor its own reading', async () => {
    // Arrange
    const { topic, drop } = await createTopic(2, 'lanes');
    cleanups.push(drop);
    const t = await start(topic);
    t.holdPartition0();
    await t.send(0, ['user_A,1000']);
    await waitFor('partition 0 invoked (and held)', () => t.offsetsOf(0).length === 1);
    // kafkajs's own count of the records it handed over for partition 0, after the held one.
    let fetched0 = 0;
    const consumer = t.consumers[0] as Consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.partition === 0) fetched0 += payload.batchSize;
    });

    // Act: more for both partitions while partition 0's invocation is held.
    await t.send(0, ['user_A,2000', 'user_A,3000', 'user_A,4000']);
    await t.send(1, ['user_B,1000', 'user_B,2000']);
    await waitFor('partition 1 delivered while partition 0 is held', () => t.offsetsOf(1).length === 2);
    await waitFor('partition 0 read on while held', () => fetched0 >= 3);
    const beforeRelease = t.offsetsOf(0);
    const committedBefore = await t.committed(0);
    t.release();
    await waitFor('partition 0 delivered', () => t.offsetsOf(0).length === 4);
    await waitFor('partition 0 committed', async () => (await t.committed(0)) === 4);

    // Assess
    expect(beforeRelease).toEqual([0]);
    // Nothing of partition 0 was committed while its first invocation was in hand.
    expect(committedBefore).toBeLessThan(1);
    // What arrived while it was held went as one batch, in order, after it; one in flight at a time.
    expect(t.invocations.filter((i) => i.partition === 0).map((i) => i.offsets)).toEqual([[0], [1, 2, 3]]);
    expect(t.maxInFlightPartition0()).toBe(1);
    expect(t.offsetsOf(1)).toEqual([0, 1]);
    expect(await t.committed(1)).toBe(2);
  });

  it('holds a batch until it is full or its window has passed', async () => {
    // Arrange: a window far longer than the test, so a batch that goes, goes because it is full.
    const { topic, drop } = await createTopic(1, 'window');
    cleanups.push(drop);
    const t = await start(topic, { batchSize: 3, maximumBatchingWindowMs: 600_000 });
    let fetched = 0;
    const consumer = t.consumers[0] as Consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      fetched += payload.batchSize;
    });

    // Act
    await t.send(0, ['user_A,1000', 'user_A,2000']);
    await waitFor('the first two records fetched', () => fetched >= 2);
    const whileFilling = t.invocations.length;
    await t.send(0, ['user_A,3000', 'user_A,4000']);
    await waitFor('a full batch invoked', () => t.offsetsOf(0).length >= 3);
    await waitFor('its offsets committed', async () => (await t.committed(0)) === 3);

    // Assess: nothing went while the batch was filling; the full batch went without its window,
    // and the fourth record waits for a window of its own (stop() ends that wait).
    expect(whileFilling).toBe(0);
    expect(t.invocations.map((i) => i.offsets)).toEqual([[0, 1, 2]]);
  });

  it('with ReportBatchItemFailures, commits what came before the first failure and retries from it', async () => {
    // Arrange: the function reports offset 2 of its first batch as failed, then succeeds.
    const { topic, drop } = await createTopic(1, 'item-failures');
    cleanups.push(drop);
    let answered = 0;
    const t = await start(topic, { reportBatchItemFailures: true }, () =>
      answered++ === 0
        ? { batchItemFailures: [{ itemIdentifier: { partition: `${topic}-0`, offset: '2' } }] }
        : { batchItemFailures: [] },
    );

    // Act
    await t.send(0, ['user_A,1000', 'user_A,2000', 'user_A,3000', 'user_A,4000']);
    await waitFor('the retried batch committed', async () => (await t.committed(0)) === 4);

    // Assess: the retry holds the failed record and those after it, in order, once.
    expect(t.invocations.map((i) => i.offsets)).toEqual([
      [0, 1, 2, 3],
      [2, 3],
    ]);
    expect(t.lines.filter((l) => l.includes('succeeded after 1 retries'))).toHaveLength(1);
  });

  it('says when it cannot commit an offset and reads on; the next commit covers it', async () => {
    // Arrange: the first offset commit fails, as it does when the broker is gone longer than kafkajs retries.
    const { topic, drop } = await createTopic(1, 'commit');
    cleanups.push(drop);
    const t = await start(topic);
    const consumer = t.consumers[0] as Consumer;
    const commit = consumer.commitOffsets.bind(consumer);
    let refused = 0;
    consumer.commitOffsets = async (offsets) => {
      if (refused++ === 0) throw new Error('Connection error: connect ECONNREFUSED (test)');
      return commit(offsets);
    };

    // Act
    await t.send(0, ['user_A,1000']);
    await waitFor('the refused commit said', () => t.lines.some((l) => l.includes('could not commit')));
    await t.send(0, ['user_A,2000']);
    await waitFor('the next batch committed', async () => (await t.committed(0)) === 2);

    // Assess: both records went to the function once each, in order, and the lane carried on.
    expect(t.invocations.map((i) => i.offsets)).toEqual([[0], [1]]);
    expect(t.lines.filter((l) => l.includes(`could not commit ${topic}-0 offset 1 `))).toHaveLength(1);
  });

  it('with filterPatterns, invokes with the matching records only and commits past the dropped ones', async () => {
    // Arrange: only user_A's records pass (a plain-string value, matched by prefix).
    const { topic, drop } = await createTopic(1, 'filtered');
    cleanups.push(drop);
    const t = await start(topic, { filterPatterns: [{ value: [{ prefix: 'user_A,' }] }] });

    // Act: a fetch that ends with dropped records, then one whose records are all dropped, then
    // one while partition 0 is held, which joins the batch that waits behind the held invocation.
    await t.send(0, ['user_A,1000', 'user_B,1000', 'user_A,2000', 'user_B,2000']);
    await waitFor(
      'the first fetch committed past its dropped records',
      async () => (await t.committed(0)) === 4,
    );
    await t.send(0, ['user_B,3000', 'user_B,4000']);
    await waitFor('a fetch of dropped records only, committed', async () => (await t.committed(0)) === 6);
    t.holdPartition0();
    await t.send(0, ['user_A,3000']);
    await waitFor('partition 0 invoked (and held)', () => t.offsetsOf(0).length === 3);
    await t.send(0, ['user_B,5000', 'user_A,4000']);
    await t.send(0, ['user_A,5000', 'user_B,6000']);
    t.release();
    await waitFor('every record consumed', async () => (await t.committed(0)) === 11);

    // Assess: user_A's offsets only, in order, once each; nothing invoked for the dropped fetch.
    expect(t.offsetsOf(0)).toEqual([0, 2, 6, 8, 9]);
    expect(t.invocations.every((i) => i.offsets.length > 0)).toBe(true);
  });
});
