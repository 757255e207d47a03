/**
 * Tier 3, the producer: writes the stream to the topic with kafkajs, keyed by user id, each user
 * on its own partition (as keyBy expects), one send at a time so every partition keeps the
 * generated order. `full`: the generated stream as fast as the broker takes it. `paced`: `rate`
 * events/s for `seconds`, event time = the wall clock (minus up to B), so sessions close in real
 * time while the job keeps up. Saves what it sent, with send and ack times, for the parent.
 */
import { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';
import type { E2eOptions } from './e2e.ts';
import { childOptions, progress, report } from './protocol.ts';
import {
  BENCH_ENGINE,
  emptyStream,
  generate,
  partitionOf,
  random,
  type Stream,
  saveStream,
  userId,
} from './stream.ts';
import { settings } from './workspace.ts';

export type ProducerOptions = Pick<
  E2eOptions,
  'mode' | 'events' | 'users' | 'partitions' | 'seed' | 'rate' | 'seconds'
> & { readonly topic: string; readonly file: string };

export interface ProducerResult {
  readonly events: number;
  readonly firstSendAt: number;
  readonly lastAckAt: number;
}

const CHUNK = 5000;
const options = childOptions<ProducerOptions>();
const kafka = new Kafka({
  clientId: 'bench-producer',
  brokers: settings.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();

async function send(stream: Stream, from: number, to: number): Promise<void> {
  const messages: Message[] = [];
  const now = Date.now();
  for (let i = from; i < to; i++) {
    const id = userId(stream.user[i] as number);
    stream.sentAt[i] = now;
    messages.push({
      key: id,
      value: `${id},${stream.eventTime[i]}`,
      partition: stream.partition[i] as number,
      timestamp: String(now),
    });
  }
  await producer.send({ topic: options.topic, messages, acks: 1, compression: CompressionTypes.None });
  stream.ackedAt.fill(Date.now(), from, to);
}

let stream: Stream;
let firstSendAt = 0;
if (options.mode === 'full') {
  stream = generate(options);
  firstSendAt = Date.now();
  for (let i = 0; i < options.events; i += CHUNK) {
    await send(stream, i, Math.min(options.events, i + CHUNK));
    progress('e2e: produced', Math.min(options.events, i + CHUNK), options.events);
  }
} else {
  const total = Math.round(options.rate * options.seconds);
  const full = emptyStream(total, options.users);
  const next = random(options.seed);
  const partitionOfUser = Int32Array.from({ length: options.users }, (_, u) =>
    partitionOf(u, options.partitions),
  );
  firstSendAt = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - firstSendAt) * options.rate) / 1000) + 1);
    if (due > sent) {
      for (let i = sent; i < due; i++) {
        const u = Math.floor(next() * options.users);
        full.user[i] = u;
        full.eventTime[i] = Math.floor(Date.now() - next() * (BENCH_ENGINE.outOfOrdernessMs + 1));
        full.partition[i] = partitionOfUser[u] as number;
      }
      await send(full, sent, due);
      sent = due;
      progress('e2e paced: produced', sent, total);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  stream = full;
}
const lastAckAt = Date.now();
await producer.disconnect();
await saveStream(options.file, stream);
await report<ProducerResult>({ events: stream.user.length, firstSendAt, lastAckAt });
