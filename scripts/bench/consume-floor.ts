/**
 * The floor of the end-to-end tier: kafkajs alone consuming the same topic (a new consumer group,
 * the trigger's fetch settings, every message decoded, nothing else done). The job can at best
 * go as fast as this.
 */
import { Kafka, logLevel } from 'kafkajs';
import { childOptions, peakRssMb, progress, report } from './protocol.ts';
import { settings } from './workspace.ts';

export interface ConsumeOptions {
  readonly topic: string;
  readonly group: string;
  readonly events: number;
  readonly windowMs: number;
}

export interface ConsumeResult {
  readonly events: number;
  readonly seconds: number;
  readonly peakRssMb: number;
}

const options = childOptions<ConsumeOptions>();
const kafka = new Kafka({
  clientId: 'bench-consume',
  brokers: settings.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});
const consumer = kafka.consumer({
  groupId: options.group,
  maxWaitTimeInMs: options.windowMs,
  minBytes: 1024 * 1024,
  maxBytesPerPartition: 6 * 1024 * 1024,
});
await consumer.connect();
await consumer.subscribe({ topic: options.topic, fromBeginning: true });
let seen = 0;
// From joining the group (fetching starts then): the whole topic may arrive in a few fetches.
let started = 0;
consumer.on(consumer.events.GROUP_JOIN, () => {
  started = performance.now();
});
const done = new Promise<number>((resolve) => {
  void consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 32,
    eachBatch: async ({ batch }) => {
      seen += batch.messages.length;
      progress('floor: kafkajs consume-only', seen, options.events);
      if (seen >= options.events) resolve(performance.now());
    },
  });
});
const ended = await done;
await consumer.disconnect();
await report<ConsumeResult>({
  events: seen,
  seconds: (ended - started) / 1000,
  peakRssMb: peakRssMb(),
});
