import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';
import type { TriggerDefinition } from '../../offline/definition.ts';
import { uniqueName } from './names.ts';
import { testKafka } from './services.ts';

/** A Kafka client for the local trigger that keeps every consumer it creates, for the test. */
export function spyingKafka(clientId: string): { kafka: Kafka; spying: Kafka; consumers: Consumer[] } {
  const kafka = testKafka(clientId);
  const consumers: Consumer[] = [];
  const spying = {
    consumer: (config: ConsumerConfig) => {
      const consumer = kafka.consumer(config);
      consumers.push(consumer);
      return consumer;
    },
    admin: () => kafka.admin(),
  } as unknown as Kafka;
  return { kafka, spying, consumers };
}

/** A self-managed Kafka trigger on `topic`: batches of 100, a 100 ms window, from the beginning. */
export function testTrigger(topic: string, groupPrefix: string): TriggerDefinition {
  return {
    functionKey: 'sessionize',
    eventSource: 'SelfManagedKafka',
    eventSourceArn: undefined,
    topic,
    consumerGroupId: uniqueName(groupPrefix),
    batchSize: 100,
    maximumBatchingWindowMs: 100,
    startingPosition: 'TRIM_HORIZON',
    startingPositionTimestampMs: undefined,
    enabled: true,
    reportBatchItemFailures: false,
    filterPatterns: [],
  };
}
