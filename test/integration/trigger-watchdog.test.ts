import type { Consumer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { normaliseSettings } from '../../offline/definition.ts';
import { PartitionReader } from '../../offline/reader.ts';
import { createTopic, settings } from '../helpers/services.ts';
import { spyingKafka, testTrigger } from '../helpers/trigger.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * The local trigger's watchdog: a kafkajs consumer whose fetch loop stops without a crash event
 * (kafkajs can do that; a full chaos run once saw the trigger go quiet for good after a PostgreSQL
 * outage) is started again, and delivery goes on from the committed offset with nothing skipped.
 * The stall is made by stopping the trigger's own consumer behind its back: kafkajs's stop() ends
 * the fetch loop and emits no CRASH.
 */
describe('the local Kafka trigger restarts a consumer that stopped fetching', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('says so, starts a new consumer and delivers every later record in order', async () => {
    // Arrange
    const { topic, drop } = await createTopic(1, 'watchdog');
    cleanups.push(drop);
    const { kafka, spying, consumers } = spyingKafka('watchdog-test');
    const trigger = testTrigger(topic, 'watchdog-group');
    const triggerSettings = normaliseSettings(
      { kafka: { brokers: settings.kafkaBrokers, fetchStallMs: 3000 } },
      {},
    );
    const lines: string[] = [];
    const delivered: number[] = [];
    const reader = new PartitionReader(
      spying,
      trigger,
      triggerSettings,
      async (_functionKey, event) => {
        const records = Object.values((event as { records: Record<string, { offset: number }[]> }).records);
        for (const r of records.flat()) delivered.push(r.offset);
        return null;
      },
      { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
    );
    cleanups.push(() => reader.stop());
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const send = (values: string[]) => producer.send({ topic, messages: values.map((value) => ({ value })) });

    void reader.startUntilRunning();
    await waitFor('the trigger to be ready', () => lines.some((l) => l.includes(': ready, ')));
    await send(['user_A,1000', 'user_A,2000', 'user_A,3000']);
    await waitFor('offsets 0-2 delivered', () => delivered.length >= 3);

    // Act: the fetch loop stops, silently.
    await (consumers[0] as Consumer).stop();
    const readyLines = () => lines.filter((l) => l.includes(': ready, ')).length;
    await waitFor('the watchdog to start a second consumer, ready', () => readyLines() >= 2, {
      timeoutMs: 60_000,
    });
    await send(['user_A,4000', 'user_A,5000']);
    await waitFor('offsets 3-4 delivered', () => delivered.includes(4));

    // Assess
    expect(
      lines.some((l) => /no fetch for \d+ s and no batch in hand; starting the consumer again/.test(l)),
    ).toBe(true);
    expect(consumers).toHaveLength(2);
    // Committed offsets were kept: the new consumer goes on from 3, nothing re-delivered or skipped.
    expect(delivered).toEqual([0, 1, 2, 3, 4]);
  });
});
